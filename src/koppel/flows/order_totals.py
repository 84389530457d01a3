"""The money of an order, settled before anything is written: every VAT rate the shop charged has an
AccountView VAT code of that rate (by destination country and rate for the EU one-stop shop; reverse
charge needs the buyer's VAT number), quantities fit, and what AccountView will compute from the lines we
send — each line's amount, VAT per rate, the document total — equals what the shop charged, to the cent.

AccountView computes by the administration's price rules (`connectors.accountview.amounts`: prices incl.
or excl. VAT, VAT rounded per line or per rate, unit prices kept to `price_decimals`). So we choose what
to send: a line's unit price is its amount ÷ quantity in the decimals AccountView keeps; when no such price
gives the line's amount to the cent, the line goes as two lines of the same article one price step apart
(10,000 units for € 123.45: 5,500 × 0.0123 and 4,500 × 0.0124). Where AccountView's VAT rounding still
differs from the shop's, a rounding line per VAT rate carries the difference (on the rounding article, or
the rounding revenue account of an invoice), or the order is parked naming the exact difference, the
setting involved and what to change. Decimal arithmetic only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import TypeVar

from koppel.connectors.accountview.amounts import (
    CENT,
    HUNDRED,
    Amounts,
    LineIn,
    PriceRules,
    cents,
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
from koppel.connectors.mijnwebwinkel.models import LinePrice, Order
from koppel.errors import NeedsAttention
from koppel.flows.order_mapping import vat_key
from koppel.flows.settings import OrdersSettings
from koppel.reasons import Reason, joined, reason

MAX_QUANTITY = Decimal(999_999_999)  # SO_LINE.ORD_QTY is N(13) with 3 decimals
ROUNDING_TEXT = "Afronding"
_VAT_SETTING_NAMES = {"reverse_charged_vat": "reverse_charge", "zero_percent": "export"}
_SEARCH_SLACK = 3  # cents searched beyond the estimate for a rounding amount


def euro(value: Decimal) -> str:
    return f"€ {cents(value):f}"


def _pct(rate: Decimal) -> str:
    return f"{rate.normalize():f}%"


def destination(order: Order) -> str | None:
    """The country whose VAT the shop charged (one-stop shop: the consumer's), upper case."""
    country = order.tax_region or order.country_code
    return country.upper() if country else None


# -- checks before any money -------------------------------------------------------------------------------


def check_lines(order: Order) -> None:
    """Quantities AccountView can book; an order with lines."""
    if not order.orderlines:
        raise NeedsAttention(reason("Order {order} has no lines. Check the order in the shop.", order=order.number),
                             field="orderlines")
    for line in order.orderlines:
        what = line.description or line.sku or line.type
        if line.quantity <= 0:
            raise NeedsAttention(
                reason("Line '{line}' has quantity {quantity}; AccountView books positive quantities only. Correct "
                       "the order in the shop (or skip it).", line=what, quantity=line.quantity),
                field="orderlines.quantity",
                value=line.quantity,
            )
        if line.quantity > MAX_QUANTITY:
            raise NeedsAttention(
                reason("Line '{line}' has quantity {quantity}, more than AccountView can hold ({most}). Correct the "
                       "order in the shop.", line=what, quantity=line.quantity, most=MAX_QUANTITY),
                field="orderlines.quantity",
                value=line.quantity,
            )


def vat_codes_of(order: Order, settings: OrdersSettings, codes: Mapping[str, VatCode]) -> dict[Decimal, VatCode]:
    """The AV VAT code of every VAT rate the shop charged on the order (by destination country and rate,
    else by rate alone), checked against AccountView: it exists and has that rate."""
    if order.tax_strategy == "reverse_charged_vat" and not order.customer.vat_number:
        raise NeedsAttention(
            reason("Order {order} is reverse-charged (intra-EU B2B) but carries no VAT number of the buyer. Add the "
                   "buyer's VAT number to the order in the shop.", order=order.number),
            field="debtor.address.invoice.taxnumber",
        )
    country = destination(order)
    found: dict[Decimal, VatCode] = {}
    for line in order.orderlines:
        for part in line.price or []:
            if part.rate not in found:
                found[part.rate] = _vat_code(order, part.rate, settings, codes, country, line.description or line.type)
    return found


def _vat_code(
    order: Order, rate: Decimal, settings: OrdersSettings, codes: Mapping[str, VatCode], country: str | None, what: str
) -> VatCode:
    key = vat_key(order, rate)
    code = settings.vat_code(key, country)
    strategy = _VAT_SETTING_NAMES.get(key)
    name = strategy or (f"{_pct(rate)} ({country})" if country else _pct(rate))
    charged: Reason = (
        reason("{strategy} VAT", strategy=strategy) if strategy
        else reason("{rate} VAT ({country})", rate=_pct(rate), country=country) if country
        else reason("{rate} VAT", rate=_pct(rate))
    )
    if code is None:
        how = (
            f"'{strategy}'"
            if strategy
            else reason("'{key}' (or the rate alone, '{rate}')", key=f"{country}:{rate.normalize():f}",
                        rate=f"{rate.normalize():f}")
            if country
            else f"'{rate.normalize():f}'"
        )
        raise NeedsAttention(
            reason("The shop charged {charged} on '{line}', but the integration's settings name no AccountView VAT "
                   "code for {name}. Add {how} under VAT codes in the settings.",
                   charged=charged, line=what, name=name, how=how),
            field="vat_codes",
            value=f"{country}:{rate.normalize():f}" if country and not strategy else key,
        )
    vat = codes.get(code.upper())
    if vat is None:
        raise NeedsAttention(
            reason("VAT code {code} (for {name}) does not exist in AccountView. Correct the VAT codes in the "
                   "integration's settings.", code=code, name=name),
            field="vat_codes",
            value=code,
        )
    expected = Decimal(0) if strategy else rate
    if not vat.reverse_charge and vat.percentage != expected:
        raise NeedsAttention(
            reason("VAT code {code} is {rate} in AccountView but is set for {name}. Correct the VAT codes in the "
                   "integration's settings.", code=code, rate=_pct(vat.percentage), name=name),
            field="vat_codes",
            value=code,
        )
    return vat


def check_vat(order: Order, settings: OrdersSettings, codes: Mapping[str, VatCode]) -> None:
    """Every VAT rate of the order maps to an existing AV VAT code of that rate."""
    vat_codes_of(order, settings, codes)


# -- what the shop charged -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopPart:
    """One VAT-rate part of a shop line, as the maps make one AccountView line of it."""

    quantity: Decimal
    net: Decimal  # excl. VAT, up to 6 decimals
    gross: Decimal  # incl. VAT, to the cent
    rate: Decimal  # the rate AccountView computes with (0 when reverse-charged)
    code: str  # the AV VAT code

    def amount(self, rules: PriceRules) -> Decimal:
        """The line's amount to the cent as AccountView must book it: incl. or excl. VAT per the rules."""
        return cents(self.gross) if rules.prices_include_vat else cents(self.net)


@dataclass(frozen=True)
class ShopAmounts:
    """What the shop charged, per line part and per VAT rate (the rates AccountView computes with)."""

    parts: list[ShopPart]
    vat_per_rate: dict[Decimal, Decimal]
    gross_per_rate: dict[Decimal, Decimal]
    net_per_rate: dict[Decimal, Decimal]  # unrounded: the lines' excl. amounts
    total: Decimal
    codes: dict[Decimal, str]  # the AV VAT code per rate


def shop_amounts(order: Order, vat: Mapping[Decimal, VatCode]) -> ShopAmounts:
    """The shop's line parts (in the order the maps read them), VAT per rate and total, with `vat` the AV VAT
    code of each shop rate. VAT per rate is the shop's own figure; a rate it does not list is its lines'
    incl. minus excl., to the cent."""
    parts = []
    for line in order.orderlines:
        for part in line.price or [_NO_PRICE]:
            code = vat.get(part.rate)
            rate = Decimal(0) if code is None or code.reverse_charge else code.percentage
            parts.append(
                ShopPart(
                    Decimal(line.quantity),
                    part.amount or Decimal(0),
                    part.amount_including_tax or Decimal(0),
                    rate,
                    code.code if code else "",
                )
            )
    listed: dict[Decimal, Decimal] = {}
    for tax in order.price.tax:
        code = vat.get(tax.rate)
        rate = tax.rate if code is None else Decimal(0) if code.reverse_charge else code.percentage
        listed[rate] = listed.get(rate, Decimal(0)) + tax.amount
    gross: dict[Decimal, Decimal] = {}
    net: dict[Decimal, Decimal] = {}
    codes: dict[Decimal, str] = {}
    for shop_part in parts:
        gross[shop_part.rate] = gross.get(shop_part.rate, Decimal(0)) + shop_part.gross
        net[shop_part.rate] = net.get(shop_part.rate, Decimal(0)) + shop_part.net
        codes.setdefault(shop_part.rate, shop_part.code)
    # At 0% there is no VAT: what a shop lists there is its excl. amounts' rounding, and stays in the total.
    vat_per_rate = {rate: listed.get(rate, cents(gross[rate] - net[rate])) if rate else Decimal(0) for rate in gross}
    return ShopAmounts(parts, vat_per_rate, gross, net, order.total, codes)


_NO_PRICE = LinePrice.model_validate({})  # a line without a price part still makes one line, at 0


def check_shop(order: Order, shop: ShopAmounts, settings: OrdersSettings) -> None:
    """The shop's figures agree with each other (total = its lines; VAT per rate = its lines' VAT) within the
    tolerance; beyond it the order itself is wrong, and only the shop can correct it."""
    lines = sum(shop.gross_per_rate.values(), Decimal(0))
    if abs(shop.total - lines) > settings.total_tolerance:
        raise NeedsAttention(
            reason("The shop's total of order {order} is {total}, but its own lines add up to {lines} (a difference "
                   "of {difference}, more than the tolerance of {tolerance}). Check the order's lines in the shop.",
                   order=order.number, total=euro(shop.total), lines=euro(lines),
                   difference=euro(shop.total - lines), tolerance=euro(settings.total_tolerance)),
            field="price.total",
            value=f"{shop.total:f}",
        )
    for rate, vat in shop.vat_per_rate.items():
        if not rate:
            continue
        own = cents(shop.gross_per_rate[rate] - shop.net_per_rate[rate])
        if abs(vat - own) > settings.total_tolerance:
            raise NeedsAttention(
                reason("The shop lists {vat} VAT at {rate} on order {order}, but its own lines carry {own}. Check "
                       "the order's VAT in the shop.", vat=euro(vat), rate=_pct(rate), order=order.number,
                       own=euro(own)),
                field="price.tax",
                value=f"{vat:f}",
            )


# -- the documents -------------------------------------------------------------------------------------------


def settle_sales_order(
    order: Order, document: SalesOrderIn, settings: OrdersSettings, codes: Mapping[str, VatCode], rules: PriceRules
) -> SalesOrderIn:
    """The sales order priced so AccountView books the shop's amounts: unit prices (a line split in two where
    needed), the VAT codes of the destination, and rounding lines per rate where the rounding differs."""
    shop = _shop(order, settings, codes)
    priced: list[SalesOrderLineIn] = []
    for line, part in zip(_one_per_part(document.lines, shop, order), shop.parts, strict=True):
        priced.extend(_priced(line.model_copy(update={"vat_code": part.code}), part, rules))
    rates = {part.code: part.rate for part in shop.parts}
    books = [
        LineIn(
            line_amount(line.quantity, line.unit_price or Decimal(0)), rates[line.vat_code or ""], line.vat_code or ""
        )
        for line in priced
    ]
    rounding = _rounding(order, shop, books, settings, codes, rules)
    _check_books(order, shop, compute_by([*books, *rounding], rules), rules)
    article = (settings.rounding_article or "").upper()
    priced += [
        SalesOrderLineIn(
            article_code=article,
            quantity=Decimal(1),
            unit_price=extra.amount,
            description=f"{ROUNDING_TEXT} {_pct(extra.rate)}",
            vat_code=extra.vat_code,
        )
        for extra in rounding
    ]
    return document.model_copy(update={"lines": priced})


def settle_invoice(
    order: Order, document: SalesInvoiceIn, settings: OrdersSettings, codes: Mapping[str, VatCode], rules: PriceRules
) -> SalesInvoiceIn:
    """The invoice with the shop's line amounts, AccountView's own VAT per line (a VAT amount it would compute
    otherwise is refused), and rounding lines per rate where the rounding differs."""
    shop = _shop(order, settings, codes)
    lines = _one_per_part(document.lines, shop, order)
    books = [LineIn(part.amount(rules), part.rate, part.code) for part in shop.parts]
    rounding = _rounding(order, shop, books, settings, codes, rules)
    amounts = compute_by([*books, *rounding], rules)
    _check_books(order, shop, amounts, rules)
    account = ""
    if rounding:
        account = settings.revenue_accounts.get("rounding") or settings.revenue_accounts.get("article") or ""
        if not account:
            raise NeedsAttention(
                reason("A rounding line is needed but no revenue account is set for it. Set revenue "
                       "account 'rounding' in the integration's settings."),
                field="revenue_accounts",
            )
    out = [
        line.model_copy(update={"amount": b.amount, "vat_code": b.vat_code, "vat_amount": booked.vat})
        for line, b, booked in zip(lines, books, amounts.lines[: len(books)], strict=True)
    ]
    out += [
        SalesInvoiceLineIn(
            ledger_account=account,
            description=f"{ROUNDING_TEXT} {_pct(extra.rate)}",
            amount=extra.amount,
            vat_code=extra.vat_code,
            vat_amount=booked.vat,
        )
        for extra, booked in zip(rounding, amounts.lines[len(books) :], strict=True)
    ]
    return document.model_copy(update={"lines": out, "amounts_include_vat": rules.prices_include_vat})


def _shop(order: Order, settings: OrdersSettings, codes: Mapping[str, VatCode]) -> ShopAmounts:
    shop = shop_amounts(order, vat_codes_of(order, settings, codes))
    check_shop(order, shop, settings)
    return shop


_Line = TypeVar("_Line", SalesOrderLineIn, SalesInvoiceLineIn)


def _one_per_part(lines: list[_Line], shop: ShopAmounts, order: Order) -> list[_Line]:
    if len(lines) != len(shop.parts):  # a map override that adds or drops lines: amounts can't be matched
        raise NeedsAttention(
            reason("The mapped order {order} has {lines} lines for the shop's {parts} line parts (one per line and "
                   "VAT rate); the amounts can't be matched. Correct the line mapping.",
                   order=order.number, lines=len(lines), parts=len(shop.parts)),
            field="orderlines",
        )
    return lines


def _priced(line: SalesOrderLineIn, part: ShopPart, rules: PriceRules) -> list[SalesOrderLineIn]:
    """The line with a unit price giving the part's amount to the cent (the shop's own unit price when it
    does); or, when no price AccountView keeps does, the same article in two lines whose prices are one price
    step apart (q − k units at p, k at p + 0.0001), their amounts, each rounded to the cent by AccountView,
    adding up to the part's amount."""
    quantity, amount = line.quantity, part.amount(rules)
    exact = part.gross if rules.prices_include_vat else part.net
    for price in (rules.unit_price(exact, quantity), rules.unit_price(amount, quantity)):
        if line_amount(quantity, price) == amount:
            return [line.model_copy(update={"unit_price": price})]
    step = rules.price_step
    base = (amount / quantity).quantize(step, rounding=ROUND_FLOOR)
    upper = ((amount - base * quantity) / step).to_integral_value(rounding=ROUND_FLOOR)
    # Each part is rounded on its own: when the exact split puts half a cent in both, a neighbour works.
    for k in (upper, upper - 1, upper + 1, upper - 2, upper + 2):
        if 0 < k < quantity and line_amount(quantity - k, base) + line_amount(k, base + step) == amount:
            return [
                line.model_copy(update={"quantity": quantity - k, "unit_price": base}),
                line.model_copy(update={"quantity": k, "unit_price": base + step}),
            ]
    return [line.model_copy(update={"unit_price": price})]  # left to the rounding line


def _rounding(
    order: Order,
    shop: ShopAmounts,
    books: list[LineIn],
    settings: OrdersSettings,
    codes: Mapping[str, VatCode],
    rules: PriceRules,
) -> list[LineIn]:
    """Rounding lines making AccountView's VAT per rate and total the shop's: at most one per rate, on that
    rate's code (the amount nearest to what the rate misses whose VAT makes up the rate's VAT difference),
    and a 0% line for the rest of the total. Parks when rounding lines are not allowed or carry more than the
    tolerance."""
    before = compute_by(books, rules)
    extra: dict[Decimal, LineIn] = {}
    for rate, shop_vat in sorted(shop.vat_per_rate.items()):
        if before.vat_per_rate.get(rate, Decimal(0)) == shop_vat:
            continue
        members = [line for line in books if line.rate == rate]
        booked = sum((line.amount for line in members), Decimal(0))
        wanted = shop.gross_per_rate[rate] - (Decimal(0) if rules.prices_include_vat else shop_vat)
        amount = _rounding_amount(members, rate, shop.codes[rate], shop_vat, wanted - booked, rules)
        if amount is None:
            _park_difference(order, shop, before, settings, rules, impossible=rate)
        elif amount:
            extra[rate] = LineIn(amount, rate, shop.codes[rate])
    # What the shop's total has beyond its own lines is no rate's: it goes on a 0% line. What AccountView's
    # rounding leaves short goes on a rate's line whose VAT it leaves alone, else on the 0% line too.
    unexplained = shop.total - sum(shop.gross_per_rate.values(), Decimal(0))
    missing = shop.total - unexplained - compute_by([*books, *extra.values()], rules).total
    if missing:
        carried = _carry_total(shop, books, extra, missing, rules)
        if carried is None:
            unexplained += missing
        else:
            extra = carried
    if unexplained:
        zero = shop.codes.get(Decimal(0))
        code = zero or _vat_code(order, Decimal(0), settings, codes, destination(order), ROUNDING_TEXT).code
        already = extra.get(Decimal(0), LineIn(Decimal(0), Decimal(0), code)).amount
        extra[Decimal(0)] = LineIn(already + unexplained, Decimal(0), code)
    if extra:
        _park_difference(order, shop, before, settings, rules)
    return [line for line in extra.values() if line.amount]


def _carry_total(
    shop: ShopAmounts, books: list[LineIn], extra: dict[Decimal, LineIn], missing: Decimal, rules: PriceRules
) -> dict[Decimal, LineIn] | None:
    """The rounding lines with `missing` added to a rate's line (made if need be) whose VAT stays the shop's."""
    for rate in sorted(shop.vat_per_rate, reverse=True):
        line = extra.get(rate, LineIn(Decimal(0), rate, shop.codes[rate]))
        grown = LineIn(line.amount + missing, rate, line.vat_code)
        booked = compute_by([*(b for b in books if b.rate == rate), grown], rules)
        if booked.vat_per_rate.get(rate, Decimal(0)) == shop.vat_per_rate[rate]:
            return {**extra, rate: grown}
    return None


def _rounding_amount(
    members: list[LineIn], rate: Decimal, code: str, shop_vat: Decimal, ideal: Decimal, rules: PriceRules
) -> Decimal | None:
    """The amount nearest `ideal` whose rounding line, beside `members`, brings the rate's VAT to the shop's."""

    def fits(amount: Decimal) -> bool:
        books = compute_by([*members, LineIn(amount, rate, code)], rules)
        return books.vat_per_rate.get(rate, Decimal(0)) == shop_vat

    if rate == 0:
        return ideal if fits(ideal) else None
    short = abs(shop_vat - compute_by(members, rules).vat_per_rate.get(rate, Decimal(0)))
    base = HUNDRED + rate if rules.prices_include_vat else HUNDRED
    reach = int((short + CENT) * base / rate / CENT) + _SEARCH_SLACK + int(abs(ideal) / CENT)
    for step in range(reach + 1):
        for amount in {ideal + step * CENT, ideal - step * CENT}:
            if fits(amount):
                return amount
    return None


def _park_difference(
    order: Order,
    shop: ShopAmounts,
    books: Amounts,
    settings: OrdersSettings,
    rules: PriceRules,
    *,
    impossible: Decimal | None = None,
) -> None:
    """Park when the difference between AccountView's rounding and the shop's can't or may not be carried by
    rounding lines; say by how much, why (the profile's rules), and what to change. Else return."""
    differences: list[str] = []
    largest = Decimal(0)
    for rate, shop_vat in sorted(shop.vat_per_rate.items()):
        book_vat = books.vat_per_rate.get(rate, Decimal(0))
        if book_vat != shop_vat:
            differences.append(reason("VAT {rate} {books} in AccountView, {shop} in the shop", rate=_pct(rate),
                                      books=euro(book_vat), shop=euro(shop_vat)))
            largest = max(largest, abs(book_vat - shop_vat))
    if books.total != shop.total:
        differences.append(reason("total {books} in AccountView, {shop} in the shop", books=euro(books.total),
                                  shop=euro(shop.total)))
        largest = max(largest, abs(books.total - shop.total))
    rule = reason(
        "AccountView rounds VAT per {rounding} on prices {included} VAT with {decimals} decimals (the connection's "
        "profile: vat_rounding, prices_include_vat, price_decimals)", rounding=rules.vat_rounding,
        included=reason("incl.") if rules.prices_include_vat else reason("excl."), decimals=rules.price_decimals)
    head = reason("Order {order}: {differences}. {rule}.", order=order.number, rule=rule,
                  differences=joined(differences) if differences else reason("the amounts differ"))
    if impossible is not None:
        raise NeedsAttention(
            reason("{head} No rounding line at {rate} can make up the difference. If the profile does not "
                   "describe your administration, correct it on the AccountView connection.",
                   head=head, rate=_pct(impossible)),
            field="vat_rounding",
            value=rules.vat_rounding,
        )
    if not settings.rounding_article:
        raise NeedsAttention(
            reason("{head} The shop's amounts are right; name a rounding article in the integration's settings "
                   "(rounding_article) so a rounding line carries the difference, or, if the profile does not "
                   "describe your administration, correct it on the AccountView connection.", head=head),
            field="rounding_article",
        )
    if largest > settings.total_tolerance:
        raise NeedsAttention(
            reason("{head} The difference of up to {largest} is more than the rounding tolerance of {tolerance}. "
                   "Raise total_tolerance in the integration's settings to let a rounding line carry it, or correct "
                   "the profile on the AccountView connection if it does not describe your administration.",
                   head=head, largest=euro(largest), tolerance=euro(settings.total_tolerance)),
            field="total_tolerance",
            value=f"{largest:f}",
        )


def _check_books(order: Order, shop: ShopAmounts, books: Amounts, rules: PriceRules) -> None:
    """The last check before writing: AccountView's VAT per rate and total are the shop's."""
    rates = set(shop.vat_per_rate) | set(books.vat_per_rate)
    wrong = [
        rate for rate in rates if books.vat_per_rate.get(rate, Decimal(0)) != shop.vat_per_rate.get(rate, Decimal(0))
    ]
    def per_rate(vat: Mapping[Decimal, Decimal]) -> str:
        return ", ".join(f"{_pct(r)} {euro(vat.get(r, Decimal(0)))}" for r in sorted(rates))

    if wrong or books.total != shop.total:
        raise NeedsAttention(
            reason("Order {order}: AccountView would book a total of {books_total} and VAT {books_vat}; the shop "
                   "charged {shop_total} and VAT {shop_vat} (AccountView rounds VAT per {rounding}). Check the "
                   "AccountView connection's profile.", order=order.number, books_total=euro(books.total),
                   books_vat=per_rate(books.vat_per_rate),
                   shop_total=euro(shop.total),
                   shop_vat=per_rate(shop.vat_per_rate),
                   rounding=rules.vat_rounding),
            field="price.tax",
        )
