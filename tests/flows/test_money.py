"""Money to the cent: what AccountView computes from the sales order or invoice the flow sends — each line's
amount, VAT per rate, the total — is what the shop charged, under every price rule of the profile.

Orders are made the way MijnWebwinkel makes them (`connectors.mijnwebwinkel.money`): line amounts excl.
VAT with 6 decimals, incl. VAT to the cent, VAT per rate on the sums; quantities up to 100,000, unit
prices with 6 decimals, mixed and one-stop-shop rates, discounts and payment costs split over the rates,
shipping at a fixed 21 % or proportionally. AccountView's side is `connectors.accountview.amounts`, the
computation the sandbox books with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from koppel.connectors.accountview.amounts import (
    Amounts,
    LineIn,
    PriceRules,
    cents,
    compute,
    compute_by,
    line_amount,
)
from koppel.connectors.accountview.models import (
    SalesInvoiceIn,
    SalesInvoiceLineIn,
    SalesOrderIn,
    SalesOrderLineIn,
    VatCode,
)
from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.sandbox.documents import amounts_of
from koppel.connectors.mijnwebwinkel.models import Order
from koppel.connectors.mijnwebwinkel.money import (
    excl_from_incl,
    fmt_cents,
    fmt_excl,
    fmt_rate,
    incl_from_excl,
    micros,
    split_pro_rata,
)
from koppel.connectors.mijnwebwinkel.sandbox.orders import totals
from koppel.errors import NeedsAttention
from koppel.flows import order_totals
from koppel.flows.order_mapping import OrderMaps
from koppel.flows.settings import OrdersSettings
from tests.examples import examples
from tests.flows.test_orders import eligible
from tests.flows.world import start_world, sync_orders

RATES = {"NL": ("21", "9", "0"), "BE": ("21", "12", "6"), "DE": ("19", "7")}
VAT_CODES = {
    "21": "H1", "9": "L1", "0": "N0", "reverse_charge": "EU", "export": "N0",
    "BE:21": "BH", "BE:12": "BM", "BE:6": "BL", "DE:19": "DH", "DE:7": "DL",
}  # fmt: skip
AV_CODES = {
    code: VatCode(code=code, description=code, percentage=Decimal(rate), reverse_charge=code == "EU")
    for code, rate in (("H1", 21), ("L1", 9), ("N0", 0), ("EU", 0), ("BH", 21), ("BM", 12), ("BL", 6),
                       ("DH", 19), ("DL", 7))
}  # fmt: skip
PROFILES = [
    PriceRules(prices_include_vat=incl, vat_rounding=rounding, price_decimals=decimals)
    for incl in (False, True)
    for rounding in ("line", "document")
    for decimals in (4, 2)
]
SETTINGS = OrdersSettings.model_validate(
    {"vat_codes": VAT_CODES, "rounding_article": "AFRONDING", "total_tolerance": "1.00",
     "revenue_accounts": {"article": "8000", "shipping": "8100", "payment": "8100", "discount": "8000",
                          "rounding": "8000"}}
)  # fmt: skip


# -- orders as MijnWebwinkel makes them -------------------------------------------------------------------


def part(excl: Decimal, incl: Decimal, rate: Decimal) -> dict[str, str]:
    return {"amount": fmt_excl(excl), "amount_including_tax": fmt_cents(incl), "rate": fmt_rate(rate)}


@dataclass
class ShopLine:
    quantity: int
    unit: Decimal  # 6 decimals; excl. VAT, or incl. when the store's prices include VAT
    rate: Decimal


def shop_order(
    lines: list[ShopLine],
    *,
    country: str = "NL",
    store_incl: bool = False,
    shipping: Decimal = Decimal(0),
    proportional_shipping: bool = False,
    payment: Decimal = Decimal(0),
    discount_pct: Decimal = Decimal(0),
    number: str = "5001",
    negate: bool = False,
    skus: list[str] | None = None,
) -> dict[str, Any]:
    """An order as the shop sends it: the shop's own rounding (line incl. VAT to the cent, excl. with 6
    decimals), costs split pro rata over the article rates, VAT per rate and total from the lines."""
    orderlines: list[dict[str, Any]] = []
    incl_per_rate: dict[Decimal, Decimal] = {}
    for i, line in enumerate(lines):
        if store_incl:
            incl = cents(line.unit * line.quantity)
            excl = excl_from_incl(incl, line.rate)
        else:
            excl = micros(line.unit * line.quantity)
            incl = incl_from_excl(excl, line.rate)
        incl_per_rate[line.rate] = incl_per_rate.get(line.rate, Decimal(0)) + incl
        orderlines.append(
            {"type": "article", "quantity": line.quantity, "description": f"Artikel {i}",
             "articles": [{"sku": skus[i % len(skus)] if skus else f"ART-{i}"}],
             "price": [part(excl, incl, line.rate)]}
        )  # fmt: skip

    def split(kind: str, amount: Decimal) -> None:
        parts = split_pro_rata(amount, incl_per_rate) or {Decimal(21): amount}
        price = [part(excl_from_incl(a, r), a, r) for r, a in parts.items()]
        orderlines.append({"type": kind, "quantity": 1, "description": kind, "price": price})

    subtotal = sum(incl_per_rate.values(), Decimal(0))
    if discount_pct:
        split("discount", -cents(subtotal * discount_pct / 100))
    if shipping:
        if proportional_shipping:
            split("shipping", shipping)
        else:
            rate = Decimal(RATES[country][0])
            orderlines.append({"type": "shipping", "quantity": 1, "description": "Verzending",
                               "price": [part(excl_from_incl(shipping, rate), shipping, rate)]})  # fmt: skip
    if payment:
        split("payment", payment)
    if negate:
        for entry in orderlines:
            entry["price"] = [part(-Decimal(p["amount"]), -Decimal(p["amount_including_tax"]), Decimal(p["rate"]))
                             for p in entry["price"]]  # fmt: skip
    return {
        "number": number, "date": "2026-11-30", "status": 3, "tax_strategy": "", "tax_region": country,
        "debtor": {"email": "klant@example.nl", "address": {"invoice": {"name": "Klant", "zipcode": "1234 AB",
                                                                        "country_code": country}}},
        "price": totals(orderlines), "orderlines": orderlines,
    }  # fmt: skip


def mapped_sales_order(order: Order) -> SalesOrderIn:
    """The sales order as the maps make it, one line per shop line and VAT rate, without the maps (their
    expressions cost more than all the money arithmetic here; the flow tests run the real maps)."""
    lines = [
        SalesOrderLineIn(article_code=line.sku or line.type.upper(), quantity=Decimal(line.quantity), vat_code="??")
        for line in order.orderlines
        for _ in line.price
    ]
    return SalesOrderIn(
        external_ref=order.number, debtor_number="10001", order_date=datetime(2026, 11, 30), lines=lines
    )


def mapped_invoice(order: Order) -> SalesInvoiceIn:
    lines = [
        SalesInvoiceLineIn(ledger_account="8000", description=line.type, amount=Decimal(0), vat_code="??")
        for line in order.orderlines
        for _ in line.price
    ]
    return SalesInvoiceIn(
        external_ref=order.number, debtor_number="10001", journal_code="V", invoice_date=date(2026, 11, 30),
        description=order.number, lines=lines,
    )  # fmt: skip


def sales_order(order: Order, settings: OrdersSettings, rules: PriceRules) -> SalesOrderIn:
    return order_totals.settle_sales_order(order, mapped_sales_order(order), settings, AV_CODES, rules)


def invoice(order: Order, settings: OrdersSettings, rules: PriceRules) -> SalesInvoiceIn:
    return order_totals.settle_invoice(order, mapped_invoice(order), settings, AV_CODES, rules)


def test_the_maps_make_the_lines_the_money_is_settled_on() -> None:
    """What the tests below stand in for: the real maps, for a one-stop-shop order (Belgian VAT codes)."""
    data = shop_order([ShopLine(3, Decimal("2.5"), Decimal(6)), ShopLine(2, Decimal("4"), Decimal(21))], country="BE",
                      shipping=Decimal("6.95"), payment=Decimal("0.29"))  # fmt: skip
    order = Order.model_validate(data)
    maps = OrderMaps(SETTINGS.for_destination("BE"))
    mapped = maps.sales_order(order, debtor_number="10001")
    assert [line.article_code for line in mapped.lines] == [
        line.article_code for line in mapped_sales_order(order).lines
    ][:2] + ["VERZEND", "BETAALKOST", "BETAALKOST"]
    assert [line.vat_code for line in mapped.lines] == ["BL", "BH", "BH", "BL", "BH"]
    document = order_totals.settle_sales_order(order, mapped, SETTINGS, AV_CODES, PriceRules())
    assert_books_equal_shop(order, booked_sales_order(document, PriceRules()), PriceRules())
    invoiced = maps.invoice(order, debtor_number="10001", journal="V")
    settled = order_totals.settle_invoice(order, invoiced, SETTINGS, AV_CODES, PriceRules())
    assert_books_equal_shop(order, booked_invoice(settled, PriceRules()), PriceRules())


def rate_of(code: str | None) -> Decimal:
    vat = AV_CODES[code or ""]
    return Decimal(0) if vat.reverse_charge else vat.percentage


def booked_sales_order(document: SalesOrderIn, rules: PriceRules) -> Amounts:
    """What AccountView books for the sales order, as the sandbox computes it."""
    for line in document.lines:
        assert rules.keeps(line.unit_price or Decimal(0)), f"{line.unit_price} has more than {rules.price_decimals}"
    return compute_by(
        [LineIn(line_amount(line.quantity, line.unit_price or Decimal(0)), rate_of(line.vat_code), line.vat_code or "")
         for line in document.lines],
        rules,
    )  # fmt: skip


def booked_invoice(document: SalesInvoiceIn, rules: PriceRules) -> Amounts:
    amounts = compute(
        [LineIn(cents(line.amount), rate_of(line.vat_code), line.vat_code) for line in document.lines],
        includes_vat=document.amounts_include_vat,
        rounding=rules.vat_rounding,
    )
    for line, booked in zip(document.lines, amounts.lines, strict=True):
        assert line.vat_amount == booked.vat  # AccountView refuses a VAT amount it would not compute
    return amounts


def assert_books_equal_shop(order: Order, booked: Amounts, rules: PriceRules) -> None:
    shop = order_totals.shop_amounts(order, order_totals.vat_codes_of(order, SETTINGS, AV_CODES))
    assert booked.total == order.total
    for rate in set(shop.vat_per_rate) | set(booked.vat_per_rate):
        assert booked.vat_per_rate.get(rate, Decimal(0)) == shop.vat_per_rate.get(rate, Decimal(0)), rate


def assert_lines_equal_shop(order: Order, document: SalesOrderIn, rules: PriceRules) -> None:
    """Each shop line's amount is booked to the cent: its AccountView line, or its two lines a cent apart."""
    shop = order_totals.shop_amounts(order, order_totals.vat_codes_of(order, SETTINGS, AV_CODES))
    lines = [line for line in document.lines if line.article_code != "AFRONDING"]
    by_position = iter(lines)
    for shop_part in shop.parts:
        line = next(by_position)
        amount = line_amount(line.quantity, line.unit_price or Decimal(0))
        quantity = line.quantity
        if quantity != shop_part.quantity:  # split: the rest of the quantity is the next line
            rest = next(by_position)
            assert rest.article_code == line.article_code
            assert rest.unit_price == (line.unit_price or 0) + rules.price_step
            amount += line_amount(rest.quantity, rest.unit_price or Decimal(0))
            quantity += rest.quantity
        assert quantity == shop_part.quantity
        assert amount == shop_part.amount(rules)


