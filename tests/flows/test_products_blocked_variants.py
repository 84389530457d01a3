"""A single variant blocked in AccountView, against both sandboxes, under both settings: "hide" makes its
combination unorderable (no stock, no backorder), "leave" leaves its shop variant as it is (its stock and
backorder, its options on the article, its link) and says so; a variant removed from AccountView or moved to
another product can't be ordered any more under either setting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxError
from tests.flows.products_world import ProductsWorld, start_products_world
from tests.flows.test_products_variant_shape import order, outcome, remove_from_books, shop_variants

BLOCKED = "SHIRT-0001-ROOD-M"  # its colour and size are also on other shirts: its combination stays either way


@pytest.fixture(params=["hide", "leave"])
def world(request: pytest.FixtureRequest) -> Iterator[ProductsWorld]:
    world = start_products_world(articles=60)
    world.settings["blocked"] = request.param
    world.books_sandbox_add("SHIRT-0001-GROEN-M", "SHIRT-0001", colour="groen", size="M")  # groen: only this one
    summary = world.sync()
    assert summary.counts["needs_attention"] == 0, summary.parked
    yield world
    world.stop()


def variant_of(world: ProductsWorld, code: str) -> int:
    link = world.links.find("variant", code)
    assert link is not None, code
    return int(link.target_key.split("/")[1])


def test_a_blocked_variant_is_unorderable_when_hiding_and_left_as_it_is_when_leaving(world: ProductsWorld) -> None:
    article_id = world.shop_article("SHIRT-0001")["id"]
    blocked, groen = variant_of(world, BLOCKED), variant_of(world, "SHIRT-0001-GROEN-M")
    with world.shop_sandbox.state.lock:  # the merchant manages stock, and lets this one be ordered when sold out
        world.shop_sandbox.state.articles[article_id]["stock"] = 10
        next(v for v in world.shop_sandbox.state.articles[article_id]["variants"] if v["id"] == blocked)[
            "can_backorder"] = True
    before = shop_variants(world, article_id)
    world.change(BLOCKED, REC_BLK=True)
    world.change("SHIRT-0001-GROEN-M", REC_BLK=True)

    summary = world.sync()
    result, why = outcome(summary, "SHIRT-0001")
    assert result == "sent", why
    after = shop_variants(world, article_id)
    linked = {int(link.target_key.split("/")[1]) for link in world.links.find_by_target_prefix(
        "variant", f"{article_id}/")} - {blocked, groen}
    assert len(linked) == 5 and {k: after[k] for k in linked} == {k: before[k] for k in linked}  # untouched
    if world.settings["blocked"] == "hide":
        assert f"variant {BLOCKED} is blocked or left the selection: no stock in the shop" in why
        assert after[blocked]["stock"] == 0 and after[blocked]["can_backorder"] is False
        assert groen not in after  # its only colour went from the article, and the combination with it
        with pytest.raises(SandboxError, match="Insufficient stock"):
            order(world, article_id, "rood", "M")
    else:
        for code in (BLOCKED, "SHIRT-0001-GROEN-M"):
            assert f"variant {code} is blocked or left the selection: its shop variant is left as it is" in why
        assert after[blocked] == before[blocked] and after[groen] == before[groen]
        assert variant_of(world, BLOCKED) == blocked and variant_of(world, "SHIRT-0001-GROEN-M") == groen
        order(world, article_id, "rood", "M")  # orderable as before
        order(world, article_id, "groen", "M")
    assert world.sync().results == []  # said once
    assert world.sync(full=True).results == []


def test_a_blocked_variant_left_as_it_is_follows_accountview_again_once_unblocked(world: ProductsWorld) -> None:
    article_id = world.shop_article("SHIRT-0001")["id"]
    world.change("SHIRT-0001-GROEN-M", REC_BLK=True)
    world.sync()
    world.change("SHIRT-0001-GROEN-M", REC_BLK=False)
    back = world.sync()
    result, why = outcome(back, "SHIRT-0001")
    assert result == "sent" and "blocked" not in why and "moved" not in why, why
    groen = variant_of(world, "SHIRT-0001-GROEN-M")
    assert shop_variants(world, article_id)[groen]["stock"] == 7  # AccountView's, the same under both settings
    order(world, article_id, "groen", "M")


def test_a_removed_variant_can_not_be_ordered_under_either_setting(world: ProductsWorld) -> None:
    article_id = world.shop_article("SHIRT-0001")["id"]
    gone = variant_of(world, BLOCKED)
    remove_from_books(world, BLOCKED)
    summary = world.sync(full=True)
    assert f"variant {BLOCKED} is not in AccountView any more" in outcome(summary, "SHIRT-0001")[1]
    left = shop_variants(world, article_id)[gone]
    assert left["stock"] == 0 and left["can_backorder"] is False
    assert world.links.find("variant", BLOCKED) is None


def test_a_moved_variant_can_not_be_ordered_in_its_old_product_under_either_setting(world: ProductsWorld) -> None:
    world.books_sandbox_add("JAS-1-ROOD-M", "JAS-1", colour="rood", size="M")
    world.sync()
    shirt_id = world.shop_article("SHIRT-0001")["id"]
    old = variant_of(world, BLOCKED)
    world.change(BLOCKED, ART_PARENT="JAS-1", ART_COLOUR="blauw", REC_BLK=False)
    world.sync()
    left = shop_variants(world, shirt_id)[old]
    assert left["stock"] == 0 and left["can_backorder"] is False
    assert world.links.find("variant", BLOCKED).target_key.startswith(f"{world.shop_article('JAS-1')['id']}/")
