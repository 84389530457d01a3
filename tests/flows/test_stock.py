"""The stock flow against both sandboxes over real HTTP: AccountView's figures into the shop through the
products flow's links or by SKU, only what changed, each bad article parked by name while the rest go on."""

from __future__ import annotations

import pytest

from koppel.connectors.accountview.profile import AccountViewProfile, FieldLayout
from koppel.connectors.mijnwebwinkel.sandbox.orders import build_order
from koppel.flows.links import Link
from koppel.flows.stock import ENTITY, STOCK, StockFlow
from koppel.flows.stock_settings import StockSettings
from koppel.flows.stock_shop import UNLIMITED
from koppel.reasons import as_args, setting_to_fix
from koppel.sync.links import EngineLinks
from koppel.sync.runner import run_here
from tests.flows.stock_world import (
    add_books_article,
    add_shop_article,
    books_article,
    books_reads,
    by_code,
    cycle_summary,
    expected,
    reset_calls,
    set_books_stock,
    set_shop_stock,
    shop_article,
    shop_reads,
    shop_stock,
    shop_writes,
    simple_articles,
    stock_flow,
    sync_stock,
    variant_article,
)
from tests.flows.world import World, start_world, sync_orders
from tests.sync.scenarios import integration


def first_cycle(world: World, **settings: object) -> None:
    sync_stock(stock_flow(world, **settings))
    reset_calls(world)


def test_the_first_cycle_sets_the_shop_by_sku_and_the_next_writes_nothing(world: World) -> None:
    simple = simple_articles(world)
    set_shop_stock(world, simple[0]["id"], expected(world, simple[0]["sku"]))  # right already: not written
    results = by_code(sync_stock(stock_flow(world)))

    for article in simple:
        assert shop_stock(world, article["id"]) == expected(world, article["sku"]), article["sku"]
    assert simple[0]["sku"] not in results
    sent = results[simple[1]["sku"]]
    assert sent.outcome == "sent" and sent.target_key == str(simple[1]["id"])
    assert f"→ {expected(world, simple[1]['sku'])} (available − reserved = " in sent.reason
    record = world.links.latest(simple[1]["sku"], entity=ENTITY)
    assert record is not None and set(record.payload_in) >= {"available", "reserved", "formula"}
    assert world.links.find(ENTITY, simple[0]["sku"]) == Link(
        ENTITY, simple[0]["sku"], str(simple[0]["id"]), str(expected(world, simple[0]["sku"])))

    reset_calls(world)
    assert sync_stock(stock_flow(world)) == []
    assert shop_writes(world) == 0 and books_reads(world) == 1  # one page of stock fields, nothing else
    assert cycle_summary(world).startswith(f"{len(simple)} articles unchanged, 0 changed")


def test_a_stock_change_without_a_change_date_reaches_the_shop_alone(world: World) -> None:
    first_cycle(world)
    article = simple_articles(world)[3]
    code, changed_at = article["sku"], books_article(world, article["sku"])["CNG_DATE"]
    set_books_stock(world, code, QTY_AVAIL=5, QTY_RSRV=2)

    results = sync_stock(stock_flow(world))

    assert [r.key.partition("#")[0] for r in results] == [code]
    assert results[0].outcome == "sent" and "→ 3 (available − reserved = 3" in results[0].reason
    assert shop_stock(world, article["id"]) == 3 and shop_writes(world) == 1
    assert books_article(world, code)["CNG_DATE"] == changed_at
    assert world.links.find(ENTITY, code).payload_hash == "3"  # type: ignore[union-attr]
    record = world.links.latest(code, entity=ENTITY)
    assert record is not None and record.payload_in["available"] == "5" and record.payload_in["reserved"] == "2"


