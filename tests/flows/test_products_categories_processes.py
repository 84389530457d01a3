"""Two workers in two processes on one database (PostgreSQL) race on the same new article group: the shop
gets one category, and both link it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from koppel.connectors.sandboxkit.faults import Fault
from tests.flows.products_world import ProductsWorld, start_products_world
from tests.flows.scenarios import spawn
from tests.flows.test_engine import environment

pytestmark = pytest.mark.slow
GROUP = "TUIN"


@pytest.fixture
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=12)
    with world.books_sandbox.state.lock:
        world.books_sandbox.state.tables["ART_GRP"][GROUP] = {"AG_CODE": GROUP, "AG_DESC": "Tuin en terras"}
    yield world
    world.stop()


def test_two_processes_racing_on_a_new_group_make_one_category(world: ProductsWorld, tmp_path: Path,
                                                                postgres_database: str) -> None:
    env = environment(tmp_path, postgres_database)
    tokens = world.books.token_store.load()
    info = world.shop_sandbox.info
    books = {"url": world.books_sandbox.url, "company_id": world.books_sandbox.company_id,
             "client_id": world.books_sandbox.info.client_id, "client_secret": world.books_sandbox.info.client_secret,
             "tokens": tokens.model_dump(mode="json")}
    shop = {"url": info.url, "token": info.token, "partner_token": info.partner_token}
    made = spawn(env, tmp_path, "make_integration", "tuin", shop, books, {}).wait()
    integration_id = int(made["integration_id"])
    # the shop takes a second to answer: both workers ask within it
    world.shop_sandbox.add_fault(Fault("latency", path="/v1/categories", method="POST", seconds=1.0))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    children = [spawn(env, tmp_path, "make_category", integration_id, f"category:{GROUP}", str(barrier),
                      scenarios="tests.flows.products_scenarios") for _ in range(2)]
    deadline = time.monotonic() + 90
    while len(list(barrier.glob("ready-*"))) < 2 and time.monotonic() < deadline:  # both read the catalogue
        time.sleep(0.05)
    (barrier / "go").touch()
    results = [child.wait() for child in children]
    made_ids = [c["id"] for c in world.categories().values() if c["title"] == "Tuin en terras"]
    assert len(made_ids) == 1, (made_ids, results)
    assert [r["outcome"] for r in results] == ["sent", "sent"], results
    assert {r["target"] for r in results} == {str(made_ids[0])}
    assert any("another worker" in r["reason"] for r in results), results

