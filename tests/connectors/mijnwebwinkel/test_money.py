"""Property tests for money and VAT: line totals and `price.total` always add up exactly, the VAT per rate is
derived the same way everywhere, and the client decodes what the sandbox computes without losing a cent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.connectors.mijnwebwinkel.models import Order
from koppel.connectors.mijnwebwinkel.money import (
    cents,
    excl_from_incl,
    incl_from_excl,
    split_pro_rata,
    to_decimal,
)
from koppel.connectors.mijnwebwinkel.sandbox import catalog
from koppel.connectors.mijnwebwinkel.sandbox.orders import build_order
from koppel.connectors.mijnwebwinkel.sandbox.quirks import Quirks
from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxState, public
from tests.examples import examples

RATES = st.sampled_from([Decimal(0), Decimal(9), Decimal(21)])
AMOUNTS = st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c) / 100)
FAST = settings(max_examples=examples(60), deadline=None)


@FAST
@given(
    amount=st.integers(min_value=-100_000, max_value=100_000).map(lambda c: Decimal(c) / 100),
    weights=st.dictionaries(RATES, AMOUNTS, min_size=1),
)
def test_pro_rata_parts_add_up_exactly(amount: Decimal, weights: dict[Decimal, Decimal]) -> None:
    parts = split_pro_rata(amount, weights)
    assert sum(parts.values(), Decimal(0)) == amount
    assert all(part == cents(part) for part in parts.values())


@FAST
@given(incl=AMOUNTS, rate=RATES)
def test_excl_with_six_decimals_round_trips_to_the_cent(incl: Decimal, rate: Decimal) -> None:
    excl = excl_from_incl(incl, rate)
    assert excl.as_tuple().exponent >= -6  # type: ignore[operator]
    assert incl_from_excl(excl, rate) == incl


@FAST
@given(value=st.one_of(AMOUNTS, AMOUNTS.map(str), AMOUNTS.map(float)))
def test_money_from_strings_numbers_and_floats(value: object) -> None:
    parsed = to_decimal(value)
    assert parsed == cents(parsed)


article_spec = st.tuples(
    AMOUNTS,
    RATES,
    st.booleans(),
    st.integers(min_value=0, max_value=300).map(lambda c: Decimal(c) / 100),
    st.integers(min_value=1, max_value=12),
)


@settings(max_examples=examples(80), deadline=None)
@given(
    prices_include_tax=st.booleans(),
    lines=st.lists(article_spec, min_size=1, max_size=5),
    discount=st.sampled_from(["", "KORTING10", "WELKOM5"]),
    method=st.sampled_from(["ideal", "creditcard", "paypal"]),
    country=st.sampled_from(["NL", "BE", "DE"]),
    company=st.booleans(),
    quirks=st.booleans(),
)
def test_order_lines_and_totals_always_add_up(
    prices_include_tax: bool,
    lines: list[tuple],
    discount: str,
    method: str,
    country: str,
    company: bool,
    quirks: bool,
) -> None:
    state = SandboxState(store_token="t" * 8, partner_token="p" * 8)
    state.store["prices_include_tax"] = prices_include_tax
    state.shipping_methods = [
        {
            "id": "1",
            "display_name": "Post",
            "countries": ["NL", "BE", "DE"],
            "default": True,
            "no_costs_above": "150.00",
            "_cost": "6.95",
        }
    ]
    category = catalog.save_category(state, {"title": "Alles"})
    surcharge_list = catalog.new_option_list(state, "Extra", "", [("Ja", "0.00")])
    orderlines = []
    for price, rate, on_action, surcharge, quantity in lines:
        surcharge_list["options"][0]["price"] = f"{surcharge:f}"
        article = catalog.create_article(
            state,
            {
                "name": "A",
                "categories": [{"category_id": category["id"]}],
                "price": {
                    "default": f"{price:f}",
                    "action": f"{cents(price * Decimal('0.7')):f}" if on_action else None,
                },
                "lists": [{"id": surcharge_list["id"], "options": [{"id": surcharge_list["options"][0]["id"]}]}],
            },
        )
        article["_vat_rate"] = f"{rate:f}"
        article["taxable"] = rate != 0
        article["variants"][0]["stock"] = quantity  # the variant keeps its own stock: enough for this line
        orderlines.append(
            {
                "type": "article",
                "quantity": quantity,
                "articles": [
                    {"id": article["id"], "options": [{"list_option_id": surcharge_list["options"][0]["id"]}]}
                ],
            }
        )
    invoice = {
        "name": "Jan",
        "zipcode": "1234AB",
        "country_code": country,
        "company": "Jan BV" if company else "",
        "taxnumber": "BE0123456789" if company else "",
    }
    order = build_order(
        state,
        {
            "debtor": {"email": "jan@example.nl", "address": {"invoice": invoice}},
            "orderlines": orderlines,
            "discountcode": discount,
            "payment": {"gateway_name": "mollie", "method_name": method},
        },
    )

    total = to_decimal(order["price"]["total"])
    parts = [p for line in order["orderlines"] for p in line["price"]]
    assert sum((to_decimal(p["amount_including_tax"]) for p in parts), Decimal(0)) == total
    for p in parts:
        incl, excl = to_decimal(p["amount_including_tax"]), to_decimal(p["amount"])
        assert incl == cents(incl) and excl.as_tuple().exponent >= -6  # type: ignore[operator]
        assert abs(incl - excl * (100 + to_decimal(p["rate"])) / 100) < Decimal("0.006")
    for tax in order["price"]["tax"]:
        at_rate = [p for p in parts if p["rate"] == tax["rate"]]
        expected = cents(
            sum((to_decimal(p["amount_including_tax"]) - to_decimal(p["amount"]) for p in at_rate), Decimal(0))
        )
        assert to_decimal(tax["amount"]) == expected
    for line in order["orderlines"]:
        if line["type"] == "article":
            unit = line["articles"][0]
            per_unit = to_decimal(unit["price"]["amount"]) + sum(
                (to_decimal(o["price"]["amount"]) for o in unit["options"]), Decimal(0)
            )
            line_excl = sum((to_decimal(p["amount"]) for p in line["price"]), Decimal(0))
            if order["tax_strategy"] == "":
                assert abs(per_unit * line["quantity"] - line_excl) <= Decimal("0.00001") * line["quantity"] + Decimal(
                    "0.005"
                )

    wire = (Quirks.all() if quirks else Quirks.none()).order(public(order))
    decoded = Order.model_validate(wire)
    assert sum((line.amount_incl for line in decoded.orderlines), Decimal(0)) == decoded.total == total
    assert sum((t.amount for t in decoded.price.tax), Decimal(0)) == sum(
        (to_decimal(t["amount"]) for t in order["price"]["tax"]), Decimal(0)
    )