def test_the_products_flows_links_come_first_and_variants_get_their_own_stock(world: World) -> None:
    simple, product = simple_articles(world)[0], variant_article(world)
    other = simple_articles(world)[1]
    world.links.write("product", simple["sku"], str(other["id"]))  # the products flow linked it elsewhere
    variants = product["variants"][:2]
    for n, variant in enumerate(variants):
        add_books_article(world, f"{product['sku']}-V{n}", like=product["sku"], QTY_AVAIL=10 + n, QTY_RSRV=1)
        world.links.write("variant", f"{product['sku']}-V{n}", f"{product['id']}/{variant['id']}")
    world.links.write("product", "GROUP-1", str(product["id"]))  # a variant group's key: no article code

    results = by_code(sync_stock(stock_flow(world)))

    assert shop_stock(world, other["id"]) == expected(world, simple["sku"])
    assert results[simple["sku"]].target_key == str(other["id"]) and "by product link" in results[simple["sku"]].reason
    assert results[other["sku"]].outcome == "needs_attention"  # its SKU's shop article belongs to another
    assert f"shop article {other['id']} (SKU {other['sku']}) is linked to another" in results[other["sku"]].reason
    for n, variant in enumerate(variants):
        assert shop_stock(world, product["id"], variant["id"]) == 9 + n
        assert results[f"{product['sku']}-V{n}"].target_key == f"{product['id']}/{variant['id']}"
    assert world.links.find(ENTITY, f"{product['sku']}-V1") == Link(
        ENTITY, f"{product['sku']}-V1", f"{product['id']}/{variants[1]['id']}", "10")


def test_a_product_recreated_in_the_shop_gets_its_stock_although_the_value_did_not_change(world: World) -> None:
    first_cycle(world)
    simple, other = simple_articles(world)[0], simple_articles(world)[1]
    world.links.write("product", simple["sku"], str(other["id"]))

    results = by_code(sync_stock(stock_flow(world)))

    assert results[simple["sku"]].outcome == "sent" and shop_stock(world, other["id"]) == expected(world, simple["sku"])
    assert world.links.find(ENTITY, simple["sku"]).target_key == str(other["id"])  # type: ignore[union-attr]


def test_unmanaged_stock_is_unlimited_in_the_shop_for_all_or_per_article(world: World) -> None:
    simple = simple_articles(world)
    set_books_stock(world, simple[0]["sku"], STOCK_ART=False)
    set_books_stock(world, simple[1]["sku"], STOCK_ART=True)

    results = by_code(sync_stock(stock_flow(world, managed="per_article")))

    assert shop_stock(world, simple[0]["id"]) is None and shop_stock(world, simple[1]["id"]) == expected(
        world, simple[1]["sku"])
    assert "unlimited" in results[simple[0]["sku"]].reason
    assert world.links.find(ENTITY, simple[0]["sku"]).payload_hash == UNLIMITED  # type: ignore[union-attr]

    sync_stock(stock_flow(world, managed="none"))
    assert all(shop_stock(world, article["id"]) is None for article in simple)
    reset_calls(world)
    assert sync_stock(stock_flow(world, managed="none")) == [] and shop_writes(world) == 0


def test_an_unmanaged_variant_keeps_its_own_stock_said_once_and_gets_accountviews_when_managed_again(
        world: World) -> None:
    product = variant_article(world)
    variant, sibling = product["variants"][:2]
    sibling_stock, code = sibling["stock"], f"{product['sku']}-V0"
    add_books_article(world, code, like=product["sku"], QTY_AVAIL=7, QTY_RSRV=0, STOCK_ART=True)
    world.links.write("variant", code, f"{product['id']}/{variant['id']}")
    sync_stock(stock_flow(world, managed="per_article"))
    set_shop_stock(world, product["id"], 4)  # the article's own stock, for orders without a variant
    set_books_stock(world, code, STOCK_ART=False, QTY_AVAIL=30)
    reset_calls(world)

    results = by_code(sync_stock(stock_flow(world, managed="per_article")))

    said = results[code]
    assert said.outcome == "skipped" and shop_writes(world) == 0  # the shop has no unlimited variant to make
    assert (f"AccountView article {code}'s stock is not managed (ARTICLE.STOCK_ART false), but the shop has no "
            f"unlimited stock for a variant: shop article {product['id']}, variant {variant['id']} keeps its own"
            ) in said.reason
    assert shop_stock(world, product["id"], variant["id"]) == 7 and shop_stock(world, product["id"]) == 4
    record = world.links.latest(code, entity=ENTITY)
    assert record is not None and setting_to_fix(as_args(record.reason)) == "managed"
    assert world.links.find(ENTITY, code).payload_hash == UNLIMITED  # type: ignore[union-attr]
    assert sync_stock(stock_flow(world, managed="per_article")) == []  # said once
    assert code not in by_code(sync_stock(stock_flow(world, managed="per_article", compare_with="shop")))
    assert shop_writes(world) == 0 and shop_stock(world, product["id"], sibling["id"]) == sibling_stock

    set_books_stock(world, code, STOCK_ART=True)
    back = by_code(sync_stock(stock_flow(world, managed="per_article")))
    assert back[code].outcome == "sent" and f"stock {UNLIMITED} → 30 (" in back[code].reason
    assert shop_stock(world, product["id"], variant["id"]) == 30 and shop_stock(world, product["id"]) == 4


