"""The record actions against real runs of the orders flow on both sandboxes, with the database's links:
a skipped order is not sent by a run, and is once unskipped; an order someone deleted in AccountView is
sent again only after its link is forgotten (a plain retry keeps the link and writes nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from koppel.core.activity.models import Activity, RecordAction, Skip
from koppel.flows.orders import ORDERS, OrdersFlow
from koppel.flows.settings import OrdersSettings
from koppel.sync import record_actions
from koppel.sync.links import EngineLinks
from koppel.sync.runner import InProcess, Tally, run, run_here
from tests.flows.test_orders import eligible
from tests.flows.world import SETTINGS, World, restore, snapshot, start_world
from tests.sync.scenarios import integration

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[World, dict]]:
    started = start_world(orders=12, articles=20)
    yield started, snapshot(started)
    started.stop()


@pytest.fixture
def world(seeded: tuple[World, dict]) -> World:
    started, saved = seeded
    restore(started, saved)  # each test starts from the seed: nothing sent yet
    return started


def orders_flow(world: World, links: EngineLinks) -> OrdersFlow:
    return OrdersFlow(world.shop, world.books, OrdersSettings.model_validate(SETTINGS), links)


@pytest.fixture
def retries_here(world: World, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The retries the actions start, run at once in this process (as `koppel retry` would, on its keys)."""
    started: list[list[str]] = []

    def here(flow: str, integration_name: str, keys: list[str]) -> None:
        assert flow == "orders"
        started.append(keys)
        links = EngineLinks(Activity.objects.filter(integration__name=integration_name).first().integration_id)
        with ThreadPoolExecutor(max_workers=1) as pool:
            execution = InProcess(ORDERS, orders_flow(world, links), links, 2, 0.01, pool, Tally(None))
            run(ORDERS, execution, keys=keys)

    monkeypatch.setattr(record_actions, "starter", here)
    return started


def delete_sales_order(world: World, reference: str) -> None:
    state = world.books_sandbox.state
    field = world.books_sandbox.profile.sales_order_reference_field
    with state.lock:
        table = state.tables["SO_HDR"]
        for key in [key for key, row in table.items() if row.get(field) == reference]:
            del table[key]


def test_a_skipped_order_is_not_sent_by_a_run_and_is_once_unskipped(world: World, retries_here: list) -> None:
    links = EngineLinks(integration("skips"))
    number = str(eligible(world)[0]["number"])
    parked = Activity.objects.create(integration_id=links.integration_id, entity="order", key=number,
                                     outcome="needs_attention", reason="VAT code 21 unknown",
                                     payload_in={"number": number}, created_at="2026-11-01T10:00Z",
                                     updated_at="2026-11-01T10:00Z")
    record_actions.skip(parked, "anna")

    first = run_here(ORDERS, orders_flow(world, links), links, full=True)
    outcome = {r.key: r for r in first.results}
    assert outcome[number].outcome == "skipped" and "skipped by anna" in outcome[number].reason
    assert world.sales_orders(number) == 0
    assert sum(r.outcome == "sent" for r in first.results) >= 1  # the others went
    again = run_here(ORDERS, orders_flow(world, links), links, full=True)
    assert world.sales_orders(number) == 0 and {r.key: r.outcome for r in again.results}[number] == "skipped"
    parked.refresh_from_db()
    assert parked.payload_in == {"number": number}  # what came in is kept while it is skipped

    assert record_actions.retry([parked], "anna") == 0  # a skipped record is not retried by accident
    record_actions.unskip(parked, "bert")
    assert retries_here == [[number]]
    assert world.sales_orders(number) == 1
    assert not Skip.objects.filter(key=number).exists()
    assert Activity.objects.get(pk=parked.pk).outcome == "sent"
    assert list(RecordAction.objects.filter(key=number).order_by("pk").values_list("kind", "by")) == [
        ("skip", "anna"), ("unskip", "bert")]


def test_forget_and_resync_sends_again_an_order_deleted_in_accountview(world: World, retries_here: list) -> None:
    links = EngineLinks(integration("resync"))
    number = str(eligible(world)[1]["number"])
    run_here(ORDERS, orders_flow(world, links), links, full=True)
    assert world.sales_orders(number) == 1
    sent = Activity.objects.get(integration_id=links.integration_id, key=number)
    assert sent.outcome == "sent" and sent.target_key

    delete_sales_order(world, number)  # someone deleted it in AccountView
    record_actions.retry([sent], "anna")  # a plain retry trusts the link: nothing is written
    assert world.sales_orders(number) == 0

    record_actions.forget_and_resync(Activity.objects.get(pk=sent.pk), "anna")
    assert world.sales_orders(number) == 1
    assert links.find("order", number) is not None  # linked again, to the new sales order
    resent = Activity.objects.get(pk=sent.pk)
    assert resent.outcome == "sent"
    assert RecordAction.objects.filter(key=number, kind="resync", by="anna").exists()
    record_actions.retry([resent], "anna")
    assert world.sales_orders(number) == 1  # and a retry after that never writes twice
