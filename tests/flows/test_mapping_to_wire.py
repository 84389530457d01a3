"""What a map says reaches AccountView: every column of every mapped row (defaults and overrides) is in
the request body AccountView received, with its value. The rows are taken from the maps as the flow
applies them, the bodies from the wire (an httpx hook on the client), so a field dropped anywhere between
the map and the wire fails here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from koppel.connectors.accountview.fields import data_dictionary
from koppel.connectors.accountview.wire import json_value
from koppel.flows import order_mapping
from koppel.flows.customers import email_key
from koppel.flows.orders import OrdersFlow
from koppel.flows.settings import OrdersSettings
from koppel.mapping import Mapped, load_default_map
from tests.flows.test_orders import eligible
from tests.flows.world import SETTINGS, World, sync_orders

Row = dict[str, Any]
# Set after mapping by the price rules (`order_totals`: what reproduces the shop's amounts in AccountView,
# a line split in two at a cent), and checked by their own tests; every other column goes as mapped.
PRICED = {"SO_LINE": {"ART_PX", "ORD_QTY", "VAT_CODE"}, "DJ_LINE": {"AMOUNT", "VAT_AMT", "VAT_CODE"}}

OVERRIDES = {
    name: {"fields": {"LNG_CODE": {"const": "EN"}, "ACCT_NR": {"const": "1400"}}}
    for name in (order_mapping.DEBTOR_COMPANY, order_mapping.DEBTOR_PERSON)
} | {
    order_mapping.SALES_ORDER: {"fields": {"SHIP_MTH": {"const": "POSTNL"}}},
    order_mapping.SALES_ORDER_LINE: {"fields": {"ART_DESC": {"source": "line.articles[0].sku"}}},
    order_mapping.INVOICE: {"fields": {"PERIOD": {"const": 3}}},
}


class Wire:
    """The rows of every write AccountView received, by table, and the rows the maps produced."""

    def __init__(self) -> None:
        self.sent: dict[str, list[Row]] = {}
        self.mapped: list[tuple[str, str, str, Row]] = []  # (map name, mode, table, row)

    def request(self, request: httpx.Request) -> None:
        if request.method in ("POST", "PUT") and request.url.path.lower().endswith("/accountviewdata"):
            body = json.loads(request.read())
            definitions = [body["Table"]["Definition"], *body["Table"].get("DetailDefinitions", [])]
            data = [body["TableData"]["Data"], *body["TableData"].get("DetailData", [])]
            for definition, rows in zip(definitions, data, strict=True):
                names = [f["Name"] for f in definition["Fields"]]
                self.sent.setdefault(definition["Name"], []).extend(
                    dict(zip(names, row["Values"], strict=True)) for row in rows["Rows"]
                )


@pytest.fixture
def wire(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    seen = Wire()
    applied = order_mapping.OrderMaps.apply

    def apply(maps: order_mapping.OrderMaps, name: str, source: Any, **options: Any) -> Mapped:
        mapped = applied(maps, name, source, **options)
        mode = options.get("mode", "create")
        seen.mapped.append((name, mode, load_default_map(name).target, dict(mapped.row)))
        return mapped

    monkeypatch.setattr(order_mapping.OrderMaps, "apply", apply)
    hooks = world.books.http.event_hooks
    world.books.http.event_hooks = {**hooks, "request": [*hooks.get("request", []), seen.request]}
    yield seen
    world.books.http.event_hooks = hooks


def on_the_wire(table: str, column: str, value: Any) -> Any:
    """The value as the client writes it: upper-case formats applied, numbers and dates as JSON."""
    return json_value(data_dictionary().normalise(table, column, value))


def missing_on_the_wire(wire: Wire, debtors: str = "create") -> list[str]:
    """Every mapped column that is not in a row AccountView received with its value; [] when all are.
    The flow maps a debtor both ways before it knows whether it creates or updates; `debtors` says which
    of the two rows must have gone."""
    problems = []
    for name, mode, table, row in wire.mapped:
        if table == "CONTACT" and mode != debtors:
            continue
        if "-" in (row.get("SUB_NR"), row.get("RPL_INV")):
            continue  # mapped while checking, before the debtor existed; mapped again for the write
        # a delivery address is written for the debtor the order was booked on, whatever the map read
        skip = PRICED.get(table, set()) | ({"SUB_NR"} if table == "DEL_ADDR" else set())
        wanted = {c: on_the_wire(table, c, v) for c, v in row.items() if c not in skip}
        candidates = wire.sent.get(table, [])
        best = max(candidates, key=lambda sent: sum(sent.get(c) == v for c, v in wanted.items()), default={})
        lost = {c: (v, best.get(c, "<not sent>")) for c, v in wanted.items() if best.get(c) != v}
        if lost:
            problems.append(f"{name} → {table}: {lost}")
    return problems


def flow(world: World, overrides: dict[str, Any] | None = None, **changes: Any) -> OrdersFlow:
    settings = OrdersSettings.model_validate({**SETTINGS, **changes})
    return OrdersFlow(world.shop, world.books, settings, world.links, mapping_overrides=overrides)


def with_delivery_elsewhere(world: World) -> None:
    """One order shipping to another address, so the delivery-address map is written too."""
    order = eligible(world)[0]
    delivery = {**order["debtor"]["address"]["invoice"], "name": "Magazijn Oost", "street": "Havenweg",
                "number": "104/12", "zipcode": "7523SD", "city": "Enschede", "company": ""}
    address = {**order["debtor"]["address"], "delivery": delivery}
    world.shop_sandbox.add_order(
        dict(order, number=9301, debtor={**order["debtor"], "email": "oost@example.nl", "address": address})
    )


@pytest.mark.parametrize("write_as", ["sales_order", "invoice"])
def test_every_column_of_the_default_maps_reaches_accountview(world: World, wire: Wire, write_as: str) -> None:
    with_delivery_elsewhere(world)
    sent = [r for r in sync_orders(flow(world, write_as=write_as)) if r.outcome == "sent"]
    header = "SO_HDR" if write_as == "sales_order" else "DJ_PAGE"
    assert len(sent) > 10 and len(wire.sent[header]) == len(sent) and wire.sent["DEL_ADDR"]
    used = {name for name, *_ in wire.mapped}
    assert used >= ({order_mapping.SALES_ORDER, order_mapping.SALES_ORDER_LINE, order_mapping.COST_LINE}
                    if write_as == "sales_order" else {order_mapping.INVOICE, order_mapping.INVOICE_LINE})
    assert {order_mapping.DEBTOR_PERSON, order_mapping.DEBTOR_COMPANY, order_mapping.DELIVERY_ADDRESS} <= used
    assert missing_on_the_wire(wire) == []
    # columns the old translation dropped or rewrote are there as mapped
    assert all("ADDRESS1" in row for row in wire.sent["CONTACT"])
    (elsewhere,) = [row for row in wire.sent["DEL_ADDR"] if row["DEL_NAME"] == "Magazijn Oost"]
    assert (elsewhere["ADDRESS1"], elsewhere["POST_CODE"]) == ("Havenweg 104/12", "7523SD")
    if write_as == "invoice":
        assert all(row["CUR_CODE"] == "EUR" and row["TRN_DATE"] for row in wire.sent["DJ_PAGE"])


@pytest.mark.parametrize("write_as", ["sales_order", "invoice"])
def test_overrides_reach_accountview(world: World, wire: Wire, write_as: str) -> None:
    world.books.insert("GL1", {"ACCT_NR": "1400", "ACCT_NAME": "Debiteuren webwinkel"})
    sync_orders(flow(world, OVERRIDES, write_as=write_as))
    assert missing_on_the_wire(wire) == []
    created = wire.sent["CONTACT"]
    assert created and all((row["LNG_CODE"], row["ACCT_NR"]) == ("EN", "1400") for row in created)
    stored = world.debtors(eligible(world)[0]["debtor"]["email"])[0]
    assert (stored["LNG_CODE"], stored["ACCT_NR"]) == ("EN", "1400")
    if write_as == "sales_order":
        assert {row["SHIP_MTH"] for row in wire.sent["SO_HDR"]} == {"POSTNL"}
        skus = {line["articles"][0]["sku"] for o in eligible(world) for line in o["orderlines"] if line.get("articles")}
        assert skus <= {row["ART_DESC"] for row in wire.sent["SO_LINE"]}
    else:
        assert {row["PERIOD"] for row in wire.sent["DJ_PAGE"]} == {3}


def test_a_debtor_found_by_email_keeps_what_the_accountant_curated(world: World, wire: Wire) -> None:
    order = eligible(world)[1]
    email = order["debtor"]["email"]
    curated = {"ACCT_NAME": "Jansen, J. (boekhouding)", "ST_STREET": "Postbus", "ST_NR": "77",
               "ADDRESS1": "Postbus 77", "POST_CODE": "8000 AA", "CITY": "Zwolle", "SRC_CODE": "JANSEN"}
    existing = world.books.insert("AR1", {**curated, "MAIL_BUS": email, "ACCT_NR": "1300", "TEL_BUS": "0"}).row
    sync_orders(flow(world))
    (row,) = world.debtors(email)
    assert {c: row[c] for c in curated} == curated  # only_create fields: the accountant's stay
    invoice = order["debtor"]["address"]["invoice"]
    assert row["TEL_BUS"] == " ".join(invoice["phone"].split())[:20].rstrip()  # the rest follows the shop
    (update,) = [r for r in wire.sent["CONTACT"] if r.get("SUB_NR") == existing["SUB_NR"]]
    assert not set(curated) & set(update) and update["MAIL_BUS"] == email.lower()
    assert missing_on_the_wire(wire, debtors="update") == []

    # The customer orders again with a new phone number: the update goes, the curated fields still stay.
    invoice = {**invoice, "phone": "06 99 88 77 66"}
    world.shop_sandbox.add_order(
        dict(order, number=9302, debtor={**order["debtor"], "address": {**order["debtor"]["address"],
                                                                        "invoice": invoice}})
    )
    sync_orders(flow(world), full=True)
    assert len([r for r in wire.sent["CONTACT"] if r.get("SUB_NR") == existing["SUB_NR"]]) == 2
    (row,) = world.debtors(email)
    assert row["TEL_BUS"] == "06 99 88 77 66" and {c: row[c] for c in curated} == curated
    assert world.links.find("debtor", email_key(email)).target_key == existing["SUB_NR"]


def test_a_number_the_map_gives_goes_as_a_number(world: World, wire: Wire) -> None:
    sync_orders(flow(world))
    quantities = [row["ORD_QTY"] for row in wire.sent["SO_LINE"]]
    assert quantities and all(isinstance(q, int | float) for q in quantities)
    assert all(Decimal(str(row["ART_PX"])) == round(Decimal(str(row["ART_PX"])), 4) for row in wire.sent["SO_LINE"])


def test_a_linked_debtor_gone_from_accountview_is_created_in_full_not_half_updated(world: World, wire: Wire) -> None:
    order = eligible(world)[2]
    email = order["debtor"]["email"]
    sync_orders(flow(world))
    (gone,) = world.debtors(email)
    with world.books_sandbox.state.lock:
        del world.books_sandbox.state.tables["CONTACT"][gone["SUB_NR"]]  # the accountant deleted it
    invoice = {**order["debtor"]["address"]["invoice"], "phone": "010 123 45 67"}  # changed: an update is due
    address = {**order["debtor"]["address"], "invoice": invoice}
    world.shop_sandbox.add_order(dict(order, number=9303, debtor={**order["debtor"], "address": address}))
    results = {r.key: r for r in sync_orders(flow(world), full=True)}
    assert results["9303"].outcome == "sent", results["9303"].reason
    (again,) = world.debtors(email)
    assert again["ACCT_NAME"] and again["ADDRESS1"] and again["TEL_BUS"] == "010 123 45 67"
    assert world.links.find("debtor", email_key(email)).target_key == again["SUB_NR"] != gone["SUB_NR"]