def test_formulas_and_unit_factors(world: World) -> None:
    first_cycle(world)
    a, b, c = (article["sku"] for article in simple_articles(world)[:3])
    ids = {article["sku"]: article["id"] for article in simple_articles(world)[:3]}
    set_books_stock(world, a, QTY_AVAIL=40, QTY_RSRV=5, QTY_FREE2=31.7, QTY_TECH=44)
    set_books_stock(world, b, QTY_AVAIL=3, QTY_RSRV=9, QTY_FREE2=-2, QTY_TECH=10)
    set_books_stock(world, c, QTY_AVAIL=2.5, QTY_RSRV=0, QTY_FREE2=2.5, QTY_TECH=2.5)

    sync_stock(stock_flow(world, formula="free", unit_factors={c: "1/12"}))
    assert [shop_stock(world, ids[code]) for code in (a, b, c)] == [31, 0, 30]

    results = by_code(sync_stock(stock_flow(world, formula="custom", expression="$max([available - reserved - 2, 0])")))
    assert [shop_stock(world, ids[code]) for code in (a, b)] == [33, 0]
    assert "$max([available - reserved - 2, 0]) = 33" in results[a].reason


def test_bad_figures_park_their_article_by_name_and_the_rest_go_on(world: World) -> None:
    first_cycle(world)
    simple = simple_articles(world)
    empty, word, absurd, fine = (article["sku"] for article in simple[:4])
    set_books_stock(world, empty, QTY_AVAIL="")
    set_books_stock(world, word, QTY_RSRV="veel")
    set_books_stock(world, absurd, QTY_AVAIL=1e12)
    set_books_stock(world, fine, QTY_AVAIL=1, QTY_RSRV=0)

    results = by_code(sync_stock(stock_flow(world)))

    assert results[fine].outcome == "sent" and shop_stock(world, simple[3]["id"]) == 1
    reasons = {code: results[code].reason for code in (empty, word, absurd)}
    assert all(results[code].outcome == "needs_attention" for code in reasons)
    assert f"AccountView article {empty}: the available stock (ARTICLE.QTY_AVAIL) is empty" in reasons[empty]
    assert "reserved stock (ARTICLE.QTY_RSRV)" in reasons[word] and "'veel'" in reasons[word]
    assert "1000000000000" in reasons[absurd] and "max_stock" in reasons[absurd]
    assert shop_writes(world) == 1


def test_the_same_code_twice_in_accountview_or_a_sku_twice_in_the_shop_is_parked(world: World) -> None:
    simple = simple_articles(world)
    twice = simple[0]["sku"]
    add_books_article(world, f"{twice}~copy", like=twice, ART_CODE=twice)  # a second row, the same code
    add_shop_article(world, like=simple[1], sku=f" {simple[1]['sku'].lower()}")

    results = by_code(sync_stock(stock_flow(world)))

    assert results[twice].outcome == "needs_attention" and f"lists article code {twice} twice" in results[twice].reason
    assert results[simple[1]["sku"]].outcome == "needs_attention"
    assert f"the shop has SKU {simple[1]['sku']} on 2 articles" in results[simple[1]["sku"]].reason
    assert results[simple[2]["sku"]].outcome == "sent"


