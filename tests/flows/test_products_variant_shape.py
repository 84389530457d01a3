"""A variant group that changes shape, against both sandboxes: a variant removed from AccountView can't be
ordered after a full run (no stock, no backorder: the API can't delete or switch off a variant) and its link is
retired, the rest of the product untouched; an incremental run, which can't see a removal, never takes an
unseen variant for a removed one; a variant moved to another parent leaves its old product and is in the new
one only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from koppel.connectors.mijnwebwinkel.sandbox.orders import build_order
from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxError
from tests.flows.products_world import ProductsWorld, start_products_world


@pytest.fixture
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=60)
    summary = world.sync()
    assert summary.counts["needs_attention"] == 0, summary.parked
    yield world
    world.stop()


def outcome(summary, key: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    found = [r for r in summary.results if r.key == key]
    assert found, f"no result for {key}: {[r.key for r in summary.results]}"
    return found[-1].outcome, found[-1].reason


def variant_links(world: ProductsWorld, article_id: int) -> dict[str, str]:
    """AccountView code → "<article>/<variant>" of every variant linked into this shop article."""
    return {link.source_key: link.target_key for link in world.links.find_by_target_prefix("variant", f"{article_id}/")}


def shop_variants(world: ProductsWorld, article_id: int) -> dict[int, dict[str, Any]]:
    with world.shop_sandbox.state.lock:
        return {v["id"]: dict(v) for v in world.shop_sandbox.state.articles[article_id]["variants"]}


def remove_from_books(world: ProductsWorld, *codes: str) -> None:
    with world.books_sandbox.state.lock:
        for code in codes:
            del world.books_sandbox.state.tables["ARTICLE"][code]


def order(world: ProductsWorld, article_id: int, colour: str, size: str) -> None:
    """Place an order of one of this combination in the shop, as POST /orders does (raises when the shop
    refuses it)."""
    with world.shop_sandbox.state.lock:
        article = world.shop_sandbox.state.articles[article_id]
        chosen = [{"list_option_id": o["id"]} for entry in article["lists"] for o in entry["options"]
                  if o["name"] in (colour, size)]
    build_order(world.shop_sandbox.state, {
        "debtor": {"email": "klant@example.nl", "address": {"invoice": {
            "name": "Sanne de Vries", "street": "Kerkstraat", "number": "12", "zipcode": "1011 AB",
            "city": "Amsterdam", "country_code": "NL"}}},
        "orderlines": [{"type": "article", "quantity": 1, "articles": [{"id": article_id, "options": chosen}]}],
    })


def test_a_variant_removed_from_accountview_can_no_longer_be_ordered_after_a_full_run(world: ProductsWorld) -> None:
    shirt = world.shop_article("SHIRT-0001")
    article_id = shirt["id"]
    gone = int(world.links.find("variant", "SHIRT-0001-BLAUW-S").target_key.split("/")[1])
    with world.shop_sandbox.state.lock:  # the merchant manages stock and lets this one be ordered when sold out
        world.shop_sandbox.state.articles[article_id]["stock"] = 10
        next(v for v in world.shop_sandbox.state.articles[article_id]["variants"] if v["id"] == gone)[
            "can_backorder"] = True
    before = shop_variants(world, article_id)
    order(world, article_id, "blauw", "S")  # orderable while AccountView has it
    remove_from_books(world, "SHIRT-0001-BLAUW-S")

    assert world.sync().results == []  # an incremental read can't see a removal, and takes nothing for one
    assert world.links.find("variant", "SHIRT-0001-BLAUW-S") is not None

    summary = world.sync(full=True)
    result, why = outcome(summary, "SHIRT-0001")
    assert result == "sent", why
    assert "variant SHIRT-0001-BLAUW-S is not in AccountView any more" in why
    assert world.links.find("variant", "SHIRT-0001-BLAUW-S") is None
    after = shop_variants(world, article_id)
    assert after[gone]["stock"] == 0 and after[gone]["can_backorder"] is False
    with pytest.raises(SandboxError, match="Insufficient stock"):
        order(world, article_id, "blauw", "S")
    # the rest of the product untouched: its other variants, their stock and links, its visibility
    assert {k: v for k, v in after.items() if k != gone} == {k: v for k, v in before.items() if k != gone}
    assert len(variant_links(world, article_id)) == 5
    kept = world.shop_article("SHIRT-0001")
    assert kept["name"] == shirt["name"] and all(link["is_active"] for link in kept["categories"])
    assert world.sync(full=True).results == []  # retired once


def test_an_incremental_run_never_takes_an_unseen_variant_for_a_removed_one(world: ProductsWorld) -> None:
    article_id = world.shop_article("SHIRT-0001")["id"]
    linked = variant_links(world, article_id)
    stocks = {k: v["stock"] for k, v in shop_variants(world, article_id).items()}
    # the group changes shape (a variant added): it is rebuilt from a read of the whole group, while this
    # incremental read saw only the new article
    world.books_sandbox_add("SHIRT-0001-GROEN-M", "SHIRT-0001", colour="groen", size="M")
    summary = world.sync()
    result, why = outcome(summary, "SHIRT-0001")
    assert result == "sent" and "retired" not in why, why
    now = variant_links(world, article_id)
    assert {k: v for k, v in now.items() if k in linked} == linked and "SHIRT-0001-GROEN-M" in now
    after = shop_variants(world, article_id)
    assert all(after[int(target.split("/")[1])]["stock"] == stocks[int(target.split("/")[1])]
               for target in linked.values())


def test_a_variant_moved_to_another_parent_is_in_the_new_product_only(world: ProductsWorld) -> None:
    world.books_sandbox_add("JAS-1-ROOD-M", "JAS-1", colour="rood", size="M")
    world.books_sandbox_add("JAS-1-ROOD-L", "JAS-1", colour="rood", size="L")
    world.sync()
    shirt_id = world.shop_article("SHIRT-0001")["id"]
    old_variant = int(world.links.find("variant", "SHIRT-0001-ROOD-M").target_key.split("/")[1])
    world.change("SHIRT-0001-ROOD-M", ART_PARENT="JAS-1", ART_COLOUR="blauw")
    summary = world.sync()
    assert outcome(summary, "JAS-1")[0] == "sent" and outcome(summary, "SHIRT-0001")[0] == "sent"
    assert any("SHIRT-0001-ROOD-M" in outcome(summary, key)[1] for key in ("JAS-1", "SHIRT-0001"))
    jas_id = world.shop_article("JAS-1")["id"]
    assert "SHIRT-0001-ROOD-M" in variant_links(world, jas_id)
    assert "SHIRT-0001-ROOD-M" not in variant_links(world, shirt_id) and len(variant_links(world, shirt_id)) == 5
    left = shop_variants(world, shirt_id).get(old_variant)  # rood M: both options still used by other shirts
    assert left is not None and left["stock"] == 0 and left["can_backorder"] is False
    assert world.sync(full=True).results == []


def test_a_variant_product_with_every_article_gone_is_hidden_and_its_variant_links_retired(
        world: ProductsWorld) -> None:
    article_id = world.shop_article("SHIRT-0001")["id"]
    remove_from_books(world, *variant_links(world, article_id))
    summary = world.sync(full=True)
    result, why = outcome(summary, "SHIRT-0001")
    assert result == "sent" and "hidden (not deleted)" in why and "SHIRT-0001-ROOD-M" in why, why
    assert variant_links(world, article_id) == {}
    assert not any(link["is_active"] for link in world.shop_article("SHIRT-0001")["categories"])
    assert world.sync(full=True).results == []


def test_a_variant_blocked_then_unblocked_whose_option_went_comes_back_orderable(world: ProductsWorld) -> None:
    world.books_sandbox_add("SHIRT-0001-GROEN-M", "SHIRT-0001", colour="groen", size="M")
    world.sync()
    article_id = world.shop_article("SHIRT-0001")["id"]
    world.change("SHIRT-0001-GROEN-M", REC_BLK=True)
    blocked = world.sync()
    assert "SHIRT-0001-GROEN-M is blocked" in outcome(blocked, "SHIRT-0001")[1]
    assert not any(o["name"] == "groen" for v in shop_variants(world, article_id).values() for o in v["options"])
    world.change("SHIRT-0001-GROEN-M", REC_BLK=False)
    back = world.sync()
    assert outcome(back, "SHIRT-0001")[0] == "sent", outcome(back, "SHIRT-0001")[1]
    assert "moved" not in outcome(back, "SHIRT-0001")[1]  # the same product regenerated the combination
    variant = int(world.links.find("variant", "SHIRT-0001-GROEN-M").target_key.split("/")[1])
    assert shop_variants(world, article_id)[variant]["stock"] == 7  # AccountView's, as a new variant starts


def visible(world: ProductsWorld, sku: str) -> bool:
    return all(link["is_active"] for link in world.shop_article(sku)["categories"])


def test_a_simple_article_that_became_a_variant_and_then_simple_again_is_shown_again(world: ProductsWorld) -> None:
    simple = world.shop_article("KP-001-00001")["id"]
    world.books_sandbox_add("JAS-1-ROOD-M", "JAS-1", colour="rood", size="M")
    world.change("KP-001-00001", ART_PARENT="JAS-1", ART_COLOUR="blauw", ART_SIZE="M")
    summary = world.sync()
    assert f"KP-001-00001 became a variant: its own shop article {simple} is hidden" in outcome(summary, "JAS-1")[1]
    assert not visible(world, "KP-001-00001") and world.links.find("product", "KP-001-00001") is None

    world.change("KP-001-00001", ART_PARENT="", ART_COLOUR="", ART_SIZE="")
    summary = world.sync()
    result, why = outcome(summary, "KP-001-00001")
    assert result == "sent" and "shown again" in why, why
    assert world.shop_article("KP-001-00001")["id"] == simple and visible(world, "KP-001-00001")  # not made anew
    assert world.links.find("product", "KP-001-00001").target_key == str(simple)
    assert "KP-001-00001" not in variant_links(world, world.shop_article("JAS-1")["id"])
    assert world.sync(full=True).results == []


def test_a_simple_article_joining_a_group_that_is_parked_is_left_as_it_was(world: ProductsWorld) -> None:
    simple = world.shop_article("KP-001-00001")["id"]
    world.books_sandbox_add("JAS-1-ROOD-M", "JAS-1", colour="rood", size="M")
    world.change("KP-001-00001", ART_PARENT="JAS-1", ART_COLOUR="rood", ART_SIZE="M")  # the same combination
    summary = world.sync()
    result, why = outcome(summary, "JAS-1")
    assert result == "needs_attention" and "share the combination" in why, why
    assert visible(world, "KP-001-00001")  # nothing written before the group was found wrong
    assert world.links.find("product", "KP-001-00001").target_key == str(simple)
