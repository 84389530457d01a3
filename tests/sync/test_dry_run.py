"""The dry run against both sandboxes: it says what the orders flow would do to the newest orders (sent,
skipped, parked with reasons) and writes nothing, neither to the sandboxes nor to the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from koppel.core.activity.models import Activity, Cursor, Link, Run
from koppel.core.integrations.models import Integration
from koppel.demo import INTEGRATION, DemoWorld, prepare
from koppel.sync.dry_run import WOULD_SEND, ReadOnlyTransport, WriteRefused, dry_run
from koppel.sync.units import write_link

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoWorld]:
    world = prepare(tmp_path, orders=30, articles=30)
    world.sandboxes.shop.limits.reset_calls()
    world.sandboxes.books.limits.reset_calls()
    yield world
    world.sandboxes.stop()


def writes_received(world: DemoWorld) -> list[str]:
    """Every call that reached a sandbox other than a read or AccountView's token refresh."""
    routes = {**world.sandboxes.shop.limits.calls_json()["by_route"],
              **world.sandboxes.books.limits.calls_json()["by_route"]}
    return [route for route in routes if not route.startswith(("GET ", "HEAD ")) and not route.endswith("/token")]


def test_the_newest_orders_are_told_apart_and_nothing_is_written(demo: DemoWorld) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    report = dry_run(integration.pk, "orders", limit=1000)
    assert report.error == ""
    assert len(report.results) == report.looked_at >= 12
    assert [r.key for r in dry_run(integration.pk, "orders", limit=4).results] == [r.key for r in report.results[:4]]
    counts = report.counts
    assert counts.get(WOULD_SEND, 0) >= 5, report.results
    sent = [r for r in report.results if r.outcome == WOULD_SEND]
    assert all("AccountView: create debtor (AR1 CONTACT)" in r.reason or "AccountView: update debtor" in r.reason
               or "sales order" in r.reason for r in sent), sent
    # The three problem orders the demo adds (numbers from 90000): each parked naming its problem.
    parked = {r.key: r.reason for r in report.results if r.outcome == "needs_attention"}
    assert {key for key in parked if int(key) >= 90000} == {r.key for r in report.results if int(r.key) >= 90000}
    assert len([key for key in parked if int(key) >= 90000]) == 3, report.results
    assert any("ONBEKEND-404" in reason for reason in parked.values())
    # Nothing written: not in the sandboxes, not in the database.
    assert writes_received(demo) == []
    assert report.refused_writes  # the writes were attempted and held back
    assert not Link.objects.exists() and not Activity.objects.exists()
    assert not Run.objects.exists() and not Cursor.objects.exists()


def test_an_order_linked_before_is_skipped_and_unsaved_settings_are_tried(demo: DemoWorld) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    first = dry_run(integration.pk, "orders", limit=5)
    sent_key = next(r.key for r in first.results if r.outcome == WOULD_SEND)
    write_link(integration.pk, "order", sent_key, "SO-1")
    without_vat = {**integration.flows["orders"], "vat_codes": {"0": "N0"}}
    report = dry_run(integration.pk, "orders", limit=5, settings=without_vat)
    outcomes = {r.key: r for r in report.results}
    assert outcomes[sent_key].outcome == "skipped"
    assert "SO-1" in outcomes[sent_key].reason
    assert any(r.outcome == "needs_attention" and "VAT" in r.reason for r in report.results), report.results
    assert writes_received(demo) == []
    assert Integration.objects.get(pk=integration.pk).flows["orders"]["vat_codes"] != {"0": "N0"}


def test_invalid_settings_are_reported_not_run(demo: DemoWorld) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    report = dry_run(integration.pk, "orders", settings={"statuses": []})
    assert "statuses" in report.error
    assert report.results == []
    assert writes_received(demo) == []


def test_the_read_only_transport_refuses_every_write_but_a_token_refresh() -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(200, json={})

    transport = ReadOnlyTransport("AccountView", inner=httpx.MockTransport(answer))
    with httpx.Client(transport=transport) as client:
        client.get("https://av.example/api/v3/accountviewdata")
        client.post("https://av.example/api/v3/token", data={"grant_type": "refresh_token", "refresh_token": "x"})
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            with pytest.raises(WriteRefused):
                client.request(method, "https://av.example/api/v3/accountviewdata",
                               json={"BusinessObject": "SO1", "Table": {"Definition": {"Name": "SO_HDR"}}})
        with pytest.raises(WriteRefused):  # a code exchange is not a refresh
            client.post("https://av.example/api/v3/token", data={"grant_type": "authorization_code"})
    assert sent == ["GET", "POST"]
    assert transport.writes[0] == "AccountView: create sales order (SO1 SO_HDR)"
    assert len(transport.writes) == 5


@pytest.mark.parametrize("flow", ["products", "stock"])
def test_the_first_products_and_stock_are_tried_and_nothing_is_written(demo: DemoWorld, flow: str) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    report = dry_run(integration.pk, flow, limit=5, newest=False, settings={"enabled": True})
    assert report.error == "", report.error
    assert report.results, report
    assert report.looked_at >= len(report.results)
    assert writes_received(demo) == []
    assert not Link.objects.exists() and not Activity.objects.exists() and not Run.objects.exists()


def test_with_the_settings_before_a_change_it_finds_the_orders_they_left_out_newest_first(demo: DemoWorld) -> None:
    """`orders_from` moved earlier: the paid orders created before the old day were never listed; the dry run
    finds them in the shop (the newest `limit`, newest first; not those linked), tries them, writes nothing."""
    from datetime import date

    from koppel.sync.clients import integration_clients

    integration = Integration.objects.get(name=INTEGRATION)
    after = integration.flows["orders"]
    with integration_clients(integration.pk).shop as shop:
        orders = [o for o in shop.iter_orders(statuses=after["statuses"]) if not o.is_test]
    days = sorted({o.created_at.date() for o in orders})
    cut = days[len(days) // 2]
    older = sorted((o for o in orders if o.created_at.date() < cut), key=lambda o: (o.created_at, o.number))
    assert len(older) >= 4
    write_link(integration.pk, "order", older[-1].number, "SO-1")  # in AccountView already: not offered
    before = {**after, "orders_from": cut.isoformat()}

    report = dry_run(integration.pk, "orders", keys=[], before=before, limit=3)
    assert report.error == ""
    expected = [o.number for o in reversed(older[:-1])][:3]
    assert report.newly_selected == expected and [r.key for r in report.results] == expected
    with_a_key = dry_run(integration.pk, "orders", keys=[expected[0]], before=before, limit=3)
    assert with_a_key.newly_selected == expected[1:]  # the newest 3, one of them among the keys: not twice
    assert [r.key for r in with_a_key.results] == expected
    unchanged = dry_run(integration.pk, "orders", keys=[], before=after, limit=3)
    assert unchanged.newly_selected == [] and unchanged.results == []
    narrower = dry_run(integration.pk, "orders", keys=[], before={**after, "orders_from": None},
                       settings={**after, "orders_from": date.today().isoformat()}, limit=3)
    assert narrower.newly_selected == []
    assert writes_received(demo) == [] and not Activity.objects.exists()