def test_shop_articles_without_an_accountview_article_are_named_on_a_full_cycle(world: World) -> None:
    stray = add_shop_article(world, like=simple_articles(world)[0], sku="NOT-IN-BOOKS", stock=4)

    results = by_code(sync_stock(stock_flow(world)))

    assert results[f"shop:{stray['id']}"].outcome == "skipped"
    assert "SKU NOT-IN-BOOKS" in results[f"shop:{stray['id']}"].reason
    assert shop_stock(world, stray["id"]) == 4
    assert sync_stock(stock_flow(world)) == []  # said once, not every minute


def test_last_sent_trusts_what_was_sent_and_full_or_compare_with_shop_repair_hand_edits(world: World) -> None:
    first_cycle(world)
    article = simple_articles(world)[0]
    set_shop_stock(world, article["id"], 999)  # edited by hand in the shop

    assert sync_stock(stock_flow(world)) == [] and shop_reads(world) <= 2  # no full shop read
    assert shop_stock(world, article["id"]) == 999

    results = by_code(sync_stock(stock_flow(world), full=True))
    assert f"stock 999 → {expected(world, article['sku'])}" in results[article["sku"]].reason
    set_shop_stock(world, article["id"], 998)
    sent = [r for r in sync_stock(stock_flow(world, compare_with="shop")) if r.outcome == "sent"]
    assert [r.key.partition("#")[0] for r in sent] == [article["sku"]]
    assert shop_stock(world, article["id"]) == expected(world, article["sku"])


def test_a_shop_article_gone_from_the_shop_is_parked_naming_its_link(world: World) -> None:
    first_cycle(world)
    article = simple_articles(world)[0]
    with world.shop_sandbox.state.lock:
        del world.shop_sandbox.state.articles[article["id"]]
    set_books_stock(world, article["sku"], QTY_AVAIL=1, QTY_RSRV=0)

    result = by_code(sync_stock(stock_flow(world)))[article["sku"]]

    assert result.outcome == "needs_attention"
    assert f"shop article {article['id']} (stock link of AccountView article {article['sku']}) is gone" in result.reason


def test_a_unit_whose_cycle_is_gone_writes_nothing_and_the_next_cycle_sends(world: World) -> None:
    first_cycle(world)
    article = simple_articles(world)[0]
    set_books_stock(world, article["sku"], QTY_AVAIL=2, QTY_RSRV=0)
    flow = stock_flow(world)
    keys = [key for key, _ in flow.fetch("2026-11-30T00:00:00+00:00")]

    record = stock_flow(world).sync(keys[0])  # another process: this cycle's figures are not here

    assert record.outcome == "skipped" and "next stock cycle" in record.reason and shop_writes(world) == 0
    assert shop_stock(world, article["id"]) != 2
    sync_stock(stock_flow(world))
    assert shop_stock(world, article["id"]) == 2


def test_an_order_lowers_the_shops_stock_through_its_reservation(world: World) -> None:
    """Shop order → orders flow → AccountView sales order → reservation → stock cycle → the shop's stock."""
    sync_orders(world.flow())  # the shop's earlier orders are booked
    first_cycle(world)
    article = simple_articles(world)[5]
    code = article["sku"]
    before = shop_stock(world, article["id"])
    reserved = float(books_article(world, code)["QTY_RSRV"] or 0)
    # placed as the shop's checkout places it (POST /orders): the shop's own stock goes down at once
    placed = build_order(world.shop_sandbox.state, {
        "status": 3,
        "debtor": {"email": "voorraad@example.nl",
                   "address": {"invoice": {"name": "Vera Voorraad", "zipcode": "1234AB", "country_code": "NL"}}},
        "orderlines": [{"type": "article", "quantity": 3, "articles": [{"id": article["id"]}]}],
        "payment": {"gateway_name": "mollie", "method_name": "ideal"},
    })
    assert shop_stock(world, article["id"]) == before - 3  # type: ignore[operator]

    orders = {r.key: r for r in sync_orders(world.flow())}
    assert orders[str(placed["number"])].outcome == "sent"
    assert float(books_article(world, code)["QTY_RSRV"]) == reserved + 3

    results = by_code(sync_stock(stock_flow(world)))

    assert shop_stock(world, article["id"]) == expected(world, code) == before - 3  # type: ignore[operator]
    assert results[code].reason.startswith(f"stock {before} → {before - 3}")  # type: ignore[operator]


