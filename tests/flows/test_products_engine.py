"""The products flow on the durable engine, its worker SIGKILLed at random moments of a first sync and
restarted (the engine resumes its run): afterwards the shop holds every product once, each variant linked
with AccountView's stock, each image once, and a full run after that sends nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from koppel.connectors.sandboxkit.faults import Fault
from koppel.flows.product_mapping import starting_stock
from tests.flows.products_world import ProductsWorld, start_products_world, variant_settings
from tests.flows.scenarios import spawn
from tests.flows.test_engine import environment

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("_fork_server")]  # real worker processes
SCENARIOS = "tests.flows.products_scenarios"


@pytest.fixture
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=60)
    yield world
    world.stop()


def integrate(world: ProductsWorld, env: dict[str, str], tmp_path: Path) -> int:
    tokens = world.books.token_store.load()
    assert tokens is not None
    books = {"url": world.books_sandbox.url, "company_id": world.books_sandbox.company_id,
             "client_id": world.books_sandbox.info.client_id, "client_secret": world.books_sandbox.info.client_secret,
             "tokens": tokens.model_dump(mode="json")}
    info = world.shop_sandbox.info
    shop = {"url": info.url, "token": info.token, "partner_token": info.partner_token}
    made = spawn(env, tmp_path, "products_integration", "winkel", shop, books,
                 {"variants": variant_settings(world.lists)}, scenarios=SCENARIOS).wait()
    return int(made["integration_id"])


def worker(env: dict[str, str], tmp_path: Path, iid: int, run: str, *, full: bool = False) -> Any:
    return spawn(env, tmp_path, "products_worker", "worker-1", iid, run, full, scenarios=SCENARIOS)


def test_a_worker_killed_at_random_moments_of_a_first_sync_leaves_every_product_once(
        world: ProductsWorld, tmp_path: Path) -> None:
    env = environment(tmp_path)
    iid = integrate(world, env, tmp_path)
    # every shop write takes a moment, so the kills land in the middle of products (and of writes: a write
    # the dead worker sent is still made by the shop, its answer lost)
    world.shop_sandbox.add_fault(Fault("latency", method="POST", seconds=0.4))
    world.shop_sandbox.add_fault(Fault("latency", method="PATCH", seconds=0.4))
    kills, made_at_kills = 0, []
    for made in (2, 8, 16):  # killed once the shop has this many articles: in the middle of products and writes
        running = worker(env, tmp_path, iid, "first")
        deadline = time.monotonic() + 90
        while len(world.shop_articles()) < made and running.process.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not running.process.is_alive():
            break
        running.kill()
        kills += 1
        made_at_kills.append(len(world.shop_articles()))
    final = worker(env, tmp_path, iid, "first").wait(timeout=240)
    products = len(world.books_sandbox.state.tables["ARTICLE"])
    assert kills >= 2 and any(0 < made < products for made in made_at_kills), made_at_kills  # mid-sync
    if final["counts"]["retry"]:  # a passing failure (a busy database, a category claim): the next run
        final = worker(env, tmp_path, iid, "after").wait(timeout=120)
    assert final["counts"]["needs_attention"] == final["counts"]["retry"] == 0, final["records"]

    articles = world.books.get_articles(list(world.books_sandbox.state.tables["ARTICLE"]))
    skus = sorted((a.get("sku") or "").upper() for a in world.shop_articles())
    assert len(skus) == len(set(skus)), [s for s in skus if skus.count(s) > 1]  # each product once
    parents = {a.row.get("ART_PARENT") for a in articles.values() if a.row.get("ART_PARENT")}
    simple = {code for code in articles if not articles[code].row.get("ART_PARENT") and code not in parents}
    assert set(skus) == simple | parents
    for article in world.shop_articles():
        assert len(article.get("images") or []) <= 1, (article["sku"], article["images"])  # each image once
        for variant in article.get("variants") or []:
            assert variant["stock"] is not None
    with world.shop_sandbox.state.lock:
        shop = {a["id"]: {v["id"]: v["stock"] for v in a.get("variants") or []}
                for a in world.shop_sandbox.state.articles.values()}
    done = worker(env, tmp_path, iid, "check", full=True).wait(timeout=120)
    assert done["counts"]["sent"] == 0, [r for r in done["records"] if r["outcome"] == "sent"]
    linked = spawn(env, tmp_path, "variant_links", iid, scenarios=SCENARIOS).wait()
    assert sorted(linked) == sorted(c for c in articles if articles[c].row.get("ART_PARENT"))
    for code, target in linked.items():
        article_id, _, variant_id = target.partition("/")
        assert shop[int(article_id)][int(variant_id)] == starting_stock(articles[code]), code
