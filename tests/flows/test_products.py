"""The products flow against both sandboxes over real HTTP: first sync, an unchanged re-sync, updates that
keep what the shop owns, categories, images, blocked articles, a lost answer, and variant groups that change
shape."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from decimal import Decimal

import pytest

from koppel.connectors.sandboxkit.faults import Fault
from tests.flows.products_world import ProductsWorld, start_products_world


@pytest.fixture
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=60)
    yield world
    world.stop()


def outcome(summary, key: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    found = [r for r in summary.results if r.key == key]
    assert found, f"no result for {key}: {[r.key for r in summary.results]}"
    return found[-1].outcome, found[-1].reason


def test_first_sync_makes_categories_simple_and_variant_products(world: ProductsWorld) -> None:
    summary = world.sync(category_parents={"SHIRTS": "TEXTIEL"})
    assert summary.counts["needs_attention"] == 0, summary.parked
    assert outcome(summary, "KP-001-00001")[0] == "sent"
    simple = world.shop_article("KP-001-00001")
    assert simple["extra"]["invisible"]["barcode"]  # the EAN, as the shop keeps it
    shirt = world.shop_article("SHIRT-0001")
    assert shirt["name"] == shirt["name"].removesuffix(" L").removesuffix(" blauw")  # no option values in it
    assert {entry["name"] for entry in shirt["lists"]} == {"Kleur", "Maat"}
    assert len(shirt["variants"]) == 6
    sizes = {o["name"]: Decimal(o["price"]) for entry in shirt["lists"] if entry["name"] == "Maat"
             for o in entry["options"]}
    assert sizes["L"] - sizes["S"] == Decimal("1.82")  # 1.50 excl. VAT more, in a shop that shows incl. VAT
    variant_links = {k: v.target_key for (entity, k), v in world.links.links.items() if entity == "variant"}
    assert len(variant_links) == 6 and all(t.startswith(f"{shirt['id']}/") for t in variant_links.values())
    assert len(set(variant_links.values())) == 6
    categories = world.categories()
    shirts = categories[int(world.links.find("category", "SHIRTS").target_key)]
    assert shirts["parent_category_id"] == int(world.links.find("category", "TEXTIEL").target_key)
    assert shirt["categories"][0]["category_id"] == shirts["id"]
    assert any(a.get("images") for a in world.shop_articles())


def test_a_first_sync_links_what_the_shop_sells_already_instead_of_making_it_twice() -> None:
    world = start_products_world(articles=60, shop_articles=12)
    try:
        before = {a["sku"]: a["id"] for a in world.shop_articles()}
        summary = world.sync()
        assert summary.counts["needs_attention"] == 0, summary.parked
        assert "found in the shop by its SKU and linked" in outcome(summary, "KP-001-00002")[1]
        assert world.links.find("product", "KP-001-00002").target_key == str(before["KP-001-00002"])
        skus = [(a.get("sku") or "").upper() for a in world.shop_articles()]
        assert len(skus) == len(set(skus))
    finally:
        world.stop()


def test_an_unchanged_catalogue_writes_nothing_and_reads_only_list_pages(world: ProductsWorld) -> None:
    world.sync()
    world.shop_sandbox.limits.reset_calls()
    world.books_sandbox.calls.clear()
    again = world.sync(full=True)
    assert again.results == [] and not again.error
    shop_calls = dict(world.shop_sandbox.limits.calls)
    assert all(call.startswith("GET ") for call in shop_calls), shop_calls
    assert set(world.books_sandbox.calls) <= {"read:AK1", "read:AG1", "read:VA1"}, world.books_sandbox.calls
    assert world.books_sandbox.calls["read:AK1"] == 1  # 60 articles: one list page


def test_an_update_keeps_what_the_shop_owns_unless_the_switch_says_so(world: ProductsWorld) -> None:
    world.sync()
    article = world.shop_article("KP-001-00002")
    with world.shop_sandbox.state.lock:
        world.shop_sandbox.state.articles[article["id"]]["name"] = "Naam uit de webwinkel"
    world.change("KP-001-00002", ART_DESC1="Nieuwe naam in AccountView", PX_SELL=Decimal("50.00"))
    summary = world.sync()
    assert outcome(summary, "KP-001-00002")[0] == "sent"
    kept = world.shop_article("KP-001-00002")
    assert kept["name"] == "Naam uit de webwinkel"
    assert Decimal(kept["price"]["default"]) == Decimal("60.50")  # 50.00 + 21 % VAT: the price follows

    world.change("KP-001-00002", ART_DESC1="Alleen de naam veranderd")
    only_name = world.sync()
    assert outcome(only_name, "KP-001-00002")[0] == "skipped"  # nothing the shop takes from AccountView changed
    assert world.shop_article("KP-001-00002")["name"] == "Naam uit de webwinkel"

    world.change("KP-001-00002", ART_DESC1="Naam van AccountView")
    overwrite = world.sync(update_product_info=True)
    assert outcome(overwrite, "KP-001-00002")[0] == "sent"
    assert world.shop_article("KP-001-00002")["name"] == "Naam van AccountView"


def test_a_renamed_group_renames_its_category_and_keeps_the_link(world: ProductsWorld) -> None:
    world.sync()
    category_id = int(world.links.find("category", "WONEN").target_key)
    with world.books_sandbox.state.lock:
        world.books_sandbox.state.tables["ART_GRP"]["WONEN"]["AG_DESC"] = "Wonen & slapen"
    summary = world.sync()
    assert outcome(summary, "category:WONEN") == ("sent", f"updated shop category {category_id}")
    assert world.categories()[category_id]["title"] == "Wonen & slapen"
    assert len([c for c in world.categories().values() if c["title"] == "Wonen & slapen"]) == 1


def test_a_new_image_replaces_ours_and_leaves_the_merchants_alone(world: ProductsWorld) -> None:
    world.sync(update_product_info=True)
    article = world.shop_article("KP-001-00001")
    ours = [i["original_name"] for i in article["images"]]
    assert len(ours) == 1
    world.shop.upload_image(article["id"], "eigen-foto.png", _png(b"merchant"))
    world.change("KP-001-00001", IMG_M_DATA=base64.b64encode(_png(b"nieuw")).decode())
    summary = world.sync(update_product_info=True)
    assert outcome(summary, "KP-001-00001")[0] == "sent"
    names = [i["original_name"] for i in world.shop_article("KP-001-00001")["images"]]
    assert "eigen-foto.png" in names and ours[0] not in names and len(names) == 2
    assert world.sync(update_product_info=True).results == []  # the same image is not sent again


def test_a_blocked_article_is_hidden_never_deleted_and_shown_when_unblocked(world: ProductsWorld) -> None:
    world.sync()
    world.change("KP-001-00003", REC_BLK=True)
    blocked = world.sync()
    assert outcome(blocked, "KP-001-00003")[0] == "sent"
    hidden = world.shop_article("KP-001-00003")
    assert not any(link["is_active"] for link in hidden["categories"])
    world.change("KP-001-00003", REC_BLK=False)
    assert outcome(world.sync(), "KP-001-00003")[0] == "sent"
    assert all(link["is_active"] for link in world.shop_article("KP-001-00003")["categories"])


def test_leave_keeps_a_blocked_article_as_it_is(world: ProductsWorld) -> None:
    world.sync()
    world.change("KP-001-00003", REC_BLK=True)
    assert outcome(world.sync(blocked="leave"), "KP-001-00003")[0] == "skipped"
    assert all(link["is_active"] for link in world.shop_article("KP-001-00003")["categories"])


def test_a_lost_answer_never_creates_an_article_twice(world: ProductsWorld) -> None:
    world.shop_sandbox.add_fault(Fault("drop_after_commit", path="/v1/articles", method="POST", count=3))
    summary = world.sync()
    assert summary.counts["needs_attention"] == 0, summary.parked
    skus = [(a.get("sku") or "").upper() for a in world.shop_articles()]
    assert len(skus) == len(set(skus)) == 55  # 54 simple articles and one variant product, each once
    assert world.sync(full=True).results == []


def test_a_variant_added_to_a_group_becomes_an_option_with_stock(world: ProductsWorld) -> None:
    world.sync()
    world.books_sandbox_add("SHIRT-0001-GROEN-M", "SHIRT-0001", colour="groen", size="M")
    summary = world.sync()
    assert outcome(summary, "SHIRT-0001")[0] == "sent"
    shirt = world.shop_article("SHIRT-0001")
    colours = {o["name"] for entry in shirt["lists"] if entry["name"] == "Kleur" for o in entry["options"]}
    assert colours == {"blauw", "rood", "groen"}
    link = world.links.find("variant", "SHIRT-0001-GROEN-M")
    assert link is not None and link.target_key.startswith(f"{shirt['id']}/")
    # combinations no article has (groen S, groen L) get no stock; the new variant gets AccountView's
    green = [v for v in shirt["variants"] if any(o["name"] == "groen" for o in v["options"])]
    stocks = {next(o["name"] for o in v["options"] if o["list_id"] == world.lists["Maat"]): v["stock"] for v in green}
    assert stocks["S"] == 0 and stocks["L"] == 0 and stocks["M"] is not None


def test_a_variant_moved_to_another_parent_leaves_its_old_product(world: ProductsWorld) -> None:
    world.books_sandbox_add("JAS-1-ROOD-M", "JAS-1", colour="rood", size="M")
    world.books_sandbox_add("JAS-1-ROOD-L", "JAS-1", colour="rood", size="L")
    world.sync()
    old = world.links.find("variant", "SHIRT-0001-ROOD-M").target_key
    world.change("SHIRT-0001-ROOD-M", ART_PARENT="JAS-1", ART_COLOUR="blauw")
    summary = world.sync()
    assert outcome(summary, "JAS-1")[0] == "sent", summary.results
    new = world.links.find("variant", "SHIRT-0001-ROOD-M").target_key
    assert new.split("/")[0] == str(world.shop_article("JAS-1")["id"]) != old.split("/")[0]
    article_id, variant_id = (int(p) for p in old.split("/"))
    variant = next(v for v in world.shop_sandbox.state.articles[article_id]["variants"] if v["id"] == variant_id)
    assert variant["stock"] == 0


def test_a_simple_article_that_becomes_a_variant_hides_its_own_shop_article(world: ProductsWorld) -> None:
    world.sync()
    own = world.shop_article("KP-001-00004")
    world.change("KP-001-00004", ART_PARENT="SHIRT-0001", ART_COLOUR="groen", ART_SIZE="S")
    summary = world.sync()
    assert outcome(summary, "SHIRT-0001")[0] == "sent"
    assert world.links.find("product", "KP-001-00004") is None
    assert not any(link["is_active"] for link in world.shop_sandbox.state.articles[own["id"]]["categories"])


def _png(marker: bytes) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x10\x20\x30" * 2 for _ in range(2))
    return b"".join([b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)),
                     chunk(b"tEXt", b"Title\x00" + marker), chunk(b"IDAT", zlib.compress(raw)), chunk(b"IEND", b"")])


def test_an_article_removed_from_accountview_is_hidden_by_a_full_run(world: ProductsWorld) -> None:
    world.sync()
    with world.books_sandbox.state.lock:
        del world.books_sandbox.state.tables["ARTICLE"]["KP-001-00005"]
    assert world.sync().results == []  # an incremental read can't see a removal: AccountView keeps no trace
    summary = world.sync(full=True)
    assert outcome(summary, "KP-001-00005") == ("sent", outcome(summary, "KP-001-00005")[1])
    assert "not in AccountView" in outcome(summary, "KP-001-00005")[1]
    assert not any(link["is_active"] for link in world.shop_article("KP-001-00005")["categories"])
    assert world.sync(full=True).results == []  # hidden once


def test_an_article_that_leaves_the_selection_is_hidden(world: ProductsWorld) -> None:
    world.sync(select="flag")
    assert all(a["sku"] != "KP-001-00010" for a in world.shop_articles())  # webshop flag off: never sent
    world.change("KP-001-00006", WEB_SHOP=False)
    summary = world.sync(select="flag")
    assert "no longer in the shop's selection" in outcome(summary, "KP-001-00006")[1]
    assert not any(link["is_active"] for link in world.shop_article("KP-001-00006")["categories"])


def test_a_blocked_variant_leaves_its_product_with_no_stock_for_that_combination(world: ProductsWorld) -> None:
    world.sync()
    article_id, variant_id = (int(p) for p in world.links.find("variant", "SHIRT-0001-BLAUW-S").target_key.split("/"))
    world.change("SHIRT-0001-BLAUW-S", REC_BLK=True)
    summary = world.sync()
    assert outcome(summary, "SHIRT-0001")[0] == "sent"
    shirt = world.shop_sandbox.state.articles[article_id]
    assert next(v for v in shirt["variants"] if v["id"] == variant_id)["stock"] == 0
    assert sum(1 for v in shirt["variants"] if v["stock"]) >= 4  # the others keep theirs
