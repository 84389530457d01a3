"""Credit orders: parked by default; with `credit_orders = "book"` booked once as a credit of the original's
document in AccountView (a sales order or invoice with negative amounts), for the original's debtor, whatever
the credit order itself says about the customer, and referring to the original."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from koppel.connectors.accountview.sandbox.documents import amounts_of
from koppel.connectors.mijnwebwinkel.sandbox.orders import build_credit_order
from koppel.demo import PAID
from tests.flows.test_orders import eligible
from tests.flows.world import World, sync_orders

CREDITED = 10  # the shop sandbox's credit-order status "Gecrediteerd"


def credit(world: World, original: dict[str, Any], *, email: str = "iemand.anders@example.nl") -> str:
    """A credit order for the original's first article line (one unit) and its shipping, as the shop makes it;
    its customer e-mail changed, to show the original's debtor is used."""
    line = next(line for line in original["orderlines"] if line["type"] == "article")
    order = build_credit_order(
        world.shop_sandbox.state,
        {"credited_order_number": original["number"], "status": CREDITED,
         "orderlines": [{"type": "article", "quantity": 1, "articles": [{"id": line["articles"][0]["id"]}]}]},
        mutate=False,
    )  # fmt: skip
    order["debtor"] = {**order["debtor"], "email": email}
    return str(order["number"])


def original_order(world: World, sent: list[str] | None = None) -> dict[str, Any]:
    return next(
        o
        for o in eligible(world)
        if not o.get("tax_strategy")
        and any(x["type"] == "article" for x in o["orderlines"])
        and (sent is None or str(o["number"]) in sent)
    )


def test_credit_orders_are_parked_by_default_naming_the_setting(world: World) -> None:
    original = original_order(world)
    number = credit(world, original)
    results = {r.key: r for r in sync_orders(world.flow(statuses=[*PAID, CREDITED]), full=True)}
    assert results[number].outcome == "needs_attention"
    assert "credit_orders" in results[number].reason and str(original["number"]) in results[number].reason
    assert world.sales_orders(number) == 0


@pytest.mark.parametrize("write_as", ["sales_order", "invoice"])
def test_a_credit_is_booked_once_for_the_originals_debtor_referring_to_its_document(
    world: World, write_as: str
) -> None:
    flow = world.flow(statuses=[*PAID, CREDITED], credit_orders="book", write_as=write_as)
    first = {r.key: r for r in sync_orders(flow, full=True)}
    original = original_order(world, sent=[key for key, r in first.items() if r.outcome == "sent"])
    document = first[str(original["number"])].target_key
    number = credit(world, original)

    results = {r.key: r for r in sync_orders(flow, full=True)}
    assert results[number].outcome == "sent", results[number].reason
    assert f"crediting order {original['number']}" in results[number].reason
    shop_total = Decimal(str(world.shop_sandbox.state.orders[number]["price"]["total"]))
    assert shop_total < 0
    if write_as == "sales_order":
        (header,) = world.books_sandbox.rows("SO_HDR", COMMENT1=number)
        (credited,) = world.books_sandbox.rows("SO_HDR", COMMENT1=str(original["number"]))
        assert header["RPL_INV"] == credited["RPL_INV"]  # the original's debtor, not the credit's e-mail
        assert f"{document}" in header["COMMENT2"] and str(original["number"]) in header["COMMENT2"]
        booked = amounts_of(world.books_sandbox.state, "SO_HDR", header["ORD_NR"])
    else:
        (page,) = world.books_sandbox.rows("DJ_PAGE", EXT_DESC=number)
        (credited_page,) = world.books_sandbox.rows("DJ_PAGE", EXT_DESC=str(original["number"]))
        assert page["SUB_NR"] == credited_page["SUB_NR"]
        assert document in page["HDR_DESC"]
        booked = amounts_of(world.books_sandbox.state, "DJ_PAGE", page["PAGE_NR"])
    assert Decimal(booked["total"]) == shop_total
    assert not world.debtors("iemand.anders@example.nl")

    again = {r.key: r for r in sync_orders(flow, full=True)}
    assert again[number].outcome == "skipped"
    count = world.sales_orders(number) if write_as == "sales_order" else world.invoices(number)
    assert count == 1


def test_a_credit_of_an_order_not_in_accountview_is_parked_naming_the_original(world: World) -> None:
    original = original_order(world)
    number = credit(world, original)
    only_credits = world.flow(statuses=[CREDITED], credit_orders="book")
    results = {r.key: r for r in sync_orders(only_credits, full=True)}
    assert results[number].outcome == "needs_attention"
    assert f"credits order {original['number']}, which is not in AccountView" in results[number].reason
    assert world.sales_orders(number) == 0
