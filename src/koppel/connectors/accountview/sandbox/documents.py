"""Rules over a whole sales order or sales invoice, beyond single columns: what the server fills in from the
article or the administration, the delivery address belonging to the order's debtor, a unit price within
the administration's price precision, and the amounts AccountView computes (`money.py`). An invoice line's
VAT is AccountView's: one sent that differs is refused, naming the field and the amount expected.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.accountview.amounts import Amounts, LineIn, cents, compute
from koppel.connectors.accountview.sandbox.errors import ApiError, field_error

if TYPE_CHECKING:
    from koppel.connectors.accountview.sandbox.state import Row, Sandbox


def exact(value: Any) -> Decimal:
    """A stored number (float with few decimals) as the Decimal it was written as."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value or 0))


def fill_in(sandbox: Sandbox, table: str, row: Row, given: set[str]) -> None:
    """Values a client left out that AccountView takes from the article or the administration's rules."""
    profile = sandbox.profile
    if table == "SO_LINE":
        article = sandbox.tables["ARTICLE"].get(row.get("ART_CODE", ""))
        if article is not None:
            if "ART_PX" not in given:
                row["ART_PX"] = article.get("PX_SELL") or 0.0
            if "VAT_CODE" not in given:
                row["VAT_CODE"] = article.get(profile.article_vat_field) or ""
    if table == "DJ_PAGE" and "GROSS_FLG" not in given:
        row["GROSS_FLG"] = profile.prices_include_vat


def check_price(sandbox: Sandbox, table: str, row: Row) -> None:
    """A sales-order unit price keeps at most the administration's price decimals."""
    if table != "SO_LINE":
        return
    kept = sandbox.profile.price_decimals
    price = exact(row.get("ART_PX")).normalize()
    given = max(0, -int(price.as_tuple().exponent))
    if given > kept:
        raise field_error(
            table,
            "ART_PX",
            f"heeft {given} decimalen; de administratie rekent met {kept} decimalen voor prijzen",
            f"has {given} decimals; the administration keeps {kept} decimals for prices",
            number=1018,
        )


def check_delivery_address(sandbox: Sandbox, table: str, row: Row) -> None:
    """An order's delivery address belongs to its delivery debtor (or, without one, its invoice debtor)."""
    if table != "SO_HDR" or not row.get("DEL_CODE"):
        return
    address = sandbox.tables["DEL_ADDR"].get(row["DEL_CODE"])
    if address is None:
        return  # the reference check names an unknown address
    debtor = row.get("RPL_DEL") or row.get("RPL_INV")
    if address.get("SUB_NR") != debtor:
        raise field_error(
            table,
            "DEL_CODE",
            f"'{row['DEL_CODE']}' is een afleveradres van debiteur {address.get('SUB_NR')}, niet van {debtor}",
            f"'{row['DEL_CODE']}' is a delivery address of debtor {address.get('SUB_NR')}, not of {debtor}",
            number=1019,
        )


def vat_rate(sandbox: Sandbox, code: str) -> Decimal:
    vat = sandbox.tables["VAT"].get(code or "")
    if vat is None or vat.get("IS_REVERSE"):
        return Decimal(0)
    return exact(vat.get("VAT_PCT"))


def sales_order_amounts(sandbox: Sandbox, lines: list[Row]) -> Amounts:
    lines_in = [
        LineIn(
            amount=cents(exact(line.get("ORD_QTY")) * exact(line.get("ART_PX"))),
            rate=vat_rate(sandbox, line.get("VAT_CODE", "")),
            vat_code=line.get("VAT_CODE", ""),
        )
        for line in lines
    ]
    profile = sandbox.profile
    return compute(lines_in, includes_vat=profile.prices_include_vat, rounding=profile.vat_rounding)


def _invoice_line_code(sandbox: Sandbox, line: Row) -> str:
    """A journal line's VAT code, or its ledger account's."""
    if line.get("VAT_CODE"):
        return str(line["VAT_CODE"])
    return str((sandbox.tables["LEDGER"].get(line.get("ACCT_NR", "")) or {}).get("VAT_CODE") or "")


def invoice_amounts(sandbox: Sandbox, page: Row, lines: list[Row]) -> Amounts:
    codes = [_invoice_line_code(sandbox, line) for line in lines]
    lines_in = [
        LineIn(amount=cents(exact(line.get("AMOUNT"))), rate=vat_rate(sandbox, code), vat_code=code)
        for line, code in zip(lines, codes, strict=True)
    ]
    return compute(lines_in, includes_vat=bool(page.get("GROSS_FLG")), rounding=sandbox.profile.vat_rounding)


def book_invoice(sandbox: Sandbox, page: Row, lines: list[Row], given: Callable[[Row], set[str]]) -> None:
    """Store AccountView's VAT on the lines and the page's totals; refuse a sent VAT amount that differs."""
    amounts = invoice_amounts(sandbox, page, lines)
    for line, computed in zip(lines, amounts.lines, strict=True):
        if "VAT_AMT" in given(line) and exact(line.get("VAT_AMT")) != computed.vat:
            raise field_error(
                "DJ_LINE",
                "VAT_AMT",
                f"is {line.get('VAT_AMT')}, maar AccountView berekent {computed.vat:f} "
                f"({_rule_nl(sandbox, page)}, {computed.rate.normalize():f}%)",
                f"is {line.get('VAT_AMT')}, but AccountView computes {computed.vat:f} "
                f"({_rule_en(sandbox, page)}, {computed.rate.normalize():f}%)",
                number=1031,
            )
        line["VAT_AMT"] = float(computed.vat)
        line["BASE_AMT"] = float(computed.net)
    page["PAGE_VAT"] = float(amounts.vat)
    page["PAGE_AMT"] = float(amounts.total)


def _rule_en(sandbox: Sandbox, page: Row) -> str:
    basis = "amounts incl. VAT" if page.get("GROSS_FLG") else "amounts excl. VAT"
    return f"{basis}, VAT rounded per {sandbox.profile.vat_rounding}"


def _rule_nl(sandbox: Sandbox, page: Row) -> str:
    basis = "bedragen incl. btw" if page.get("GROSS_FLG") else "bedragen excl. btw"
    per = "regel" if sandbox.profile.vat_rounding == "line" else "document"
    return f"{basis}, btw afgerond per {per}"


def amounts_of(sandbox: Sandbox, table: str, key: str) -> dict[str, Any]:
    """The computed amounts of a stored sales order (SO_HDR) or sales invoice (DJ_PAGE), as JSON."""
    with sandbox.lock:
        header = sandbox.tables.get(table.upper(), {}).get(key)
        if header is None or table.upper() not in ("SO_HDR", "DJ_PAGE"):
            raise ApiError(f"{table} '{key}' bestaat niet / {table} '{key}' does not exist", status=404, number=1040)
        detail = "SO_LINE" if table.upper() == "SO_HDR" else "DJ_LINE"
        lines = sandbox.details_of(detail, header)  # in the order they were written
        amounts = (
            sales_order_amounts(sandbox, lines) if detail == "SO_LINE" else invoice_amounts(sandbox, header, lines)
        )
    profile = sandbox.profile
    includes = profile.prices_include_vat if detail == "SO_LINE" else bool(header.get("GROSS_FLG"))
    return amounts.as_json() | {
        "rules": {
            "prices_include_vat": includes,
            "vat_rounding": profile.vat_rounding,
            "price_decimals": profile.price_decimals,
        }
    }
