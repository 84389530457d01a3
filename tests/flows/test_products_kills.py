"""A worker stopped dead (SIGKILL) between two shop writes of one product, against both sandboxes: the next
run (a fresh worker) finishes the product with nothing lost and nothing written twice. The kill is an
exception no code catches, raised at the instant named, after which the worker's memory is dropped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from koppel.connectors.mijnwebwinkel.models import ArticleInput
from tests.flows.products_world import ProductsWorld, start_products_world


class Killed(BaseException):
    """The worker's process ends here: nothing after this instant runs."""


@pytest.fixture
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=24)
    yield world
    world.stop()


def kill_at(monkeypatch: pytest.MonkeyPatch, world: ProductsWorld, name: str,
            when: Callable[..., bool], *, after: bool) -> None:
    """Kill the worker at its first shop call `name` for which `when(*args)` holds: just before the call is
    sent, or just after its answer came (`after`)."""
    real = getattr(world.shop, name)

    def call(*args: Any, **kwargs: Any) -> Any:
        if not when(*args, **kwargs):
            return real(*args, **kwargs)
        monkeypatch.setattr(world.shop, name, real)  # killed once
        if after:
            real(*args, **kwargs)
        raise Killed(name)

    monkeypatch.setattr(world.shop, name, call)


def killed_in(world: ProductsWorld, key: str) -> None:
    flow = world.flow()
    flow.fetch(None)
    with pytest.raises(Killed):
        flow.sync(key)


def test_killed_before_a_new_variant_products_stock_is_written_its_variants_get_their_stock_next_run(
        world: ProductsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.sync()
    world.books_sandbox_add("JAS-1-ROOD-M", "JAS-1", colour="rood", size="M")
    world.books_sandbox_add("JAS-1-ROOD-L", "JAS-1", colour="rood", size="L")

    def stock_write(article_id: int, changes: ArticleInput) -> bool:
        return any(variant.stock for variant in changes.variants or [])

    kill_at(monkeypatch, world, "update_article", stock_write, after=False)
    killed_in(world, "JAS-1")
    assert world.shop_article("JAS-1")  # the article was made, its variants' stock not yet written

    summary = world.sync()
    assert summary.counts["needs_attention"] == 0, summary.parked
    article = world.shop_article("JAS-1")
    linked = {link.source_key: int(link.target_key.split("/")[1])
              for link in world.links.find_by_target_prefix("variant", f"{article['id']}/")}
    assert sorted(linked) == ["JAS-1-ROOD-L", "JAS-1-ROOD-M"]
    stock = {v["id"]: v["stock"] for v in article["variants"]}
    assert [stock[linked[code]] for code in sorted(linked)] == [7, 7]  # AccountView's, as a new variant starts
    assert world.sync(full=True).results == []


def test_killed_after_an_image_upload_before_it_was_linked_the_image_is_not_uploaded_again(
        world: ProductsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = world.flow()
    units = [key for key, _ in flow.fetch(None) if not key.startswith("category:")]
    key = next(key for key in units if key not in flow._variant_keys and flow.articles.article(key).image)
    kill_at(monkeypatch, world, "upload_image", lambda *args, **kwargs: True, after=True)
    killed_in(world, key)  # the article made and linked, its image uploaded, the image's link not written
    assert len(world.shop_article(key)["images"]) == 1

    summary = world.sync()
    assert summary.counts["needs_attention"] == 0, summary.parked
    images = world.shop_article(key)["images"]
    assert len(images) == 1, images
    link = world.links.find("image", key)
    assert link is not None and images[0]["original_name"] == link.target_key
    assert world.sync(full=True).results == []
