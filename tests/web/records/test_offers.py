"""Records a settings change freed, through the pages against both sandboxes: saving the orders settings with
status 2 among the statuses to send says in a banner how many orders would now go through; the records page
lists exactly the orders skipped for status 2, and why the parked ones would still park; one click sends each
of them exactly once; a read-only member sees the offer and can't take it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from koppel.core.accounts.models import Membership, Workspace
from koppel.core.activity.models import Activity, RetryOffer
from koppel.core.integrations.models import Integration
from koppel.demo import INTEGRATION, DemoWorld, prepare
from koppel.sync import retry_offers
from koppel.web.records import offers
from tests.sync.test_retry_offers import in_place, run_orders  # noqa: F401  (a fixture)
from tests.web.wizard.test_settings_pages import answer, page

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoWorld]:
    world = prepare(tmp_path, orders=30, articles=30)
    yield world
    world.sandboxes.stop()


def person(name: str, role: str) -> Client:
    user = User.objects.create_user(name, password="correct horse battery")
    Membership.objects.create(workspace=Workspace.objects.get(name="demo"), user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_saving_the_settings_offers_the_orders_they_free_and_one_click_sends_them_once(
        demo: DemoWorld, in_place: list[list[str]]) -> None:  # noqa: F811
    integration = Integration.objects.get(name=INTEGRATION)
    books = demo.sandboxes.books
    status_2 = sorted(str(o["number"]) for o in demo.sandboxes.shop.state.orders.values() if o["status"] == 2)
    first = run_orders(integration.pk)
    parked = {r["key"]: r["reason"] for r in first["records"] if r["outcome"] == "needs_attention"}
    run_orders(integration.pk, status_2)  # skipped for their status
    owner, reader = person("olga", "owner"), person("rita", "read_only")

    started = time.perf_counter()
    saved = owner.post(page(integration), answer(owner, integration, statuses=["2", "3", "6"]), follow=True)
    print(f"saving with a check of {len(status_2) + len(parked)} records: {time.perf_counter() - started:.2f} s")
    text = saved.content.decode()
    assert f"{len(status_2)} records would now go through." in text  # the banner after saving
    records = f"/records/w/{integration.workspace_id}/integrations/{integration.pk}/records/"
    assert f'href="{records}#offer-orders"' in text and "Retry them" in text

    listed = reader.get(records).content.decode()
    offer = listed.split('id="offer-orders"', 1)[1].split("</section>", 1)[0]
    going, staying = offer.split("The rest would still park", 1)
    assert sorted(key for key in status_2 if f">{key}</a>" in going) == status_2
    assert not any(key in going for key in parked)
    assert all(key in staying for key in parked) and "status 2" not in staying
    assert "take_offer" not in offer and "/offers/orders/retry/" not in offer  # read-only: no button
    assert reader.post(f"{records}offers/orders/retry/").status_code == 403

    taken = owner.post(f"{records}offers/orders/retry/", follow=True)
    assert f"{len(status_2)} records are being sent again." in taken.content.decode()
    assert in_place == [status_2]
    assert all(books.sales_orders_for(number) == 1 for number in status_2)  # each exactly once
    assert all(books.sales_orders_for(number) == 0 for number in parked)
    assert {a.outcome for a in Activity.objects.filter(key__in=parked)} == {"needs_attention"}
    after = owner.get(records).content.decode()
    assert "were sent again by olga" in after
    again = owner.post(f"{records}offers/orders/retry/", follow=True)  # a second click sends nothing
    assert "Nothing to retry" in again.content.decode() and len(in_place) == 1


def test_changing_only_when_a_flow_runs_checks_nothing(demo: DemoWorld, in_place: list) -> None:  # noqa: F811
    integration = Integration.objects.get(name=INTEGRATION)
    run_orders(integration.pk)
    owner = person("olga", "owner")
    saved = owner.post(page(integration), answer(owner, integration, interval_seconds="300"), follow=True)
    assert saved.status_code == 200 and "would now go through" not in saved.content.decode()
    assert not RetryOffer.objects.exists()


def test_a_long_check_says_it_is_checking_and_the_records_page_follows_it(
        demo: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    checks: list[tuple] = []
    monkeypatch.setattr(retry_offers, "starter", lambda *args: checks.append(args))  # still running
    monkeypatch.setattr(offers, "WAIT_SECONDS", 0.2)
    first = run_orders(integration.pk)
    parked = sorted(r["key"] for r in first["records"] if r["outcome"] == "needs_attention")
    owner = person("olga", "owner")
    saved = owner.post(page(integration), answer(owner, integration, total_tolerance="0.10"), follow=True)
    assert f"Checking {len(parked)} parked or skipped records against the new settings." in saved.content.decode()
    records = f"/records/w/{integration.workspace_id}/integrations/{integration.pk}/records/"
    polling = owner.get(records).content.decode()
    assert f'hx-get="{records}offers/"' in polling and "Checking" in polling

    retry_offers.check(*checks[0])  # the check finishes
    part = owner.get(f"{records}offers/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-get" not in part and "Checking" not in part  # done: no more polling
    assert "None of them would go through with the new settings." in part
    assert all(key in part for key in parked)  # each with the reason it would still park