# -- strategies -------------------------------------------------------------------------------------------


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    country = draw(st.sampled_from(sorted(RATES)))
    rates = [Decimal(r) for r in RATES[country]]
    store_incl = draw(st.booleans())
    count = draw(st.integers(1, 6))
    lines = [
        ShopLine(
            quantity=draw(st.one_of(st.integers(1, 12), st.integers(1, 100_000))),
            unit=Decimal(draw(st.integers(1, 500_000_000))).scaleb(-6)
            if not store_incl
            else Decimal(draw(st.integers(1, 50_000))).scaleb(-2),
            rate=draw(st.sampled_from(rates)),
        )
        for _ in range(count)
    ]
    return shop_order(
        lines,
        country=country,
        store_incl=store_incl,
        shipping=Decimal(draw(st.sampled_from([0, 395, 695, 1250]))).scaleb(-2),
        proportional_shipping=draw(st.booleans()),
        payment=Decimal(draw(st.sampled_from([0, 29, 35]))).scaleb(-2),
        discount_pct=Decimal(draw(st.sampled_from([0, 5, 10, 15]))),
        negate=draw(st.integers(0, 9)) == 0,  # now and then a credit: the same lines, negative amounts
    )


BOUNDED = settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- the computation AccountView and the sandbox share ----------------------------------------------------


