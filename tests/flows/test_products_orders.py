"""Orders of variant products: a shop line names the product and its chosen options, not the variant's
code; the orders flow finds the AccountView article through the products links, or parks naming the
combination."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from koppel.demo import ORDER_SETTINGS, add_cost_articles
from koppel.flows.orders import ORDERS, OrdersFlow
from koppel.flows.settings import OrdersSettings
from koppel.sync.runner import run_here
from tests.flows.products_world import ProductsWorld, start_products_world


@pytest.fixture(scope="module")
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=60)
    add_cost_articles(world.books)
    summary = world.sync()
    assert summary.counts["needs_attention"] == 0, summary.parked
    yield world
    world.stop()


def order_of(world: ProductsWorld, colour: str, size: str) -> str:
    """A paid order of one SHIRT-0001 in this colour and size; returns its number."""
    shirt = world.shop_article("SHIRT-0001")
    chosen = [{"list_option_id": option["id"]} for entry in shirt["lists"] for option in entry["options"]
              if option["name"] in (colour, size)]
    body: dict[str, Any] = {
        "debtor": {"email": f"shirt.{colour}.{size}@example.nl", "address": {"invoice": {
            "name": "Sanne de Vries", "street": "Kerkstraat", "number": "12", "zipcode": "1011 AB",
            "city": "Amsterdam", "country_code": "NL"}}},
        "orderlines": [{"type": "article", "quantity": 2, "articles": [{"id": shirt["id"], "options": chosen}]}],
        "status": ORDER_SETTINGS["statuses"][0],
    }
    order = world.shop_sandbox.compose_order(body)
    world.shop_sandbox.add_order(order)
    return str(order["number"])


def test_a_variant_line_is_booked_on_the_variants_own_article(world: ProductsWorld) -> None:
    number = order_of(world, "rood", "M")
    flow = OrdersFlow(world.shop, world.books, OrdersSettings.model_validate(ORDER_SETTINGS), world.links)
    result = next(r for r in run_here(ORDERS, flow, world.links).results if r.key == number)
    assert result.outcome == "sent", result.reason
    lines = world.books_sandbox.rows("SO_LINE", ORD_NR=result.target_key)
    assert "SHIRT-0001-ROOD-M" in {line["ART_CODE"] for line in lines}


def test_a_combination_without_an_accountview_article_parks_naming_it(world: ProductsWorld) -> None:
    world.books_sandbox_add("SHIRT-0001-GROEN-M", "SHIRT-0001", colour="groen", size="M")
    assert world.sync().counts["needs_attention"] == 0
    number = order_of(world, "groen", "L")  # the shop offers groen L (lists are a cross product); AV has no such shirt
    flow = OrdersFlow(world.shop, world.books, OrdersSettings.model_validate(ORDER_SETTINGS), world.links)
    result = next(r for r in run_here(ORDERS, flow, world.links).results if r.key == number)
    assert result.outcome == "needs_attention"
    assert "groen" in result.reason and "L" in result.reason and "not linked to an AccountView article" in result.reason
