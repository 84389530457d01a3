"""A worker stopped dead (SIGKILL) between two shop writes of one product, against both sandboxes: the next
run (a fresh worker) finishes the product with nothing lost and nothing written twice. The kill is an
exception no code catches, raised at the instant named, after which the worker's memory is dropped."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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


NEW_PRODUCTS = ("JAS-1", "KP-001-00001")  # a new variant product with a new colour; a new simple one with an image


def new_to_the_shop(world: ProductsWorld) -> None:
    """After a first sync: a variant product AccountView just got, in a colour the shop's list lacks, and a
    simple article with an image the shop has not got (its shop article and links gone)."""
    world.sync()
    world.books_sandbox_add("JAS-1-ORANJE-M", "JAS-1", colour="oranje", size="M")
    world.books_sandbox_add("JAS-1-ORANJE-L", "JAS-1", colour="oranje", size="L")
    for entity in ("product", "image"):
        world.links.forget(entity, "KP-001-00001")
    with world.shop_sandbox.state.lock:
        shop = world.shop_sandbox.state.articles
        del shop[next(i for i, a in shop.items() if a.get("sku") == "KP-001-00001")]


def shop_writes(world: ProductsWorld) -> list[tuple[str, str]]:
    """Every shop write the new products take, in order (method, path)."""
    flow = world.flow()
    flow.fetch(None)
    writes: list[tuple[str, str]] = []
    real = world.shop._call

    def call(method: str, path: str, **kwargs: Any) -> Any:
        if method != "GET":
            writes.append((method, path))
        return real(method, path, **kwargs)

    world.shop._call = call  # type: ignore[method-assign]
    try:
        for key in NEW_PRODUCTS:
            flow.sync(key)
    finally:
        del world.shop._call
    return writes


def killed_at_shop_write(world: ProductsWorld, monkeypatch: pytest.MonkeyPatch, write: int, after: bool,
                         keys: Sequence[str]) -> None:
    """A worker syncing `keys` dies just before (or after) its shop write number `write` (from 0)."""
    count = iter(range(write + 1))
    kill_at(monkeypatch, world, "_call", lambda method, path, **kwargs: method != "GET" and next(count) == write,
            after=after)
    flow = world.flow()
    flow.fetch(None)
    with pytest.raises(Killed):
        for key in keys:
            flow.sync(key)


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("write", range(5))
def test_killed_at_any_shop_write_of_new_products_nothing_is_lost_or_made_twice(
        world: ProductsWorld, monkeypatch: pytest.MonkeyPatch, write: int, after: bool) -> None:
    new_to_the_shop(world)
    killed_at_shop_write(world, monkeypatch, write, after, NEW_PRODUCTS)

    summary = world.sync(full=True)  # a fresh worker: the next run
    assert summary.counts["needs_attention"] == 0, summary.parked
    jas = world.shop_article("JAS-1")  # made once
    linked = {link.source_key: int(link.target_key.split("/")[1])
              for link in world.links.find_by_target_prefix("variant", f"{jas['id']}/")}
    assert sorted(linked) == ["JAS-1-ORANJE-L", "JAS-1-ORANJE-M"]
    stock = {v["id"]: v["stock"] for v in jas["variants"]}
    assert [stock[linked[code]] for code in sorted(linked)] == [7, 7]
    with world.shop_sandbox.state.lock:
        colours = world.shop_sandbox.state.option_lists[world.lists["Kleur"]]["options"]
        assert [o["name"] for o in colours].count("oranje") == 1
    images = world.shop_article("KP-001-00001")["images"]  # made once, with one image
    assert len(images) == 1 and images[0]["original_name"] == world.links.find("image", "KP-001-00001").target_key
    assert world.sync(full=True).results == []


def test_the_new_products_take_the_five_shop_writes_the_kills_aim_at(world: ProductsWorld) -> None:
    new_to_the_shop(world)
    writes = shop_writes(world)
    assert [method for method, _ in writes] == ["POST", "POST", "PATCH", "POST", "POST"], writes


MOVING = "SHIRT-0001-ROOD-M"


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("write", range(4))
@pytest.mark.parametrize("order", [("JAS-1", "SHIRT-0001"), ("SHIRT-0001", "JAS-1")], ids=["new-first", "old-first"])
def test_killed_at_any_shop_write_of_a_variant_moving_to_another_product_it_ends_in_the_new_one_only(
        world: ProductsWorld, monkeypatch: pytest.MonkeyPatch, order: tuple[str, str], write: int,
        after: bool) -> None:
    """Four shop writes, in either order of the two products: the new product's lists and its variants' stock,
    the old product's lists and its old combination made unorderable."""
    world.books_sandbox_add("JAS-1-ROOD-M", "JAS-1", colour="rood", size="M")
    world.sync()
    shirt_id = world.shop_article("SHIRT-0001")["id"]
    was = world.links.find("variant", MOVING)
    with world.shop_sandbox.state.lock:
        stock = next(v["stock"] for v in world.shop_sandbox.state.articles[shirt_id]["variants"]
                     if f"{shirt_id}/{v['id']}" == was.target_key)
    world.change(MOVING, ART_PARENT="JAS-1", ART_COLOUR="blauw")
    killed_at_shop_write(world, monkeypatch, write, after, order)

    summary = world.sync(full=True)  # a fresh worker: the next run
    assert summary.counts["needs_attention"] == 0, summary.parked
    jas_id = world.shop_article("JAS-1")["id"]
    link = world.links.find("variant", MOVING)
    assert link is not None and link.target_key.startswith(f"{jas_id}/"), link
    with world.shop_sandbox.state.lock:
        articles = world.shop_sandbox.state.articles
        now = next(v for v in articles[jas_id]["variants"] if f"{jas_id}/{v['id']}" == link.target_key)
        left = next(v for v in articles[shirt_id]["variants"] if f"{shirt_id}/{v['id']}" == was.target_key)
    assert now["stock"] == stock  # AccountView's, as it started in its new product
    assert left["stock"] == 0 and left["can_backorder"] is False
    assert len(world.links.find_by_target_prefix("variant", f"{shirt_id}/")) == 5
    assert world.sync(full=True).results == []
