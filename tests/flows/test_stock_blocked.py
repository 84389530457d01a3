"""The stock flow keeps to the products flow's rule for an article blocked in AccountView (its setting
`blocked`), against both sandboxes with both flows running: under "hide" a blocked variant or simple article
stays unorderable however AccountView's stock moves (the shop refuses an order of it), under "leave" the
stock flow writes nothing to it; each is said once, and unblocking sends AccountView's stock again. The
rule is read from the integration's products settings."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxError
from koppel.flows.links import MemoryLinks
from koppel.flows.stock import BLOCKED_MARKS, ENTITY, STOCK, StockFlow, products_blocked
from koppel.flows.stock_settings import StockSettings
from koppel.reasons import as_args, setting_to_fix
from koppel.sync.clients import IntegrationClients
from koppel.sync.runner import Result
from tests.flows.products_world import ProductsWorld, start_products_world
from tests.flows.stock_world import by_code, sync_stock
from tests.flows.test_products_variant_shape import order

BLOCKED = "SHIRT-0001-ROOD-M"  # its colour and size are on other shirts too: its combination stays under "hide"


@pytest.fixture(params=["hide", "leave"])
def world(request: pytest.FixtureRequest) -> Iterator[ProductsWorld]:
    """Products synced under the rule, and a first stock cycle: every linked article has AccountView's stock.
    SHIRT-0001's shop article has unlimited stock, as the products flow makes a variant product; its variants
    keep their own (the sandbox's default reading)."""
    world = start_products_world(articles=40)
    world.settings["blocked"] = request.param
    summary = world.sync()
    assert summary.counts["needs_attention"] == 0, summary.parked
    assert world.shop_article("SHIRT-0001")["stock"] is None
    stock_cycle(world)
    yield world
    world.stop()


def stock_cycle(world: ProductsWorld, *, full: bool = False) -> dict[str, Result]:
    flow = StockFlow(world.shop, world.books, StockSettings(), world.links, blocked=world.settings["blocked"])
    return by_code(sync_stock(flow, full=full))


def set_books_stock(world: ProductsWorld, code: str, available: int) -> None:
    """Stock moving in AccountView's warehouse (no reservations): the article's change date stays."""
    world.force(code, QTY_AVAIL=available, QTY_RSRV=0)


def shop_holder(world: ProductsWorld, code: str) -> dict[str, Any]:
    """The shop article or variant the products flow linked the AccountView article to (a copy)."""
    link = world.links.find("variant", code) or world.links.find("product", code)
    assert link is not None, code
    article_id, _, variant_id = link.target_key.partition("/")
    with world.shop_sandbox.state.lock:
        article = world.shop_sandbox.state.articles[int(article_id)]
        if not variant_id:
            return dict(article)
        return dict(next(v for v in article["variants"] if v["id"] == int(variant_id)))


def block(world: ProductsWorld, code: str, blocked: bool = True) -> None:
    """Blocked (or unblocked) in AccountView, and the products flow has run since."""
    world.change(code, REC_BLK=blocked)
    summary = world.sync()
    assert summary.counts["needs_attention"] == 0, summary.parked


def order_variant(world: ProductsWorld) -> None:
    order(world, world.shop_article("SHIRT-0001")["id"], "rood", "M")


def simple_code(world: ProductsWorld) -> str:
    """An AccountView article the products flow made a simple shop article of."""
    variant_products = set(world.links.source_keys("variant-product"))
    return next(code for code in sorted(world.links.source_keys("product")) if code not in variant_products)


def order_simple(world: ProductsWorld, code: str) -> None:
    order(world, int(world.links.find("product", code).target_key), "", "")  # type: ignore[union-attr]


def said(world: ProductsWorld, result: Result) -> str:
    """The reason of a blocked article's record, checked to name the products setting that decides it (in the
    activity's stored form, where the dashboard reads it)."""
    code = result.key.partition("#")[0]
    assert result.reason.startswith(f"AccountView article {code} is blocked: no stock sent; ")
    assert result.reason.endswith(f"(products setting blocked: {world.settings['blocked']})"), result.reason
    activity = world.links.latest(code, entity=ENTITY)
    assert activity is not None and setting_to_fix(as_args(activity.reason)) == "products.blocked"
    return result.reason


def test_a_blocked_variant_gets_none_of_accountviews_stock(world: ProductsWorld) -> None:
    rule = world.settings["blocked"]
    before = shop_holder(world, BLOCKED)
    block(world, BLOCKED)
    set_books_stock(world, BLOCKED, 25)

    results = stock_cycle(world)

    assert list(results) == [BLOCKED], results
    assert results[BLOCKED].outcome == "skipped"  # hide: the products flow made it unorderable already
    now = shop_holder(world, BLOCKED)
    if rule == "hide":
        assert "could not be ordered already (stock 0, no backorder)" in said(world, results[BLOCKED])
        assert now["stock"] == 0 and not now["can_backorder"]
        with pytest.raises(SandboxError, match="Insufficient stock"):
            order_variant(world)
    else:
        assert ", variant " in said(world, results[BLOCKED]) and " is left as it is (" in results[BLOCKED].reason
        assert now == before and now["stock"] != 25
        order_variant(world)  # orderable as it was
        now = shop_holder(world, BLOCKED)
    assert world.links.find(ENTITY, BLOCKED).payload_hash == BLOCKED_MARKS[rule]  # type: ignore[union-attr]

    set_books_stock(world, BLOCKED, 30)  # it moves again while blocked: nothing to say, nothing written
    calls = world.writes()
    assert stock_cycle(world) == {}
    assert world.writes() == calls and shop_holder(world, BLOCKED) == now


def test_a_blocked_variant_made_orderable_in_the_shop_is_stopped_again_by_a_shop_read_under_hide(
        world: ProductsWorld) -> None:
    rule = world.settings["blocked"]
    block(world, BLOCKED)
    stock_cycle(world)
    article_id = world.shop_article("SHIRT-0001")["id"]
    with world.shop_sandbox.state.lock:  # someone sets its stock by hand in the shop
        variant = next(v for v in world.shop_sandbox.state.articles[article_id]["variants"]
                       if v["id"] == shop_holder(world, BLOCKED)["id"])
        variant.update(stock=6, can_backorder=True)

    assert stock_cycle(world) == {}  # the values last sent: the shop is not read
    results = stock_cycle(world, full=True)  # the shop's own figures

    if rule == "hide":
        assert "can't be ordered now: stock 6 → 0, no backorder" in said(world, results[BLOCKED])
        assert results[BLOCKED].outcome == "sent"
        assert shop_holder(world, BLOCKED)["stock"] == 0 and not shop_holder(world, BLOCKED)["can_backorder"]
        with pytest.raises(SandboxError, match="Insufficient stock"):
            order_variant(world)
    else:
        assert BLOCKED not in results
        assert shop_holder(world, BLOCKED)["stock"] == 6


def test_an_unblocked_variant_gets_accountviews_stock_again(world: ProductsWorld) -> None:
    block(world, BLOCKED)
    stock_cycle(world)
    set_books_stock(world, BLOCKED, 12)
    block(world, BLOCKED, blocked=False)

    results = stock_cycle(world)

    assert results[BLOCKED].outcome == "sent", results[BLOCKED].reason
    assert f"stock {BLOCKED_MARKS[world.settings['blocked']]} → 12 (" in results[BLOCKED].reason
    assert shop_holder(world, BLOCKED)["stock"] == 12
    order_variant(world)
    assert stock_cycle(world) == {}


def test_a_blocked_simple_article_likewise(world: ProductsWorld) -> None:
    rule = world.settings["blocked"]
    code = simple_code(world)
    set_books_stock(world, code, 9)
    stock_cycle(world)
    with world.shop_sandbox.state.lock:  # sold when out of stock too
        world.shop_sandbox.state.articles[int(world.links.find("product", code).target_key)][  # type: ignore[union-attr]
            "can_backorder"] = True
    block(world, code)
    set_books_stock(world, code, 40)

    results = stock_cycle(world)

    if rule == "hide":  # the products flow hid it; its stock (and backorder) would still take an order
        assert results[code].outcome == "sent"
        assert "can't be ordered now: stock 9 → 0, no backorder" in said(world, results[code])
        assert shop_holder(world, code)["stock"] == 0 and not shop_holder(world, code)["can_backorder"]
        with pytest.raises(SandboxError, match="Insufficient stock"):
            order_simple(world, code)
    else:
        assert results[code].outcome == "skipped" and " is left as it is (" in said(world, results[code])
        assert shop_holder(world, code)["stock"] == 9
    assert stock_cycle(world) == {}

    block(world, code, blocked=False)
    back = stock_cycle(world)
    assert back[code].outcome == "sent" and shop_holder(world, code)["stock"] == 40
    order_simple(world, code)


def take_orders(world: ProductsWorld, code: str) -> int:
    """The variant's own figures take orders again (as under "leave"), its article's stock unlimited."""
    article_id = world.shop_article("SHIRT-0001")["id"]
    with world.shop_sandbox.state.lock:
        article = world.shop_sandbox.state.articles[article_id]
        assert article["stock"] is None
        next(v for v in article["variants"] if v["id"] == shop_holder(world, code)["id"]).update(
            stock=3, can_backorder=False)
    return int(article_id)


def test_a_blocked_variant_of_an_article_with_unlimited_stock_is_unorderable_under_hide_only(
        world: ProductsWorld) -> None:
    rule = world.settings["blocked"]
    block(world, BLOCKED)
    set_books_stock(world, BLOCKED, 25)
    article_id = take_orders(world, BLOCKED)

    results = stock_cycle(world)

    now = shop_holder(world, BLOCKED)
    if rule == "hide":  # the variant's own figures decide: the article's unlimited stock does not free it
        assert results[BLOCKED].outcome == "sent"
        assert ("can't be ordered now: stock 3 → 0, no backorder, unless the shop counts the unlimited stock of "
                f"shop article {article_id} for every variant") in said(world, results[BLOCKED])
        assert now["stock"] == 0 and not now["can_backorder"]
        with pytest.raises(SandboxError, match="Insufficient stock"):
            order_variant(world)
    else:
        assert results[BLOCKED].outcome == "skipped" and now["stock"] == 3
        order_variant(world)
        assert shop_holder(world, BLOCKED)["stock"] == 2  # the order took the variant's own stock
    assert world.shop_article("SHIRT-0001")["stock"] is None  # the article's is left alone
    assert stock_cycle(world) == {}  # said once


def test_under_a_shop_reading_an_unlimited_article_as_every_variants_a_hidden_variant_is_still_sold(
        world: ProductsWorld) -> None:
    """The sandbox's quirk `article_stock_null_frees_variants`: the flow can't tell such a shop from the API,
    so it does the same there; its record's note says what such a shop does, and the order shows it."""
    rule = world.settings["blocked"]
    world.shop_sandbox.state.quirks.update({"article_stock_null_frees_variants": True})
    block(world, BLOCKED)
    article_id = take_orders(world, BLOCKED)

    results = stock_cycle(world)

    if rule == "hide":
        assert f"unless the shop counts the unlimited stock of shop article {article_id} for every variant" in said(
            world, results[BLOCKED])
        assert shop_holder(world, BLOCKED)["stock"] == 0 and not shop_holder(world, BLOCKED)["can_backorder"]
    else:
        assert results[BLOCKED].outcome == "skipped" and shop_holder(world, BLOCKED)["stock"] == 3
    stock = shop_holder(world, BLOCKED)["stock"]
    order_variant(world)  # taken under either rule: the shop frees every variant of an unlimited article
    assert shop_holder(world, BLOCKED)["stock"] == stock  # and takes none of the variant's own stock


def test_the_rule_is_the_integrations_products_setting() -> None:
    assert products_blocked(None) == "hide"  # the products flow not set up: ProductsSettings' default
    assert products_blocked({}) == "hide"
    assert products_blocked({"blocked": "leave"}) == "leave"
    # The products settings invalid otherwise (that flow refuses to run): the merchant's choice still stands.
    assert products_blocked({"blocked": "leave", "select": "groups"}) == "leave"
    assert products_blocked({"blocked": "delete"}) == "hide"

    books = SimpleNamespace(profile=AccountViewProfile())
    for flows, rule in (({"products": {"blocked": "leave"}}, "leave"), ({"stock": {}}, "hide")):
        wiring = IntegrationClients(1, cast(Any, None), cast(Any, books), flows, {})
        flow = STOCK.open(wiring, StockSettings(), MemoryLinks())
        assert cast(StockFlow, flow).blocked == rule
