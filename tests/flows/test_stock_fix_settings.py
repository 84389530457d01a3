"""Each reason the stock flow parks an article with names the stock setting that decides it, so the dashboard's
"fix it in the settings" lands on that setting: the formula (or the custom expression) for a figure it reads,
max_stock for an absurd figure or result, managed for a missing stock-managed flag, the unit factors, and
match_on_sku for what matching on SKU ran into. A reason no setting fixes (a code twice in AccountView, a shop
article gone, the cycle's summary, a shop-only article) names none, not even by a word of its text."""

from __future__ import annotations

from typing import Any

import pytest

from koppel.flows.stock import StockFlow
from koppel.flows.stock_settings import StockSettings
from koppel.reasons import as_args, setting_to_fix
from koppel.sync import record_actions
from koppel.sync.runner import Result
from tests.flows.stock_world import (
    add_books_article,
    add_shop_article,
    by_code,
    cycle_summary,
    set_books_stock,
    simple_articles,
    stock_flow,
    sync_stock,
    variant_article,
)
from tests.flows.world import World


def fixed_in(result: Result) -> str:
    """The setting the dashboard links a parked record to, after checking it is the flow's own setting."""
    assert result.outcome == "needs_attention", (result.key, result.outcome, result.reason)
    named = setting_to_fix(result.reason_args)
    assert record_actions.settings_to_fix("stock", result.reason, result.reason_args) == ([named] if named else [])
    return named


def parked(world: World, code: str, **settings: Any) -> Result:
    return by_code(sync_stock(stock_flow(world, **settings)))[code]


@pytest.mark.parametrize(("columns", "settings", "setting"), [
    ({"QTY_AVAIL": ""}, {}, "formula"),                                     # a figure the formula reads, empty
    ({"QTY_RSRV": "veel"}, {}, "formula"),                                  # … not a number
    ({"QTY_FREE2": ""}, {"formula": "free"}, "formula"),
    ({"QTY_AVAIL": ""}, {"formula": "custom", "expression": "available - 1"}, "expression"),
    ({"QTY_AVAIL": 500, "QTY_RSRV": 0},  # a result the expression gives that is no number
     {"formula": "custom", "expression": "available > 100 ? 'many' : available"}, "expression"),
    ({"QTY_AVAIL": 1e12}, {}, "max_stock"),                                 # a figure beyond any plausible one
    ({"QTY_AVAIL": 90, "QTY_RSRV": 0}, {"max_stock": 50}, "max_stock"),    # a result beyond max_stock
    ({"STOCK_ART": None}, {"managed": "per_article"}, "managed"),           # whether AccountView keeps its stock
    ({"QTY_TECH": -2}, {"unit_factor_field": "QTY_TECH"}, "unit_factor_field"),
])
def test_a_figure_the_settings_read_parks_its_article_naming_that_setting(
        world: World, columns: dict[str, Any], settings: dict[str, Any], setting: str) -> None:
    article, fine = simple_articles(world)[:2]
    set_books_stock(world, article["sku"], **columns)

    results = by_code(sync_stock(stock_flow(world, **settings)))

    assert fixed_in(results[article["sku"]]) == setting
    assert results[fine["sku"]].outcome == "sent"  # the rest go on


def test_a_unit_factor_of_the_settings_that_is_no_factor_names_unit_factors(world: World) -> None:
    """Saving refuses such a factor; settings written before that rule (or by hand) still park, not crash."""
    code = simple_articles(world)[0]["sku"]
    settings = StockSettings().model_copy(update={"unit_factors": {code: "0"}})
    flow = StockFlow(world.shop, world.books, settings, world.links)

    result = by_code(sync_stock(flow))[code]

    assert fixed_in(result) == "unit_factors" and f"unit_factors[{code}]" in result.reason


def test_what_matching_on_sku_runs_into_names_match_on_sku(world: World) -> None:
    simple = simple_articles(world)
    twice_in_shop, linked_elsewhere, twin = simple[0], simple[1], simple[2]
    add_shop_article(world, like=twice_in_shop, sku=f" {twice_in_shop['sku'].lower()}")
    world.links.write("product", simple[3]["sku"], str(linked_elsewhere["id"]))
    add_books_article(world, twin["sku"].lower(), like=twin["sku"])  # one SKU, two AccountView articles
    with_variants = variant_article(world)["sku"]

    results = by_code(sync_stock(stock_flow(world)))

    assert "on 2 articles" in results[twice_in_shop["sku"]].reason
    assert "is linked to another AccountView article" in results[linked_elsewhere["sku"]].reason
    assert "matches 2 AccountView articles" in results[twin["sku"]].reason
    assert "has variants" in results[with_variants].reason
    for code in (twice_in_shop["sku"], linked_elsewhere["sku"], twin["sku"], twin["sku"].lower(), with_variants):
        assert fixed_in(results[code]) == "match_on_sku", code


def test_what_no_setting_fixes_names_none(world: World) -> None:
    simple = simple_articles(world)
    twice = simple[0]["sku"]
    add_books_article(world, f"{twice}~copy", like=twice, ART_CODE=twice)  # a second row, the same code
    world.links.write("product", simple[1]["sku"], "987654")  # the products flow's article, not in the shop
    stray = add_shop_article(world, like=simple[2], sku="NOT-IN-BOOKS")

    results = by_code(sync_stock(stock_flow(world)))

    assert fixed_in(results[twice]) == ""
    assert "is not in the shop" in results[simple[1]["sku"]].reason and fixed_in(results[simple[1]["sku"]]) == ""
    shop_only = results[f"shop:{stray['id']}"]
    assert shop_only.outcome == "skipped"
    assert record_actions.settings_to_fix("stock", shop_only.reason, shop_only.reason_args) == []
    summary = world.links.latest("(cycle)", entity="stock")
    assert summary is not None and "shop stock = available − reserved" in cycle_summary(world)
    assert as_args(summary.reason) is not None  # a reason, so the dashboard reads its form, not only its words
    assert record_actions.settings_to_fix("stock", summary.reason, as_args(summary.reason)) == []


def test_a_shop_article_gone_when_written_names_no_setting(world: World) -> None:
    article = simple_articles(world)[0]
    sync_stock(stock_flow(world))
    with world.shop_sandbox.state.lock:
        del world.shop_sandbox.state.articles[article["id"]]
    set_books_stock(world, article["sku"], QTY_AVAIL=1, QTY_RSRV=0)

    result = parked(world, article["sku"])

    assert "is gone from the shop" in result.reason and fixed_in(result) == ""
