"""A category is made once across workers: two runs of the products flow (each with its own caches and locks,
as on two machines) racing on the same new article group leave one shop category; a claim left by a worker
that stopped is taken over, and the category it may have made is linked, not made again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from koppel.connectors.mijnwebwinkel.sandbox import catalog
from koppel.connectors.sandboxkit.faults import Fault
from koppel.errors import RetryableError
from koppel.flows import product_categories
from koppel.flows.links import Link, Record
from tests.flows.products_world import ProductsWorld, start_products_world

GROUP = "TUIN"


@pytest.fixture
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=12)
    with world.books_sandbox.state.lock:
        world.books_sandbox.state.tables["ART_GRP"][GROUP] = {"AG_CODE": GROUP, "AG_DESC": "Tuin en terras"}
    yield world
    world.stop()


def titled(world: ProductsWorld, title: str) -> list[int]:
    return [c["id"] for c in world.categories().values() if c["title"] == title]


def race(world: ProductsWorld, key: str) -> list[Record]:
    """Both workers sync the same unit at once."""
    flows = [world.flow(), world.flow()]
    for flow in flows:
        flow.fetch(None)  # each reads the catalogue itself, and finds the group without a category
    start = threading.Barrier(len(flows))
    results: list[Record] = []

    def work(flow):  # type: ignore[no-untyped-def]
        start.wait()
        results.append(flow.sync(key))

    threads = [threading.Thread(target=work, args=(flow,)) for flow in flows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_workers_racing_on_a_new_group_make_one_category(world: ProductsWorld) -> None:
    # the shop takes its time answering: both workers are sure to ask within that second
    world.shop_sandbox.add_fault(Fault("latency", path="/v1/categories", method="POST", seconds=1.0))
    results = race(world, f"category:{GROUP}")
    assert [r.outcome.value for r in results] == ["sent", "sent"], [r.reason for r in results]
    assert len(titled(world, "Tuin en terras")) == 1
    made = titled(world, "Tuin en terras")[0]
    assert {r.target_key for r in results} == {str(made)}
    assert sorted(r.reason for r in results) == [f"created shop category {made}",
                                                 f"linked the one another worker made shop category {made}"]
    assert world.links.find("category", GROUP).target_key == str(made)
    assert world.links.find(product_categories.CLAIM, GROUP) is None  # released


def test_two_workers_racing_on_a_product_of_a_new_group_make_one_category(world: ProductsWorld) -> None:
    world.change("KP-001-00001", AG_CODE=GROUP)
    world.shop_sandbox.add_fault(Fault("latency", path="/v1/categories", method="POST", seconds=1.0))
    race(world, "KP-001-00001")
    assert len(titled(world, "Tuin en terras")) == 1


def test_a_stale_claim_is_taken_over_and_what_its_worker_made_is_linked(world: ProductsWorld) -> None:
    # a worker claimed the group, made the category and stopped before linking it
    long_ago = (datetime.now(UTC) - product_categories.STALE - timedelta(minutes=1)).isoformat()
    world.links.write(product_categories.CLAIM, GROUP, f"stopped {long_ago}")
    with world.shop_sandbox.state.lock:
        made = catalog.save_category(world.shop_sandbox.state, {"title": "Tuin en terras"})["id"]
    results = race(world, f"category:{GROUP}")
    # the second worker may start only once the first has linked it (a loaded machine): then it is up to date
    assert sorted(r.outcome.value for r in results) in (["sent", "sent"], ["sent", "skipped"]), [
        r.reason for r in results]
    assert titled(world, "Tuin en terras") == [made]
    assert world.links.find("category", GROUP).target_key == str(made)


def test_a_fresh_claim_of_another_worker_is_waited_for_then_tried_again_later(world: ProductsWorld,
                                                                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(product_categories, "WAIT_SECONDS", 0.3)
    world.links.write(product_categories.CLAIM, GROUP, f"busy {datetime.now(UTC).isoformat()}")
    flow = world.flow()
    flow.fetch(None)
    with pytest.raises(RetryableError, match="another worker is making"):  # the runner parks it as retry
        flow.sync(f"category:{GROUP}")
    assert titled(world, "Tuin en terras") == []


def test_a_worker_whose_claim_was_taken_over_as_stale_leaves_the_new_holders_claim_when_done(
        world: ProductsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = f"theirs {datetime.now(UTC).isoformat()}"
    create = world.shop.create_category

    def slow_create(*args, **kwargs):  # type: ignore[no-untyped-def]
        # this worker took so long that another took its claim over as stale, at this instant
        world.links.forget(product_categories.CLAIM, GROUP)
        world.links.write(product_categories.CLAIM, GROUP, theirs)
        return create(*args, **kwargs)

    monkeypatch.setattr(world.shop, "create_category", slow_create)
    flow = world.flow()
    flow.fetch(None)
    assert flow.sync(f"category:{GROUP}").outcome.value == "sent"
    assert world.links.find(product_categories.CLAIM, GROUP).target_key == theirs  # not released by us


class _ReleasedMeanwhile:
    """The world's links for a worker taking a stale claim over: the instant it wins the take-over, the
    stale claim's worker releases it and a fresh worker claims the group."""

    def __init__(self, world: ProductsWorld, fresh: str) -> None:
        self.inner, self.fresh = world.links, fresh

    def write(self, entity: str, source_key: str, target_key: str, payload_hash: str = "") -> Link:
        written = self.inner.write(entity, source_key, target_key, payload_hash)
        if entity == product_categories.CLAIM and source_key.startswith(f"{GROUP}/"):
            self.inner.forget(product_categories.CLAIM, GROUP)
            self.inner.write(product_categories.CLAIM, GROUP, self.fresh)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_stale_claim_released_and_claimed_afresh_while_it_is_taken_over_stays_the_fresh_workers(
        world: ProductsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(product_categories, "WAIT_SECONDS", 0.3)
    long_ago = (datetime.now(UTC) - product_categories.STALE - timedelta(minutes=1)).isoformat()
    world.links.write(product_categories.CLAIM, GROUP, f"stopped {long_ago}")
    fresh = f"fresh {datetime.now(UTC).isoformat()}"
    flow = world.flow()
    flow.links = _ReleasedMeanwhile(world, fresh)  # type: ignore[assignment]
    flow.fetch(None)
    with pytest.raises(RetryableError, match="another worker is making"):  # waits for the fresh one's category
        flow.sync(f"category:{GROUP}")
    assert world.links.find(product_categories.CLAIM, GROUP).target_key == fresh
    assert titled(world, "Tuin en terras") == []  # only the fresh worker makes it


def test_a_unit_resumed_after_its_worker_stopped_while_making_a_category_takes_its_claim_back_at_once(
        world: ProductsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(product_categories, "WAIT_SECONDS", 0.3)  # a wait would be a failure here
    unit = f"products:1:category:{GROUP}"
    # what a worker SIGKILLed between making the category and linking it leaves: its unit's claim, the category
    world.links.write(product_categories.CLAIM, GROUP, f"{unit} {datetime.now(UTC).isoformat()}")
    with world.shop_sandbox.state.lock:
        made = catalog.save_category(world.shop_sandbox.state, {"title": "Tuin en terras"})["id"]
    flow = world.flow()
    flow.fetch(None)
    resumed = flow.sync(f"category:{GROUP}", claimer=unit)  # the engine resumes the same unit
    assert resumed.outcome.value == "sent", resumed.reason
    assert resumed.reason == f"linked the existing shop category {made}"
    assert titled(world, "Tuin en terras") == [made]
    assert world.links.find(product_categories.CLAIM, GROUP) is None  # released


def test_a_product_unit_resumed_after_its_worker_stopped_while_making_its_category_takes_the_claim_back(
        world: ProductsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(product_categories, "WAIT_SECONDS", 0.3)
    world.change("KP-001-00001", AG_CODE=GROUP)
    unit = "products:1:KP-001-00001"
    world.links.write(product_categories.CLAIM, GROUP, f"{unit} {datetime.now(UTC).isoformat()}")
    flow = world.flow()
    flow.fetch(None)
    assert flow.sync("KP-001-00001", claimer=unit).outcome.value == "sent"
    assert len(titled(world, "Tuin en terras")) == 1
    other = world.flow()  # another unit still waits for a claim that is not its own, and is tried again later
    world.links.write(product_categories.CLAIM, "OTHER", f"{unit} {datetime.now(UTC).isoformat()}")
    with world.books_sandbox.state.lock:
        world.books_sandbox.state.tables["ART_GRP"]["OTHER"] = {"AG_CODE": "OTHER", "AG_DESC": "Anders"}
    world.change("KP-001-00002", AG_CODE="OTHER")
    other.fetch(None)
    with pytest.raises(RetryableError, match="another worker is making"):
        other.sync("KP-001-00002", claimer="products:1:KP-001-00002")
