"""Insights: orders sent per day, parked records grouped by reason, time from shop to books (p50/p95)
where the activity kept the order's shop time, last successful run per flow, revenue booked per currency
and API calls and waits per system from the daily totals; another workspace's integration is 404 and its
records never counted."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from koppel.core.accounts.models import Membership, Workspace
from koppel.core.activity.models import Activity, DailyTotal, Run
from koppel.core.integrations.models import Connection, Integration
from koppel.web.insights.figures import insights, percentile

pytestmark = pytest.mark.django_db
BACKEND = "django.contrib.auth.backends.ModelBackend"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=AMSTERDAM)


def integration_of(name: str) -> Integration:
    workspace = Workspace.objects.create(name=name)
    shop = Connection.objects.create(workspace=workspace, name=f"{name}-winkel", system="mijnwebwinkel")
    books = Connection.objects.create(workspace=workspace, name=f"{name}-boeken", system="accountview",
                                      settings={"base_url": "http://127.0.0.1:9", "company_id": "1"})
    return Integration.objects.create(workspace=workspace, name=f"{name}-shop", shop=shop, books=books)


def order(integration: Integration, key: str, outcome: str, at: datetime, *, placed: datetime | None = None,
          reason: str = "") -> None:
    payload = {"number": key, "date": placed.date().isoformat(), "time": placed.time().isoformat()} if placed \
        else None
    Activity.objects.create(integration=integration, entity="order", key=key, outcome=outcome, reason=reason,
                            payload_in=payload, created_at=at, updated_at=at)


def test_the_figures_of_an_integration() -> None:
    mine, theirs = integration_of("bakkerij"), integration_of("slagerij")
    yesterday = NOW - timedelta(days=1)
    # ten orders sent yesterday, each n minutes after it was placed in the shop (Amsterdam time, no zone)
    for n in range(1, 11):
        order(mine, f"10{n:02d}", "sent", yesterday, placed=(yesterday - timedelta(minutes=n)).replace(tzinfo=None))
    order(mine, "2001", "sent", NOW - timedelta(hours=1))  # metadata only: not timed
    order(mine, "3001", "sent", NOW - timedelta(days=40), placed=NOW - timedelta(days=41))  # before the period
    order(mine, "4001", "needs_attention", NOW, reason="order 4001: VAT rate 9 has no VAT code in the settings")
    order(mine, "4002", "needs_attention", NOW, reason="order 4002: VAT rate 9 has no VAT code in the settings")
    order(mine, "4003", "broken_connection", NOW, reason="AccountView refused the token")
    for n in range(5):
        order(theirs, f"90{n}", "sent", yesterday)
    Run.objects.create(integration=mine, flow="orders", status="succeeded", started_at=yesterday,
                       finished_at=yesterday + timedelta(minutes=1))
    Run.objects.create(integration=mine, flow="orders", status="failed", started_at=NOW - timedelta(minutes=5))

    found = insights(mine, 30, now=NOW)
    assert found.sent_total == 11 and len(found.sent_per_day) == 30
    assert {b.label: b.count for b in found.sent_per_day if b.count} == {
        timezone.localdate(yesterday).isoformat(): 10, timezone.localdate(NOW).isoformat(): 1}
    assert max(b.percent for b in found.sent_per_day) == 100
    assert (found.timed, found.untimed) == (10, 1)
    assert (found.p50, found.p95) == (timedelta(minutes=5), timedelta(minutes=10))
    assert found.parked_total == 3
    (vat, vat_example), (token, _) = found.parked
    assert vat.count == 2 and "VAT rate … has no VAT code" in vat.label and "order 400" in vat_example["reason"]
    assert token.count == 1
    (runs,) = found.last_runs
    assert runs["flow"] == "orders" and runs["succeeded_at"] == yesterday + timedelta(minutes=1)
    assert runs["last"].status == "failed"


def test_percentile_by_nearest_rank() -> None:
    values = [timedelta(seconds=s) for s in (3, 1, 2, 4)]
    assert percentile(values, 50) == timedelta(seconds=2) and percentile(values, 95) == timedelta(seconds=4)
    assert percentile([], 50) is None


def test_the_page_for_members_and_404_for_another_workspace() -> None:
    mine, theirs = integration_of("bakkerij"), integration_of("slagerij")
    now = timezone.now().replace(microsecond=0)
    order(mine, "1001", "sent", now - timedelta(hours=2),
          placed=(now - timedelta(hours=3)).astimezone(AMSTERDAM).replace(tzinfo=None))
    user = get_user_model().objects.create_user("anna", "anna@example.nl", "pw")
    Membership.objects.create(workspace=mine.workspace, user=user, role="read_only")
    client = Client()
    client.force_login(user, backend=BACKEND)
    page = client.get(f"/insights/w/{mine.workspace_id}/integrations/{mine.pk}/?days=7", HTTP_ACCEPT_LANGUAGE="nl")
    text = page.content.decode()
    assert page.status_code == 200 and "Bestellingen verstuurd per dag" in text and "1 h 00 min" in text
    Run.objects.create(integration=mine, flow="orders", status="partial", started_at=now - timedelta(minutes=3),
                       finished_at=now - timedelta(minutes=1), counts={"sent": 7, "needs_attention": 2})
    runs = client.get(f"/insights/w/{mine.workspace_id}/integrations/{mine.pk}/").content.decode()
    runs = runs[runs.index('id="runs"'):]
    assert "2\xa0minutes</td>" in runs and "<td>7</td><td>2</td>" in runs
    assert client.get(f"/insights/w/{theirs.workspace_id}/integrations/{theirs.pk}/").status_code == 404
    assert client.get(f"/insights/w/{mine.workspace_id}/integrations/{theirs.pk}/").status_code == 404


def test_the_workspace_overview_lists_its_own_integrations_only() -> None:
    mine, theirs = integration_of("bakkerij"), integration_of("slagerij")
    order(mine, "1001", "sent", timezone.now() - timedelta(hours=1))
    order(mine, "1002", "needs_attention", timezone.now(), reason="order 1002: no VAT code")
    order(theirs, "9001", "sent", timezone.now() - timedelta(hours=1))
    user = get_user_model().objects.create_user("anna", "anna@example.nl", "pw")
    Membership.objects.create(workspace=mine.workspace, user=user, role="read_only")
    client = Client()
    client.force_login(user, backend=BACKEND)
    page = client.get(f"/insights/w/{mine.workspace_id}/", HTTP_ACCEPT_LANGUAGE="de")
    text = page.content.decode()
    assert page.status_code == 200 and "Gesendete Bestellungen" in text
    row = text[text.index("bakkerij-shop"):]
    assert "<td>1</td><td>—</td><td>—</td><td>—</td><td>1</td>" in row  # sent, revenue, p50, p95, parked
    assert "slagerij" not in text
    assert client.get(f"/insights/w/{theirs.workspace_id}/").status_code == 404


def test_revenue_and_api_usage_come_from_the_daily_totals_of_the_period() -> None:
    mine, theirs = integration_of("bakkerij"), integration_of("slagerij")
    today = timezone.localdate(NOW)
    for integration, day, measure, value in (
            (mine, today, "revenue:EUR", "121.50"), (mine, today - timedelta(days=1), "revenue:EUR", "-20.00"),
            (mine, today, "revenue:USD", "10.00"), (mine, today - timedelta(days=40), "revenue:EUR", "999"),
            (mine, today, "calls:mijnwebwinkel", "40"), (mine, today, "rate_limited:mijnwebwinkel", "3"),
            (mine, today, "retry_after_s:mijnwebwinkel", "4"), (mine, today, "limiter_wait_s:mijnwebwinkel", "0.25"),
            (mine, today - timedelta(days=2), "calls:accountview", "7"), (theirs, today, "revenue:EUR", "500")):
        DailyTotal.objects.create(integration=integration, day=day, measure=measure, value=Decimal(value))

    found = insights(mine, 30, now=NOW)
    assert [(r.currency, r.total) for r in found.revenue] == [("EUR", Decimal("101.50")), ("USD", Decimal(10))]
    eur = {bar.label: bar for bar in found.revenue[0].per_day if bar.count}
    assert eur[today.isoformat()].count == Decimal("121.5") and eur[today.isoformat()].percent == 100
    credit = eur[(today - timedelta(days=1)).isoformat()]
    assert credit.negative and credit.percent == round(100 * 20 / 121.5)
    shop, books = found.usage
    assert (shop.name, shop.calls, shop.rate_limited, shop.retry_after, shop.limiter_wait) == (
        "MijnWebwinkel", 40, 3, 4.0, 0.25)
    assert (books.name, books.calls, books.rate_limited) == ("AccountView", 7, 0)
    assert shop.days[-1].bar.count == 40 and shop.days[-1].limiter_waited == "0.2 s"
    assert len(shop.days) == 30 and books.days[-3].bar.percent == 100


def test_the_page_shows_revenue_and_api_usage_in_dutch() -> None:
    mine = integration_of("bakkerij")
    today = timezone.localdate()
    DailyTotal.objects.create(integration=mine, day=today, measure="revenue:EUR", value=Decimal("1234.5"))
    DailyTotal.objects.create(integration=mine, day=today, measure="calls:accountview", value=Decimal(12))
    DailyTotal.objects.create(integration=mine, day=today, measure="retry_after_s:accountview", value=Decimal(75))
    user = get_user_model().objects.create_user("anna", "anna@example.nl", "pw")
    Membership.objects.create(workspace=mine.workspace, user=user, role="read_only")
    client = Client()
    client.force_login(user, backend=BACKEND)
    text = client.get(f"/insights/w/{mine.workspace_id}/integrations/{mine.pk}/",
                      HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Geboekte omzet" in text and "EUR 1.234,50 geboekt in deze periode" in text
    usage = text[text.index('id="usage-accountview"'):]
    assert "AccountView" in text and "12 aanroepen in deze periode, 0 geweigerd met 429" in text
    assert "1 min 15 s" in usage
    overview = client.get(f"/insights/w/{mine.workspace_id}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "EUR 1.234,50" in overview and "AccountView: 12 (0)" in overview


def test_the_workspace_overview_sums_its_integrations() -> None:
    mine = integration_of("bakkerij")
    second = Integration.objects.create(workspace=mine.workspace, name="bakkerij-tweede", shop=mine.shop,
                                        books=mine.books)
    theirs = integration_of("slagerij")
    today = timezone.localdate()
    for integration, measure, value in ((mine, "revenue:EUR", "100.25"), (second, "revenue:EUR", "50"),
                                        (second, "calls:accountview", "9"), (mine, "calls:accountview", "1"),
                                        (mine, "rate_limited:accountview", "1"), (theirs, "revenue:EUR", "7")):
        DailyTotal.objects.create(integration=integration, day=today, measure=measure, value=Decimal(value))
    user = get_user_model().objects.create_user("anna", "anna@example.nl", "pw")
    Membership.objects.create(workspace=mine.workspace, user=user, role="read_only")
    client = Client()
    client.force_login(user, backend=BACKEND)
    text = client.get(f"/insights/w/{mine.workspace_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    totals = text[text.index('id="workspace-totals"'):]
    assert "All integrations" in totals and "EUR 150.25" in totals and "AccountView: 10 (1)" in totals
