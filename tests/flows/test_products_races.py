"""Two workers on two products that share a moving variant, against both sandboxes: the old product retiring
the variant's link while the new product relinks it never loses the new link, whichever instant the relink
lands at (each worker a flow of its own, with its own caches, as on two machines)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from koppel.flows.links import Link, MemoryLinks
from tests.flows.products_world import ProductsWorld, start_products_world

MOVING = "SHIRT-0001-ROOD-M"


@pytest.fixture
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=60)
    world.books_sandbox_add("JAS-1-ROOD-M", "JAS-1", colour="rood", size="M")
    world.books_sandbox_add("JAS-1-ROOD-L", "JAS-1", colour="rood", size="L")
    summary = world.sync()
    assert summary.counts["needs_attention"] == 0, summary.parked
    yield world
    world.stop()


class Interleaved:
    """The world's links, seen by one worker: the first time that worker reads or drops `code`'s variant link,
    `meanwhile` runs first (another worker, at that very instant)."""

    def __init__(self, links: MemoryLinks, code: str, meanwhile: Callable[[], None]) -> None:
        self.inner, self.code, self.meanwhile = links, code, meanwhile
        self.fired = False

    def _at(self, entity: str, source_key: str) -> None:
        if entity == "variant" and source_key == self.code and not self.fired:
            self.fired = True
            self.meanwhile()

    def find(self, entity: str, source_key: str) -> Link | None:
        found = self.inner.find(entity, source_key)
        self._at(entity, source_key)  # what was read is already stale when the other worker goes now
        return found

    def forget_if(self, entity: str, source_key: str, *, target_key: str) -> bool:
        self._at(entity, source_key)
        return self.inner.forget_if(entity, source_key, target_key=target_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_variant_relinked_by_its_new_product_while_the_old_one_retires_it_keeps_its_new_link(
        world: ProductsWorld) -> None:
    shirt_id = world.shop_article("SHIRT-0001")["id"]
    was = world.links.find("variant", MOVING)
    assert was is not None
    with world.shop_sandbox.state.lock:
        stock = next(v["stock"] for v in world.shop_sandbox.state.articles[shirt_id]["variants"]
                     if f"{shirt_id}/{v['id']}" == was.target_key)
    assert stock > 0
    world.change(MOVING, ART_PARENT="JAS-1", ART_COLOUR="blauw")
    new_product, old_product = world.flow(), world.flow()
    old_product.links = Interleaved(world.links, MOVING, lambda: new_product.sync("JAS-1"))  # type: ignore[assignment]
    for flow in (new_product, old_product):
        flow.fetch(None)

    retired = old_product.sync("SHIRT-0001")

    assert old_product.links.fired  # type: ignore[attr-defined]
    assert retired.outcome.value == "sent", retired.reason
    jas_id = world.shop_article("JAS-1")["id"]
    link = world.links.find("variant", MOVING)
    assert link is not None and link.target_key.startswith(f"{jas_id}/"), link
    variant = int(link.target_key.split("/")[1])
    with world.shop_sandbox.state.lock:
        jas = world.shop_sandbox.state.articles[jas_id]
        assert next(v for v in jas["variants"] if v["id"] == variant)["stock"] == stock  # AccountView's, as it started
        left = next(v for v in world.shop_sandbox.state.articles[shirt_id]["variants"]
                    if f"{shirt_id}/{v['id']}" == was.target_key)
        assert left["stock"] == 0 and left["can_backorder"] is False
    assert world.sync(full=True).results == []  # nothing left for a later run to mend