def test_a_unit_factor_from_the_merchants_own_article_field() -> None:
    profile = AccountViewProfile(table_layouts={"ARTICLE.PACK_CONT": FieldLayout(type="N", length=5)})
    world = start_world(articles=6, orders=0, profile=profile)
    try:
        six, blank, bad = (article["sku"] for article in simple_articles(world)[:3])
        set_books_stock(world, six, QTY_AVAIL=44, QTY_RSRV=0, PACK_CONT=6)
        set_books_stock(world, blank, QTY_AVAIL=5, QTY_RSRV=0, PACK_CONT=0)  # 0 or empty: sold per piece
        set_books_stock(world, bad, QTY_AVAIL=5, QTY_RSRV=0, PACK_CONT=-2)

        results = by_code(sync_stock(stock_flow(world, unit_factor_field="pack_cont")))

        assert shop_stock(world, shop_article(world, six)["id"]) == 7  # 44 pieces are 7 packs of six
        assert "÷ 6 per shop unit" in results[six].reason
        assert shop_stock(world, shop_article(world, blank)["id"]) == 5
        assert results[bad].outcome == "needs_attention" and "ARTICLE.PACK_CONT" in results[bad].reason

        missing = run_here(STOCK, stock_flow(world, unit_factor_field="NO_SUCH"), world.links)
        assert "NO_SUCH" in missing.error  # the run stops, naming the field AccountView does not know
    finally:
        world.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cycles_on_the_database_links_write_only_what_changed(world: World) -> None:
    links = EngineLinks(integration("stock-db"))
    flow = StockFlow(world.shop, world.books, StockSettings(), links)
    article = simple_articles(world)[0]
    first = run_here(STOCK, flow, links)
    assert not first.error and first.counts["sent"] == len(simple_articles(world))
    assert links.find(ENTITY, article["sku"]) == Link(
        ENTITY, article["sku"], str(article["id"]), str(expected(world, article["sku"])))

    set_books_stock(world, article["sku"], QTY_AVAIL=3, QTY_RSRV=1)
    reset_calls(world)
    again = run_here(STOCK, StockFlow(world.shop, world.books, StockSettings(), links), links)

    assert [r.key.partition("#")[0] for r in again.results if r.outcome == "sent"] == [article["sku"]]
    assert shop_stock(world, article["id"]) == 2 and shop_writes(world) == 1
    assert links.find(ENTITY, article["sku"]).payload_hash == "2"  # type: ignore[union-attr]


def test_the_sandboxs_bad_articles_are_each_parked_with_their_reason(world: World) -> None:
    made = world.books_sandbox.add_bad_articles(["stock_empty", "stock_text", "stock_absurd", "duplicate_code"])
    for case in ("stock_empty", "stock_text", "stock_absurd"):  # in the shop, as the products flow made them
        code = made[case][0]
        add_shop_article(world, like=simple_articles(world)[0], sku=code)
    twin = made["duplicate_code"][0]  # the first article's code in other letters: one SKU, two articles

    results = by_code(sync_stock(stock_flow(world)))

    assert "available stock (ARTICLE.QTY_AVAIL) is empty" in results[made["stock_empty"][0]].reason
    assert "'veel'" in results[made["stock_text"][0]].reason
    assert "beyond any plausible quantity" in results[made["stock_absurd"][0]].reason
    assert all(results[made[case][0]].outcome == "needs_attention" for case in made)
    assert f"SKU {twin.upper()} matches 2 AccountView articles" in results[twin].reason
    assert results[twin.upper()].outcome == "needs_attention"  # the one it copies is parked too
    assert results[simple_articles(world)[1]["sku"]].outcome == "sent"
