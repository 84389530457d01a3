"""The insights' daily totals from real runs of the orders flow against both sandboxes, through the engine's
own wiring (the integration's stored connections, `integration_clients`, the database's links): the revenue
booked is the sum of the sent orders' totals, a credit order's subtracted, and nothing counts twice (a full
re-run, a retry, a step run again, a resync after the link was forgotten); the API calls counted are the calls
each sandbox saw, with its 429s, and a tight rate limit shows in the waits. The same through the durable
engine, `koppel sync` and `koppel retry` each in a process of its own, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from koppel.connectors.mijnwebwinkel.sandbox.orders import build_credit_order
from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import DailyTotal
from koppel.core.integrations.models import Connection, Integration
from koppel.demo import PAID
from koppel.flows.orders import ORDERS, OrdersFlow
from koppel.flows.settings import OrdersSettings
from koppel.sync import api_usage, daily_totals, units
from koppel.sync.clients import integration_clients
from koppel.sync.links import EngineLinks
from koppel.sync.runner import InProcess, Tally, run, run_here
from tests.flows.scenarios import spawn
from tests.flows.test_engine import environment, integrate
from tests.flows.world import SETTINGS, World, restore, snapshot, start_world

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CREDITED = 10  # the shop sandbox's credit-order status
SYSTEMS = ("mijnwebwinkel", "accountview")


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[World, dict]]:
    started = start_world(orders=10, articles=20)
    yield started, snapshot(started)
    started.stop()


@pytest.fixture
def world(seeded: tuple[World, dict]) -> Iterator[World]:
    started, saved = seeded
    restore(started, saved)
    yield started
    for sandbox in (started.shop_sandbox, started.books_sandbox):
        sandbox.set_rate_limit(None)


def stored_integration(world: World, *, shop_rate: float = 1000, books_rate: float = 1000, **orders: Any) -> int:
    """The integration as the wizard stores it, against the sandboxes (secrets encrypted, AccountView's tokens)."""
    workspace = Workspace.objects.create(name="totals")
    info, books = world.shop_sandbox.info, world.books_sandbox
    shop = Connection(workspace=workspace, name="shop", system="mijnwebwinkel",
                      settings={"base_url": info.url, "rate_per_second": shop_rate})
    shop.credentials = {"token": info.token, "partner_token": info.partner_token}
    shop.save()
    tokens = world.books.token_store.load()
    assert tokens is not None
    av = Connection(workspace=workspace, name="books", system="accountview",
                    settings={"base_url": books.url, "company_id": books.company_id, "rate_per_second": books_rate})
    av.credentials = {"client_id": books.info.client_id, "client_secret": books.info.client_secret,
                      "tokens": tokens.model_dump(mode="json")}
    av.save()
    return int(Integration.objects.create(workspace=workspace, name="totals", shop=shop, books=av,
                                          flows={"orders": {**SETTINGS, **orders}}).pk)


def orders_flow(integration_id: int) -> tuple[OrdersFlow, EngineLinks]:
    wiring = integration_clients(integration_id)
    links = EngineLinks(integration_id)
    settings = OrdersSettings.model_validate(wiring.flows["orders"])
    return OrdersFlow(wiring.shop, wiring.books, settings, links, mapping_overrides=wiring.mapping_overrides), links


def sync(integration_id: int, *, keys: list[str] | None = None) -> dict[str, str]:
    flow, links = orders_flow(integration_id)
    if keys is None:
        return {r.key: r.outcome for r in run_here(ORDERS, flow, links, full=True).results}
    with ThreadPoolExecutor(max_workers=1) as pool:
        outcome = run(ORDERS, InProcess(ORDERS, flow, links, 2, 0.05, pool, Tally(None)), keys=keys)
    return {r["key"]: r["outcome"] for r in outcome["records"]}


def totals(integration_id: int) -> dict[str, Decimal]:
    rows = DailyTotal.objects.filter(integration_id=integration_id, day=timezone.localdate())
    return dict(rows.values_list("measure", "value"))


def shop_total(world: World, number: str) -> Decimal:
    return Decimal(str(world.shop_sandbox.state.orders[number]["price"]["total"]))


def test_revenue_is_the_sum_of_the_sent_orders_totals_and_nothing_counts_twice(world: World) -> None:
    integration_id = stored_integration(world, statuses=[*PAID, CREDITED], credit_orders="book")
    first = sync(integration_id)
    sent = [number for number, outcome in first.items() if outcome == "sent"]
    assert len(sent) >= 3
    revenue = sum((shop_total(world, number) for number in sent), Decimal(0))
    assert revenue > 0 and totals(integration_id)["revenue:EUR"] == revenue

    again = sync(integration_id)  # a full re-run: the sent ones are there already, the parked park again
    assert {number: again[number] for number in sent} == dict.fromkeys(sent, "skipped")
    assert "sent" not in again.values()
    assert sync(integration_id, keys=[sent[0]]) == {sent[0]: "skipped"}  # a person's retry of a sent order
    # the unit's last step run again after it committed (a process died before DBOS noted it)
    link = EngineLinks(integration_id).find("order", sent[1])
    assert link is not None
    units.record_outcome(integration_id, "order", sent[1], "sent", target_key=link.target_key, link=True,
                         measures={"revenue:EUR": shop_total(world, sent[1])})
    # forget the link and send it again (someone deleted it in AccountView): booked again, counted once
    world.books_sandbox.state.tables["SO_HDR"] = {
        key: row for key, row in world.books_sandbox.state.tables["SO_HDR"].items()
        if row.get(world.books_sandbox.profile.sales_order_reference_field) != sent[2]}
    EngineLinks(integration_id).forget("order", sent[2])
    assert sync(integration_id, keys=[sent[2]]) == {sent[2]: "sent"}
    assert world.sales_orders(sent[2]) == 1
    assert totals(integration_id)["revenue:EUR"] == revenue

    original = world.shop_sandbox.state.orders[sent[0]]
    line = next(line for line in original["orderlines"] if line["type"] == "article")
    credit = build_credit_order(world.shop_sandbox.state, {
        "credited_order_number": original["number"], "status": CREDITED,
        "orderlines": [{"type": "article", "quantity": 1, "articles": [{"id": line["articles"][0]["id"]}]}]},
        mutate=False)  # fmt: skip
    credited = abs(Decimal(str(credit["price"]["total"])))
    assert credited > 0
    assert sync(integration_id)[str(credit["number"])] == "sent"
    assert totals(integration_id)["revenue:EUR"] == revenue - credited  # a credit order counts negative


def test_api_calls_and_waits_are_what_the_sandboxes_saw(world: World) -> None:
    # our own limiter slower than the calls come, and the sandboxes' tighter still: both kinds of wait
    integration_id = stored_integration(world, shop_rate=8, books_rate=8)
    world.shop_sandbox.set_rate_limit(2, burst=1)
    world.books_sandbox.set_rate_limit(4, burst=2)
    for sandbox in (world.shop_sandbox, world.books_sandbox):
        sandbox.limits.reset_calls()
    outcomes = sync(integration_id)
    assert "sent" in outcomes.values()
    counted = totals(integration_id)  # the run's close flushed this process's counts
    for system, sandbox in (("mijnwebwinkel", world.shop_sandbox), ("accountview", world.books_sandbox)):
        saw = sandbox.limits.calls_json()
        assert counted[daily_totals.measure(api_usage.CALLS, system)] == saw["total"] > 0
        assert counted.get(daily_totals.measure(api_usage.RATE_LIMITED, system), 0) == saw["refused"]
    refused = world.shop_sandbox.limits.calls_json()["refused"] + world.books_sandbox.limits.calls_json()["refused"]
    assert refused > 0
    def summed(name: str) -> Decimal:
        return sum((counted.get(daily_totals.measure(name, s), Decimal(0)) for s in SYSTEMS), Decimal(0))

    assert summed(api_usage.RETRY_AFTER) >= refused  # each 429 asked for a second at least
    assert summed(api_usage.LIMITER_WAIT) > 0
    assert api_usage.flush() == 0  # nothing left behind in this process


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_server").create_database()


def test_durable_runs_count_revenue_once_and_every_call(world: World, tmp_path: Path,
                                                        database_url: str | None) -> None:
    """`koppel sync` and `koppel retry` as the command line runs them, each its own process with the engine."""
    env = environment(tmp_path, database_url)
    integration_id = integrate(world, env, tmp_path, "durable")
    for sandbox in (world.shop_sandbox, world.books_sandbox):
        sandbox.limits.reset_calls()
    first = spawn(env, tmp_path, "sync_command", "durable").wait()
    sent = [r["key"] for r in first["records"] if r["outcome"] == "sent"]
    assert sent
    retried = spawn(env, tmp_path, "retry_command", "durable", sent[0]).wait()
    assert [r["outcome"] for r in retried["records"]] == ["skipped"]
    counted = spawn(env, tmp_path, "totals_of", integration_id, scenarios="tests.sync.engine_children").wait()
    assert Decimal(counted["revenue:EUR"]) == sum((shop_total(world, number) for number in sent), Decimal(0))
    for system, sandbox in (("mijnwebwinkel", world.shop_sandbox), ("accountview", world.books_sandbox)):
        assert Decimal(counted[f"calls:{system}"]) == sandbox.limits.calls_json()["total"]