@BOUNDED
@given(
    amounts=st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=12),
    rates=st.lists(st.sampled_from([0, 6, 7, 9, 12, 19, 21]), min_size=12, max_size=12),
    includes_vat=st.booleans(),
    rounding=st.sampled_from(["line", "document"]),
)
def test_vat_per_rate_is_the_lines_vat_and_the_total_adds_up(
    amounts: list[int], rates: list[int], includes_vat: bool, rounding: str
) -> None:
    lines = [LineIn(Decimal(a).scaleb(-2), Decimal(r), f"V{r}") for a, r in zip(amounts, rates, strict=False)]
    booked = compute(lines, includes_vat=includes_vat, rounding=rounding)  # type: ignore[arg-type]
    for rate, vat in booked.vat_per_rate.items():
        members = [(line, b) for line, b in zip(lines, booked.lines, strict=True) if line.rate == rate]
        assert vat == sum((b.vat for _, b in members), Decimal(0))
        if rounding == "document":  # rounded once, on the rate's sum
            total = sum((line.amount for line, _ in members), Decimal(0))
            exact = total * rate / (100 + rate) if includes_vat else total * rate / 100
            assert vat == cents(exact)
        else:
            for line, b in members:
                exact = line.amount * rate / (100 + rate) if includes_vat else line.amount * rate / 100
                assert b.vat == cents(exact)
    assert booked.total == booked.net + booked.vat
    assert booked.total == sum((b.gross for b in booked.lines), Decimal(0))


