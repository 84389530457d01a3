"""EU one-stop shop through both sandboxes: a shop registered for OSS charges Belgian (6/12/21 %) and German
(7/19 %) consumers their own country's VAT; the flow books them on the VAT codes mapped for that country and
rate (falling back to the rate alone), parks a pair with no code naming it, and AccountView's computed
amounts (the sandbox's, by the profile's rules) equal the shop's for both shipping-VAT methods."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from koppel.connectors.accountview.sandbox.documents import amounts_of
from koppel.connectors.mijnwebwinkel.sandbox import SeedSizes
from koppel.demo import ORDER_SETTINGS
from tests.flows.test_orders import eligible
from tests.flows.world import World, restore, snapshot, start_world, sync_orders

# Belgian and German VAT codes of the administration (two characters, like AccountView's own).
OSS_CODES = [("BH", 21), ("BM", 12), ("BL", 6), ("DH", 19), ("DL", 7)]
OSS_SETTINGS = {"BE:21": "BH", "BE:12": "BM", "BE:6": "BL", "DE:19": "DH", "DE:7": "DL"}


@pytest.fixture(scope="module", params=["fixed", "proportional"])
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[World, dict]]:
    world = start_world()
    shop = world.shop_sandbox
    shop.state.store.update(_one_stop_shop=True, _shipping_tax_method=request.param)
    shop.admin.reseed(1, SeedSizes(articles=40, orders=40))
    for code, rate in OSS_CODES:
        world.books.insert(
            "VA1",
            {"VAT_CODE": code, "VAT_NAME": f"Btw {code} {rate}%", "VAT_PCT": rate, "VAT_ACCT": "1510",
             "FRM_CODE": "1A", "VAT_TYPE": 1, "CALC_TYPE": 1, "IS_REVERSE": False},
        )  # fmt: skip
    yield world, snapshot(world)
    world.stop()


@pytest.fixture
def world(seeded: tuple[World, dict]) -> World:
    world, saved = seeded
    restore(world, saved)
    return world


@pytest.fixture
def shipping_method(seeded: tuple[World, dict]) -> str:
    return str(seeded[0].shop_sandbox.state.store["_shipping_tax_method"])


def oss_orders(world: World, country: str) -> list[dict[str, Any]]:
    return [o for o in eligible(world) if o.get("tax_region") == country and not o.get("tax_strategy")]


def rates(order: dict[str, Any]) -> set[Decimal]:
    return {Decimal(p["rate"]) for line in order["orderlines"] for p in line["price"]}


@pytest.mark.parametrize("write_as", ["sales_order", "invoice"])
def test_consumers_abroad_are_booked_on_their_countrys_vat_codes_to_the_cent(
    world: World, write_as: str, shipping_method: str
) -> None:
    belgian, german = oss_orders(world, "BE"), oss_orders(world, "DE")
    assert belgian and german
    shipping = [line for o in belgian + german for line in o["orderlines"] if line["type"] == "shipping"]
    split = [line for line in shipping if len(line["price"]) > 1]
    assert shipping and (split if shipping_method == "proportional" else not split)
    assert {Decimal(6), Decimal(12)} & set().union(*map(rates, belgian))
    assert Decimal(7) in set().union(*map(rates, german))
    flow = world.flow(vat_codes={**ORDER_SETTINGS["vat_codes"], **OSS_SETTINGS}, write_as=write_as)
    results = {r.key: r for r in sync_orders(flow, full=True)}
    for order in belgian + german:
        number = str(order["number"])
        assert results[number].outcome == "sent", results[number].reason
        if write_as == "sales_order":
            (header,) = world.books_sandbox.rows("SO_HDR", COMMENT1=number)
            lines = world.books_sandbox.rows("SO_LINE", ORD_NR=header["ORD_NR"])
            booked = amounts_of(world.books_sandbox.state, "SO_HDR", header["ORD_NR"])
        else:
            (header,) = world.books_sandbox.rows("DJ_PAGE", EXT_DESC=number)
            lines = world.books_sandbox.rows("DJ_LINE", PAGE_NR=header["PAGE_NR"])
            booked = amounts_of(world.books_sandbox.state, "DJ_PAGE", header["PAGE_NR"])
        prefix = "B" if order["tax_region"] == "BE" else "D"
        assert {line["VAT_CODE"][0] for line in lines if Decimal(str(line.get("VAT_AMT") or 1))} <= {prefix, "N"}
        assert Decimal(booked["total"]) == Decimal(order["price"]["total"])
        shop_vat = {Decimal(t["rate"]): Decimal(t["amount"]) for t in order["price"]["tax"] if Decimal(t["rate"])}
        assert {Decimal(r): Decimal(v) for r, v in booked["vat_per_rate"].items() if Decimal(r)} == shop_vat


def test_a_country_and_rate_with_no_code_parks_naming_the_pair_and_the_rate_alone_is_the_fallback(
    world: World,
) -> None:
    belgian = next(o for o in oss_orders(world, "BE") if Decimal(6) in rates(o) or Decimal(12) in rates(o))
    german = next(o for o in oss_orders(world, "DE") if rates(o) <= {Decimal(19), Decimal(0)})
    missing = 6 if Decimal(6) in rates(belgian) else 12
    belgium = {k: v for k, v in OSS_SETTINGS.items() if k.startswith("BE:") and k != f"BE:{missing}"}
    # Germany by the rate alone: 19 % → DH, whatever the country.
    codes = {**ORDER_SETTINGS["vat_codes"], **belgium, "19": "DH"}
    results = {r.key: r for r in sync_orders(world.flow(vat_codes=codes), full=True)}
    parked = results[str(belgian["number"])]
    assert parked.outcome == "needs_attention"
    assert f"no AccountView VAT code for {missing}% (BE)" in parked.reason and f"'BE:{missing}'" in parked.reason
    assert world.sales_orders(str(belgian["number"])) == 0
    assert results[str(german["number"])].outcome == "sent", results[str(german["number"])].reason
    (header,) = world.books_sandbox.rows("SO_HDR", COMMENT1=str(german["number"]))
    codes_used = {line["VAT_CODE"] for line in world.books_sandbox.rows("SO_LINE", ORD_NR=header["ORD_NR"])}
    assert "DH" in codes_used and not codes_used & {"H1", "L1"}
