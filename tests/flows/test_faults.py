"""Exactly once under faults: both sandboxes answer 429s, 5xx and timeouts and drop connections after
committing writes; after the runs AccountView holds every eligible order once and one debtor per e-mail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from koppel.connectors.sandboxkit import Fault
from tests.flows.test_orders import eligible
from tests.flows.world import World, snapshot, start_world, sync_orders

pytestmark = pytest.mark.slow  # 60 orders through hundreds of injected faults, twice


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[World, dict]]:
    world = start_world(orders=60, books_timeout=1.0, shop_timeout=1.0)
    yield world, snapshot(world)
    world.stop()


def faults(world: World, rate: float) -> None:
    av = "/api/v3/accountviewdata*"
    for sandbox, path in ((world.shop_sandbox, "/v1/orders*"), (world.books_sandbox, av)):
        sandbox.faults.add(Fault(kind="http_status", status=429, retry_after="0.05", path=path, rate=rate))
        sandbox.faults.add(Fault(kind="http_status", status=503, path=path, rate=rate))
        sandbox.faults.add(Fault(kind="timeout", seconds=1.2, path=path, rate=rate / 4))
    world.books_sandbox.faults.add(Fault(kind="drop_after_commit", method="POST", path=av, rate=2 * rate))
    world.books_sandbox.faults.add(Fault(kind="drop_after_commit", method="PUT", path=av, rate=2 * rate))
    world.shop_sandbox.faults.add(Fault(kind="drop_after_commit", method="GET", path="/v1/orders*", rate=rate))


@pytest.mark.parametrize("write_as", ["sales_order", "invoice"])
def test_faults_on_both_sides_leave_every_order_in_accountview_exactly_once(world: World, write_as: str) -> None:
    faults(world, rate=0.12)
    runs = []
    for _ in range(6):  # orders whose tries ran out, or a run whose listing failed, go with the next run
        results = sync_orders(world.flow(write_as=write_as), tries=3, wait=0.05)
        runs.append(results)
        if results and all(r.outcome != "retry" for r in results):
            break
    assert all(r.outcome != "retry" for r in runs[-1]), [r.reason for r in runs[-1] if r.outcome == "retry"]
    fired = sum(f.fired for s in (world.shop_sandbox, world.books_sandbox) for f in s.faults.items)
    assert fired > 20
    count = world.sales_orders if write_as == "sales_order" else world.invoices
    orders = eligible(world)
    missing = [str(o["number"]) for o in orders if count(str(o["number"])) != 1]
    assert not missing, [r for run in runs for r in run if r.key in missing]
    assert [count(str(o["number"])) for o in orders] == [1] * len(orders)
    for email in {o["debtor"]["email"] for o in orders}:
        assert len(world.debtors(email)) == 1, email
    world.shop_sandbox.faults.clear()
    world.books_sandbox.faults.clear()
    assert {r.outcome for r in sync_orders(world.flow(write_as=write_as), full=True)} == {"skipped"}
