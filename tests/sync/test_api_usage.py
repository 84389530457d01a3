"""API usage counted in memory and added to the daily totals: two processes' flushes add up (never
overwrite), counts that could not be written are kept for the next flush, an integration deleted meanwhile
takes its counts with it; the transport counts 429s and the Retry-After they asked, the limiter its waits;
beside an engine, a thread flushes them by itself and when the engine stops; retention purges the totals
of days before the workspace's retention."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import DailyTotal
from koppel.core.integrations.models import Connection, Integration
from koppel.sync import api_usage, daily_totals, retention
from tests.flows.scenarios import spawn

pytestmark = pytest.mark.django_db


def integration_of(name: str, retention_days: int = 14) -> Integration:
    workspace = Workspace.objects.create(name=name, retention_days=retention_days)
    shop = Connection.objects.create(workspace=workspace, name="shop", system="mijnwebwinkel")
    books = Connection.objects.create(workspace=workspace, name="books", system="accountview",
                                      settings={"company_id": "1"})
    return Integration.objects.create(workspace=workspace, name=name, shop=shop, books=books)


@pytest.fixture(autouse=True)
def nothing_pending() -> Iterator[None]:
    api_usage._pending.clear()
    yield
    api_usage._pending.clear()


def today(integration: Integration) -> dict[str, Decimal]:
    return dict(DailyTotal.objects.filter(integration=integration, day=timezone.localdate())
                .values_list("measure", "value"))


def test_flushes_add_to_what_other_processes_wrote() -> None:
    shop = integration_of("bakkerij")
    daily_totals.add(shop.pk, timezone.localdate(), {"calls:mijnwebwinkel": 40})  # another worker's flush
    api_usage.count(shop.pk, "mijnwebwinkel", calls=1, rate_limited=1, retry_after_s=2.0)
    api_usage.count(shop.pk, "mijnwebwinkel", calls=1)
    api_usage.count(shop.pk, "accountview", calls=1, limiter_wait_s=0.25)
    assert api_usage.flush() == 1
    assert today(shop) == {"calls:mijnwebwinkel": Decimal(42), "rate_limited:mijnwebwinkel": Decimal(1),
                           "retry_after_s:mijnwebwinkel": Decimal(2), "calls:accountview": Decimal(1),
                           "limiter_wait_s:accountview": Decimal("0.25")}
    assert api_usage.flush() == 0  # nothing new: nothing written
    api_usage.count(shop.pk, "mijnwebwinkel", calls=3)
    api_usage.flush()
    assert today(shop)["calls:mijnwebwinkel"] == 45


def test_counts_that_could_not_be_written_wait_for_the_next_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    shop = integration_of("bakkerij")
    gone = integration_of("slagerij")
    api_usage.count(shop.pk, "accountview", calls=2)
    api_usage.count(gone.pk, "accountview", calls=5)
    Integration.objects.filter(pk=gone.pk).delete()

    def broken(*_: object) -> None:
        raise RuntimeError("database is locked")

    with monkeypatch.context() as patch:
        patch.setattr(daily_totals, "add", broken)
        api_usage.count(shop.pk, "accountview", calls=1)
        assert api_usage.flush() == 0
    assert not DailyTotal.objects.exists()
    assert api_usage.flush() == 2
    assert today(shop) == {"calls:accountview": Decimal(3)}
    assert not DailyTotal.objects.exclude(integration=shop).exists()  # the deleted one's counts went with it


def test_the_transport_counts_calls_429s_and_the_retry_after_asked() -> None:
    shop = integration_of("bakkerij")
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={})])
    inner = httpx.MockTransport(lambda request: next(answers))
    with httpx.Client(transport=api_usage.counted_transport(shop.pk, "mijnwebwinkel", inner)) as client:
        assert client.get("http://127.0.0.1:9/orders").status_code == 429
        assert client.get("http://127.0.0.1:9/orders").status_code == 200

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with httpx.Client(transport=api_usage.counted_transport(shop.pk, "mijnwebwinkel", httpx.MockTransport(refuse))) \
            as client, pytest.raises(httpx.ConnectError):
        client.get("http://127.0.0.1:9/orders")
    uncounted = api_usage.counted_transport(None, "mijnwebwinkel", inner)
    assert uncounted is inner  # a connection check of no integration is not counted
    api_usage.flush()
    assert today(shop) == {"calls:mijnwebwinkel": Decimal(3), "rate_limited:mijnwebwinkel": Decimal(1),
                           "retry_after_s:mijnwebwinkel": Decimal(3)}


def test_the_limiter_counts_its_waits() -> None:
    shop = integration_of("bakkerij")

    class Slow:
        def wait(self) -> None:
            time.sleep(0.05)

    limiter = api_usage.counted_limiter(shop.pk, "accountview", Slow())
    limiter.wait()
    limiter.wait()
    api_usage.flush()
    assert Decimal("0.1") <= today(shop)["limiter_wait_s:accountview"] < Decimal(5)


def test_retention_purges_the_totals_of_days_before_it() -> None:
    short, long = integration_of("kort", retention_days=1), integration_of("lang", retention_days=30)
    now = timezone.now()
    for integration in (short, long):
        for age in (0, 2, 20, 40):
            daily_totals.add(integration.pk, timezone.localdate(now - timedelta(days=age)), {"revenue:EUR": 10})
    purged = retention.purge(now, workflows=False)
    assert purged.totals == 3 + 1  # short: 2, 20 and 40 days ago; long: 40
    assert sorted(DailyTotal.objects.filter(integration=short).values_list("day", flat=True)) == [
        timezone.localdate(now)]
    assert DailyTotal.objects.filter(integration=long).count() == 3


@pytest.mark.slow  # a child process with the engine
def test_beside_an_engine_counts_reach_the_totals_by_themselves_and_when_it_stops(tmp_path: Path) -> None:
    env = {"KOPPEL_DATA_DIR": str(tmp_path / "var"), "KOPPEL_LOG_LEVEL": "WARNING"}
    flushed = spawn(env, tmp_path, "flush_beside_the_engine", 0.2, scenarios="tests.sync.engine_children").wait()
    assert flushed == {"periodic": 2, "at_shutdown": 5}
