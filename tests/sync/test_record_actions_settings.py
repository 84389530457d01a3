"""Which setting fixes a reason (`record_actions.settings_to_fix`): the flow's own by its name, another flow's
as "<flow>.<setting>" (the stock flow follows the products flow's `blocked`), nothing for a setting no flow has."""

from __future__ import annotations

import pytest

from koppel.flows.stock import BLOCKED_SETTING
from koppel.reasons import as_args, fixed_in, reason
from koppel.sync import record_actions

BLOCKED = reason("AccountView article {code} is blocked: no stock sent; {done} (products setting blocked: {rule})",
                 code="SHIRT-0001", done="hidden in the shop", rule="hide")


def fixing(flow: str, setting: str) -> list[str]:
    why = fixed_in(setting, BLOCKED)
    return record_actions.settings_to_fix(flow, why, as_args(why))


def test_the_stock_flows_blocked_article_is_fixed_in_the_products_settings() -> None:
    assert BLOCKED_SETTING == "products.blocked"
    assert fixing("stock", BLOCKED_SETTING) == ["products.blocked"]


def test_a_flows_own_setting_is_named_plainly_however_it_is_written() -> None:
    assert fixing("stock", "managed") == ["managed"]
    assert fixing("stock", "stock.managed") == ["managed"]
    assert fixing("products", "products.blocked") == ["blocked"]


@pytest.mark.parametrize("setting", ["products.managed", "orders.blocked", "warehouse.blocked", "blocked"])
def test_a_setting_the_named_flow_does_not_have_gets_no_link(setting: str) -> None:
    """`managed` is the stock flow's, not products'; there is no warehouse flow; the stock flow has no `blocked`
    of its own: a link to any of them would open a page without the question."""
    assert fixing("stock", setting) == []


def test_a_reason_without_a_stored_setting_names_only_the_flows_own_settings_from_its_text() -> None:
    text = "see blocked, managed and products.blocked"
    assert record_actions.settings_to_fix("stock", text, None) == ["managed"]