def test_half_cents_round_away_from_zero_like_foxpro() -> None:
    assert line_amount(Decimal(1), Decimal("0.005")) == Decimal("0.01")
    assert line_amount(Decimal(1), Decimal("-0.005")) == Decimal("-0.01")
    assert PriceRules(price_decimals=4).unit_price(Decimal("123.45"), Decimal(10_000)) == Decimal("0.0123")


# -- the flow's documents against the shop ---------------------------------------------------------------


@BOUNDED
@given(data=orders(), rules=st.sampled_from(PROFILES))
def test_sales_orders_book_the_shops_amounts_under_every_profile(data: dict[str, Any], rules: PriceRules) -> None:
    order = Order.model_validate(data)
    document = sales_order(order, SETTINGS, rules)
    assert_lines_equal_shop(order, document, rules)
    assert_books_equal_shop(order, booked_sales_order(document, rules), rules)
    rounding = [line for line in document.lines if line.article_code == "AFRONDING"]
    assert len(rounding) <= len({p["rate"] for line in data["orderlines"] for p in line["price"]}) + 1


@BOUNDED
@given(data=orders(), rules=st.sampled_from(PROFILES[::2]))
def test_invoices_book_the_shops_amounts_under_every_profile(data: dict[str, Any], rules: PriceRules) -> None:
    order = Order.model_validate(data)
    document = invoice(order, SETTINGS, rules)
    assert document.amounts_include_vat == rules.prices_include_vat
    shop = order_totals.shop_amounts(order, order_totals.vat_codes_of(order, SETTINGS, AV_CODES))
    for line, shop_part in zip(document.lines, shop.parts, strict=False):
        assert line.amount == shop_part.amount(rules)
    assert_books_equal_shop(order, booked_invoice(document, rules), rules)


