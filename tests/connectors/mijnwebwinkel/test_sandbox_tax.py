"""Shop-side VAT the sandbox generates: destination-country VAT for consumers abroad (EU one-stop shop: BE
6/12/21 %, DE 7/19 %), shipping VAT by the store's method (fixed rate, or proportional over the order's
rates), and test orders whose "T-" number is a quirk of its own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from koppel.connectors.mijnwebwinkel.money import to_decimal
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox
from koppel.connectors.mijnwebwinkel.sandbox.orders import build_order
from koppel.connectors.mijnwebwinkel.sandbox.quirks import Quirks
from koppel.connectors.mijnwebwinkel.sandbox.seed import SeedSizes, seed_state
from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxState

D = Decimal


def _shop(*, one_stop_shop: bool = False, shipping: str = "fixed", orders: int = 20) -> SandboxState:
    state = SandboxState(store_token="t", partner_token="p")
    state.store.update({"_one_stop_shop": one_stop_shop, "_shipping_tax_method": shipping})
    return seed_state(state, 3, SeedSizes(categories=4, articles=12, orders=orders))


def _rates(order: dict[str, Any], kind: str | None = None) -> set[Decimal]:
    return {
        to_decimal(part["rate"])
        for line in order["orderlines"]
        if kind is None or line["type"] == kind
        for part in line["price"]
    }


def _reduced(state: SandboxState) -> list[dict[str, Any]]:
    return [a for a in state.articles.values() if a.get("_vat_rate") == "9"]


def _consumer(country: str) -> dict[str, Any]:
    return {
        "email": f"klant@example.{country.lower()}",
        "address": {"invoice": {"name": "Klant", "zipcode": "1000", "country_code": country}},
    }


def _body(country: str, articles: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    lines = [{"type": "article", "quantity": 1, "articles": [{"id": a["id"]}]} for a in articles]
    return {"debtor": _consumer(country), "orderlines": lines, **more}


def _check_totals(order: dict[str, Any]) -> None:
    """The order's VAT per rate and total are its lines' (the invariant a flow compares against)."""
    per_rate: dict[Decimal, Decimal] = {}
    total = D(0)
    for line in order["orderlines"]:
        for part in line["price"]:
            incl, excl = to_decimal(part["amount_including_tax"]), to_decimal(part["amount"])
            per_rate[to_decimal(part["rate"])] = per_rate.get(to_decimal(part["rate"]), D(0)) + incl - excl
            total += incl
    tax = order["price"]["tax"]
    assert {to_decimal(t["rate"]): to_decimal(t["amount"]) for t in tax} == {
        r: v.quantize(D("0.01")) for r, v in per_rate.items()
    }
    assert to_decimal(order["price"]["total"]) == total


# --- destination-country VAT ------------------------------------------------------------------------------------


def test_seeded_one_stop_shop_orders_carry_belgian_and_german_rates() -> None:
    state = _shop(one_stop_shop=True)
    # The seed's crafted consumer orders abroad (random consumers abroad may buy fewer rates).
    rates = {
        region: [_rates(o, "article") for o in state.orders.values() if o["tax_region"] == region]
        for region in ("BE", "DE")
    }
    assert {D(6), D(12), D(21)} in rates["BE"]
    assert {D(7), D(19)} in rates["DE"]
    assert {r["regionCode"] for r in state.tax_regions} == {"NL", "BE", "DE"}
    for order in state.orders.values():
        _check_totals(order)


def test_without_the_one_stop_shop_consumers_abroad_pay_dutch_vat() -> None:
    state = _shop(one_stop_shop=False)
    order = build_order(state, _body("DE", [_reduced(state)[0]]), mutate=False)
    assert _rates(order, "article") == {D(9)} and order["tax_region"] == "NL"
    assert {r["regionCode"] for r in state.tax_regions} == {"NL"}


def test_a_german_consumer_keeps_the_gross_price_at_german_vat() -> None:
    state = _shop(one_stop_shop=True)
    article = next(a for a in state.articles.values() if a.get("_vat_rate") == "21" and not a["lists"])
    order = build_order(state, _body("DE", [article]), mutate=False)
    (line,) = order["orderlines"][:1]
    (part,) = line["price"]
    assert (part["rate"], order["tax_region"]) == ("19.00", "DE")
    gross = to_decimal(part["amount_including_tax"])
    assert to_decimal(part["amount"]) == (gross * 100 / 119).quantize(D("0.000001"))
    _check_totals(order)


def test_a_belgian_business_with_a_vat_number_is_reverse_charged_not_one_stop_shop() -> None:
    state = _shop(one_stop_shop=True)
    body = _body("BE", [_reduced(state)[0]])
    body["debtor"]["address"]["invoice"].update(company="Bedrijf BV", taxnumber="BE0123456789")
    order = build_order(state, body, mutate=False)
    assert order["tax_strategy"] == "reverse_charged_vat" and _rates(order) == {D(0)}
    assert order["tax_region"] == "NL"


# --- shipping VAT ---------------------------------------------------------------------------------------------------


def _with_shipping(state: SandboxState, country: str) -> dict[str, Any]:
    reduced = _reduced(state)[0]
    full = next(a for a in state.articles.values() if a.get("_vat_rate") == "21" and not a["lists"])
    for method in state.shipping_methods:
        method["no_costs_above"] = None  # shipping charged whatever the order's value
    order = build_order(state, _body(country, [reduced, full]), mutate=False)
    assert any(line["type"] == "shipping" for line in order["orderlines"])
    return order


def test_fixed_shipping_vat_is_the_regions_rate() -> None:
    nl = _with_shipping(_shop(shipping="fixed"), "NL")
    assert _rates(nl, "shipping") == {D(21)}
    de = _with_shipping(_shop(one_stop_shop=True, shipping="fixed"), "DE")
    assert _rates(de, "shipping") == {D(19)}
    _check_totals(de)


@pytest.mark.parametrize("country", ["NL", "BE"])
def test_proportional_shipping_vat_follows_the_orders_rates(country: str) -> None:
    state = _shop(one_stop_shop=True, shipping="proportional")
    order = _with_shipping(state, country)
    (shipping,) = [line for line in order["orderlines"] if line["type"] == "shipping"]
    assert {to_decimal(p["rate"]) for p in shipping["price"]} == _rates(order, "article")
    assert len(shipping["price"]) == 2
    cost = sum((to_decimal(p["amount_including_tax"]) for p in shipping["price"]), D(0))
    method = next(m for m in state.shipping_methods if country in m["countries"] and m["_cost"] != "0")
    assert cost == to_decimal(method["_cost"])
    weights = {
        to_decimal(p["rate"]): to_decimal(p["amount_including_tax"])
        for line in order["orderlines"]
        if line["type"] == "article"
        for p in line["price"]
    }
    share = {to_decimal(p["rate"]): to_decimal(p["amount_including_tax"]) for p in shipping["price"]}
    low = min(weights)
    assert share[low] == (cost * weights[low] / sum(weights.values())).quantize(D("0.01"))
    _check_totals(order)


def test_seeded_shops_exercise_both_shipping_methods() -> None:
    fixed, proportional = _shop(shipping="fixed", orders=30), _shop(shipping="proportional", orders=30)
    split = [
        line
        for o in proportional.orders.values()
        for line in o["orderlines"]
        if line["type"] == "shipping" and len(line["price"]) > 1
    ]
    assert split and not any(
        len(line["price"]) > 1 for o in fixed.orders.values() for line in o["orderlines"] if line["type"] == "shipping"
    )
    assert {r["shippingTaxMethod"] for r in proportional.tax_regions} == {"proportional"}


# --- test orders ------------------------------------------------------------------------------------------------------


def _get(sandbox: MijnWebwinkelSandbox, path: str, **params: Any) -> Any:
    info = sandbox.info
    answer = httpx.get(
        f"{info.url}/v1{path}",
        params={"token": info.token, "partner_token": info.partner_token, "format": "json", **params},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(("quirks", "marked"), [(Quirks(), True), (Quirks.none(), False)])
def test_a_test_orders_number_is_marked_only_by_its_quirk(
    sandbox: MijnWebwinkelSandbox, quirks: Quirks, marked: bool
) -> None:
    sandbox.state.quirks.update(quirks.as_json())
    listed = {o["number"] for o in _get(sandbox, "/orders", limit=100)}
    tests = [o for o in _get(sandbox, "/orders", limit=100, test="true") if o["number"] not in listed]
    assert tests, "the seed has test orders, listed only with test=true"
    for order in tests:
        if marked:
            assert isinstance(order["number"], str) and order["number"].startswith("T-")
        else:
            assert isinstance(order["number"], int)  # the spec's shape
        assert _get(sandbox, f"/orders/{order['number']}")["uuid"] == order["uuid"]
