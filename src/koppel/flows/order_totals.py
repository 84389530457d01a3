"""VAT and totals of an order, checked before anything is written: every VAT rate the shop charged has
an AccountView VAT code of that rate (reverse charge needs the buyer's VAT number), quantities fit,
and the total AccountView will compute from the lines equals the shop's total within the tolerance,
with a rounding line for the difference when the settings name a rounding article.

Decimal arithmetic only; AccountView's rule is assumed to be: line amount = quantity × unit price to
the cent, VAT per VAT code on the sum of its lines, to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from koppel.connectors.accountview.models import (
    SalesInvoiceIn,
    SalesInvoiceLineIn,
    SalesOrderIn,
    SalesOrderLineIn,
    VatCode,
)
from koppel.connectors.mijnwebwinkel.models import Order
from koppel.errors import NeedsAttention
from koppel.flows.order_mapping import VAT_KEY_ALIASES, vat_key
from koppel.flows.settings import OrdersSettings

CENT = Decimal("0.01")
MAX_QUANTITY = Decimal(999_999_999)  # SO_LINE.ORD_QTY is N(13) with 3 decimals
ROUNDING_TEXT = "Afronding"
_VAT_SETTING_NAMES = {"reverse_charged_vat": "reverse_charge", "zero_percent": "export"}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def euro(value: Decimal) -> str:
    return f"€ {cents(value):f}"


def check_lines(order: Order) -> None:
    """Quantities AccountView can book; an order with lines."""
    if not order.orderlines:
        raise NeedsAttention(f"Order {order.number} has no lines. Check the order in the shop.", field="orderlines")
    for line in order.orderlines:
        what = line.description or line.sku or line.type
        if line.quantity <= 0:
            raise NeedsAttention(
                f"Line '{what}' has quantity {line.quantity}; AccountView books positive "
                "quantities only. Correct the order in the shop (or skip it).",
                field="orderlines.quantity",
                value=line.quantity,
            )
        if line.quantity > MAX_QUANTITY:
            raise NeedsAttention(
                f"Line '{what}' has quantity {line.quantity}, more than AccountView can hold "
                f"({MAX_QUANTITY}). Correct the order in the shop.",
                field="orderlines.quantity",
                value=line.quantity,
            )


def check_vat(order: Order, settings: OrdersSettings, codes: Mapping[str, VatCode]) -> None:
    """Every VAT rate of the order maps to an existing AV VAT code of that rate."""
    table = {VAT_KEY_ALIASES.get(k, k): v for k, v in settings.vat_codes.items()}
    if order.tax_strategy == "reverse_charged_vat" and not order.customer.vat_number:
        raise NeedsAttention(
            f"Order {order.number} is reverse-charged (intra-EU B2B) but carries no VAT number "
            "of the buyer. Add the buyer's VAT number to the order in the shop.",
            field="debtor.address.invoice.taxnumber",
        )
    for line in order.orderlines:
        for part in line.price:
            key = vat_key(order, part.rate)
            code = _lookup(table, key)
            name = _VAT_SETTING_NAMES.get(key, f"{key}%")
            if code is None:
                raise NeedsAttention(
                    f"The shop charged {name} VAT on '{line.description or line.type}', but the "
                    f"integration's settings name no AccountView VAT code for {name}. Add it under VAT "
                    "codes in the settings.",
                    field="vat_codes",
                    value=key,
                )
            vat = codes.get(code.upper())
            if vat is None:
                raise NeedsAttention(
                    f"VAT code {code} (for {name}) does not exist in AccountView. Correct the VAT "
                    "codes in the integration's settings.",
                    field="vat_codes",
                    value=code,
                )
            expected = Decimal(0) if key in _VAT_SETTING_NAMES else part.rate
            if not vat.reverse_charge and vat.percentage != expected:
                raise NeedsAttention(
                    f"VAT code {code} is {vat.percentage.normalize():f}% in AccountView but is set "
                    f"for {name}. Correct the VAT codes in the integration's settings.",
                    field="vat_codes",
                    value=code,
                )


def _lookup(table: Mapping[str, str], key: str) -> str | None:
    if key in table:
        return table[key]
    try:
        wanted = Decimal(key)
    except ArithmeticError:
        return None
    for entry, code in table.items():
        try:
            if Decimal(entry) == wanted:
                return code
        except ArithmeticError:
            continue
    return None


def sales_order_total(order: SalesOrderIn, codes: Mapping[str, VatCode]) -> Decimal:
    """The total incl. VAT AccountView will compute for the sales order."""
    net: dict[str, Decimal] = {}
    for line in order.lines:
        amount = cents(line.quantity * (line.unit_price or Decimal(0)))
        net[(line.vat_code or "").upper()] = net.get((line.vat_code or "").upper(), Decimal(0)) + amount
    return sum((amount + _vat(amount, codes.get(code)) for code, amount in net.items()), Decimal(0))


def invoice_total(invoice: SalesInvoiceIn) -> Decimal:
    return sum((line.amount + (line.vat_amount or Decimal(0)) for line in invoice.lines), Decimal(0))


def _vat(amount: Decimal, code: VatCode | None) -> Decimal:
    if code is None or code.reverse_charge:
        return Decimal(0)
    return cents(amount * code.percentage / 100)


def balance_sales_order(
    shop: Order, order: SalesOrderIn, codes: Mapping[str, VatCode], settings: OrdersSettings
) -> SalesOrderIn:
    """The sales order, with a rounding line when configured; NeedsAttention when the totals differ more
    than the tolerance."""
    difference = _difference(shop, sales_order_total(order, codes), settings)
    if not difference or not settings.rounding_article:
        return order
    line = SalesOrderLineIn(
        article_code=settings.rounding_article.upper(),
        quantity=Decimal(1),
        unit_price=difference,
        description=ROUNDING_TEXT,
        vat_code=_zero_code(settings),
    )
    return order.model_copy(update={"lines": [*order.lines, line]})


def balance_invoice(shop: Order, invoice: SalesInvoiceIn, settings: OrdersSettings) -> SalesInvoiceIn:
    difference = _difference(shop, invoice_total(invoice), settings)
    if not difference or not settings.rounding_article:
        return invoice
    account = settings.revenue_accounts.get("rounding") or settings.revenue_accounts.get("article")
    if not account:
        raise NeedsAttention(
            "A rounding line is needed but no revenue account is set for it. Set revenue "
            "account 'rounding' in the integration's settings.",
            field="revenue_accounts",
        )
    line = SalesInvoiceLineIn(
        ledger_account=account,
        description=ROUNDING_TEXT,
        amount=difference,
        vat_code=_zero_code(settings),
        vat_amount=Decimal(0),
    )
    return invoice.model_copy(update={"lines": [*invoice.lines, line]})


def _difference(shop: Order, computed: Decimal, settings: OrdersSettings) -> Decimal:
    difference = cents(shop.total - computed)
    if abs(difference) > settings.total_tolerance:
        raise NeedsAttention(
            f"The shop's total of order {shop.number} is {euro(shop.total)}, but its lines add up to "
            f"{euro(computed)} in AccountView (a difference of {euro(difference)}, more than the tolerance of"
            " "
            f"{euro(settings.total_tolerance)}). Check the order's lines and VAT in the shop.",
            field="price.total",
            value=f"{shop.total:f}",
        )
    return difference


def _zero_code(settings: OrdersSettings) -> str:
    code = _lookup(settings.vat_codes, "0")
    if code is None:
        raise NeedsAttention(
            "A rounding line needs a 0% VAT code: add VAT code '0' to the integration's settings.",
            field="vat_codes",
            value="0",
        )
    return code
