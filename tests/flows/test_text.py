"""Text AccountView can store, through the whole orders flow: names outside the code page are
transliterated with a warning on the activity (or the order is parked naming the field, as the settings
say), NUL and control characters never reach AccountView or the activity log, and an address that does
not fit its country's rules goes as typed, with a warning, instead of parking the order."""

from __future__ import annotations

import json
from typing import Any

from koppel.flows.orders import OrdersFlow
from koppel.flows.settings import OrdersSettings
from tests.flows.test_orders import eligible
from tests.flows.world import SETTINGS, World, sync_orders


def flow(world: World, **changes: Any) -> OrdersFlow:
    return OrdersFlow(world.shop, world.books, OrdersSettings.model_validate({**SETTINGS, **changes}), world.links)


def add_order(world: World, order_number: int, email: str, comment: str = "", **invoice: str) -> None:
    """An order by a new customer whose invoice address says `invoice` (MijnWebwinkel's field names)."""
    order = eligible(world)[0]
    address = {**order["debtor"]["address"]["invoice"], "company": "", **invoice}
    world.shop_sandbox.add_order(
        dict(
            order,
            number=order_number,
            comments={"customer": comment, "internal": ""},
            debtor={**order["debtor"], "email": email, "address": {"invoice": address, "delivery": None}},
        )
    )


def record_of(world: World, number: int) -> Any:
    return next(r for r in reversed(world.links.records) if r.key == str(number))


def test_names_outside_the_code_page_are_transliterated_with_a_warning(world: World) -> None:
    add_order(world, 9401, "lukasz@example.pl", comment="Graag\x00 bellen 📞\nbij de buren",
              name="Łukasz Wójcik 🚲", street="ul. Piotrkowska\x00", number="104/12", city="Łódź",
              zipcode="90-001", country_code="PL", phone="+48 42\x07 123 45 67")
    results = {r.key: r for r in sync_orders(flow(world))}
    assert results["9401"].outcome == "sent", results["9401"].reason

    (debtor,) = world.debtors("lukasz@example.pl")
    assert (debtor["ACCT_NAME"], debtor["CITY"]) == ("Lukasz Wójcik", "Lódz")  # ó is in cp1252: kept
    assert (debtor["ADDRESS1"], debtor["ST_STREET"], debtor["ST_NR"]) == ("ul. Piotrkowska 104/12", "ul. Piotrkowska",
                                                                          "104")
    assert debtor["TEL_BUS"] == "+48 42 123 45 67"
    (header,) = world.books_sandbox.rows("SO_HDR", COMMENT1="9401")
    assert header["COMMENT2"] == "Graag bellen bij de buren"  # the map trims it; then NUL and 📞 went

    record = record_of(world, 9401)
    warnings = record.payload_out["warnings"]
    assert any(w.startswith("ACCT_NAME: 'Łukasz Wójcik 🚲' sent as 'Lukasz Wójcik'") for w in warnings), warnings
    assert any(w.startswith("CITY: 'Łódź' sent as 'Lódz'") for w in warnings), warnings
    assert any(w.startswith("TEL_BUS:") and "control characters removed" in w for w in warnings), warnings
    assert any(w.startswith("COMMENT2: 'Graag bellen 📞 bij de buren'") for w in warnings), warnings  # the document's
    logged = json.dumps([record.reason, record.payload_in, record.payload_out], default=str)
    assert "\\u0000" not in logged and "\x00" not in logged  # PostgreSQL refuses NUL in JSON text


def test_text_outside_the_code_page_parks_the_order_when_the_settings_say_so(world: World) -> None:
    add_order(world, 9402, "zofia@example.pl", name="Zofia Żółć", city="Kraków", zipcode="30-001", country_code="PL")
    results = {r.key: r for r in sync_orders(flow(world, text_outside_code_page="park"))}
    parked = results["9402"]
    assert parked.outcome == "needs_attention"
    assert "ACCT_NAME" in parked.reason and "'Ż'" in parked.reason and "cp1252" in parked.reason
    assert "transliterate" in parked.reason  # says what to do
    assert world.debtors("zofia@example.pl") == [] and world.sales_orders("9402") == 0
    assert all(r.outcome == "sent" for k, r in results.items() if k != "9402")


def test_a_postcode_that_does_not_fit_its_country_goes_as_typed_with_a_warning(world: World) -> None:
    add_order(world, 9403, "hans@example.de", name="Hans Becker", street="Lindenweg", number="3",
              zipcode=" 7523SD ", city="Gronau", country_code="DE")
    results = {r.key: r for r in sync_orders(flow(world))}
    assert results["9403"].outcome == "sent", results["9403"].reason
    (debtor,) = world.debtors("hans@example.de")
    assert (debtor["POST_CODE"], debtor["CNT_CODE"]) == ("7523SD", "DE")
    warnings = record_of(world, 9403).payload_out["warnings"]
    assert any("is not a German postcode" in w and "sent as typed: '7523SD'" in w for w in warnings), warnings