@BOUNDED
@given(data=orders(), rules=st.sampled_from(PROFILES))
def test_without_a_rounding_article_an_order_is_exact_or_parked_naming_the_difference_and_the_setting(
    data: dict[str, Any], rules: PriceRules
) -> None:
    order = Order.model_validate(data)
    strict = SETTINGS.model_copy(update={"rounding_article": None})
    try:
        document = sales_order(order, strict, rules)
    except NeedsAttention as parked:
        reason = str(parked)
        assert "rounding_article" in reason and "in AccountView" in reason and "in the shop" in reason
        assert "Check the order" not in reason  # the shop is right
        assert f"VAT per {rules.vat_rounding}" in reason
    else:
        assert not [line for line in document.lines if line.article_code == "AFRONDING"]
        assert_books_equal_shop(order, booked_sales_order(document, rules), rules)


def test_ten_thousand_units_at_a_four_decimal_price_book_the_shops_line_total() -> None:
    """The corpus case: 10,000 × 0.012345 excl. VAT is € 123.45; at 0.0123 per unit AccountView would book
    € 123.00, so the line goes as 5,500 × 0.0123 and 4,500 × 0.0124."""
    rules = PriceRules()
    data = shop_order([ShopLine(10_000, Decimal("0.012345"), Decimal(21))])
    order = Order.model_validate(data)
    document = sales_order(order, SETTINGS, rules)
    lines = [(line.quantity, line.unit_price) for line in document.lines if line.article_code == "ART-0"]
    assert lines == [(5_500, Decimal("0.0123")), (4_500, Decimal("0.0124"))]
    assert_books_equal_shop(order, booked_sales_order(document, rules), rules)


def test_a_price_that_fits_goes_as_one_line() -> None:
    data = shop_order([ShopLine(3, Decimal("2.500000"), Decimal(21)), ShopLine(7, Decimal("0.123400"), Decimal(9))])
    document = sales_order(Order.model_validate(data), SETTINGS, PriceRules())
    assert [(line.quantity, line.unit_price) for line in document.lines] == [
        (Decimal(3), Decimal("2.5000")),
        (Decimal(7), Decimal("0.1234")),
    ]


def test_vat_one_cent_off_gets_a_rounding_line_at_that_rate_or_parks_saying_what_to_change() -> None:
    """Ten lines of € 0.04 excl. at 21 %: the shop charges 0.05 incl. per line (VAT 0.10 in all); AccountView
    rounding VAT per document books 0.08: two cents short at 21 %. A 21 % line of 0.06 makes the VAT 0.10,
    and a 0 % line of -0.06 gives the total back."""
    data = shop_order([ShopLine(1, Decimal("0.04"), Decimal(21)) for _ in range(10)])
    order = Order.model_validate(data)
    assert order.price.tax[0].amount == Decimal("0.10")
    per_document = PriceRules(vat_rounding="document")
    document = sales_order(order, SETTINGS, per_document)
    rounding = [(line.vat_code, line.unit_price) for line in document.lines if line.article_code == "AFRONDING"]
    assert rounding == [("H1", Decimal("0.06")), ("N0", Decimal("-0.06"))]
    assert_books_equal_shop(order, booked_sales_order(document, per_document), per_document)
    with pytest.raises(NeedsAttention) as parked:
        sales_order(order, SETTINGS.model_copy(update={"rounding_article": None}), per_document)
    assert "VAT 21% € 0.08 in AccountView, € 0.10 in the shop" in str(parked.value)
    assert "rounding_article" in str(parked.value) and "vat_rounding" in str(parked.value)
    with pytest.raises(NeedsAttention) as too_much:
        sales_order(order, SETTINGS.model_copy(update={"total_tolerance": Decimal("0.01")}), per_document)
    assert "total_tolerance" in str(too_much.value) and "€ 0.02" in str(too_much.value)


def test_a_shop_total_that_does_not_add_up_is_the_shops_to_correct() -> None:
    data = shop_order([ShopLine(2, Decimal("10"), Decimal(21))])
    data["price"]["total"] = "34.20"
    with pytest.raises(NeedsAttention) as parked:
        sales_order(Order.model_validate(data), SETTINGS, PriceRules())
    assert "Check the order's lines in the shop" in str(parked.value) and "€ 10.00" in str(parked.value)


# -- through both sandboxes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "profile",
    [AccountViewProfile(), AccountViewProfile(prices_include_vat=True, vat_rounding="document")],
    ids=["excl-per-line", "incl-per-document"],
)
def test_the_seed_and_hard_orders_book_the_shops_amounts_in_the_accountview_sandbox(
    profile: AccountViewProfile,
) -> None:
    """Every paid order of the seed, plus the corpus cases (10,000 units at a 6-decimal price, many cheap
    lines whose VAT rounds differently, mixed rates with costs split over them), written to an AccountView
    sandbox keeping the other profile: its own computed amounts are the shop's."""
    world = start_world(profile=profile)
    try:
        template = next(o for o in eligible(world) if not o.get("tax_strategy"))
        skus = [a["sku"] for a in world.shop_sandbox.state.articles.values() if a.get("sku")][:6]
        hard = [
            [ShopLine(10_000, Decimal("0.012345"), Decimal(21))],
            [ShopLine(1, Decimal("0.04"), Decimal(21)) for _ in range(10)],
            [ShopLine(99_999, Decimal("1.234567"), Decimal(9)), ShopLine(7, Decimal("0.123456"), Decimal(21))],
        ]
        for i, lines in enumerate(hard):
            data = shop_order(lines, number=str(9501 + i), skus=skus, proportional_shipping=i == 2,
                              shipping=Decimal("6.95"), payment=Decimal("0.29"), discount_pct=Decimal(5))  # fmt: skip
            world.shop_sandbox.add_order({**data, "debtor": template["debtor"], "payment": template["payment"]})
        results = {r.key: r for r in sync_orders(world.flow(total_tolerance="1.00"), full=True)}
        for order in eligible(world):
            number = str(order["number"])
            assert results[number].outcome == "sent", results[number].reason
            (header,) = world.books_sandbox.rows("SO_HDR", COMMENT1=number)
            booked = amounts_of(world.books_sandbox.state, "SO_HDR", header["ORD_NR"])
            assert Decimal(booked["total"]) == Decimal(order["price"]["total"]), number
            shop_vat = {Decimal(t["rate"]): Decimal(t["amount"]) for t in order["price"]["tax"] if Decimal(t["rate"])}
            assert {Decimal(r): Decimal(v) for r, v in booked["vat_per_rate"].items() if Decimal(r)} == shop_vat
        assert {"9501", "9502", "9503"} <= set(results)
    finally:
        world.stop()


def test_a_shop_total_a_few_cents_beyond_its_lines_goes_on_a_zero_rate_line_or_parks_naming_the_code() -> None:
    data = shop_order([ShopLine(2, Decimal("10"), Decimal(21))])
    data["price"]["total"] = "24.23"  # the lines make 24.20
    order = Order.model_validate(data)
    document = sales_order(order, SETTINGS, PriceRules())
    rounding = [(line.vat_code, line.unit_price) for line in document.lines if line.article_code == "AFRONDING"]
    assert rounding == [("N0", Decimal("0.03"))]
    without_zero = {k: v for k, v in VAT_CODES.items() if k not in ("0", "export")}
    with pytest.raises(NeedsAttention) as parked:
        sales_order(order, SETTINGS.model_copy(update={"vat_codes": without_zero}), PriceRules())
    assert parked.value.field == "vat_codes" and "'0'" in str(parked.value) and "Afronding" in str(parked.value)
