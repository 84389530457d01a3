"""How the connector's models map to AccountView rows and back, under an installation profile."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from koppel.connectors.accountview.models import (
    Address,
    Article,
    ArticleGroup,
    ContactPerson,
    Debtor,
    DebtorIn,
    DeliveryAddress,
    DeliveryAddressIn,
    FieldWarning,
    Journal,
    LedgerAccount,
    PaymentCondition,
    PaymentMethod,
    SalesInvoice,
    SalesInvoiceIn,
    SalesInvoiceLine,
    SalesOrder,
    SalesOrderIn,
    SalesOrderLine,
    VatCode,
)
from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.wire import Row, parse_datetime

_DUTCH_POSTCODE = re.compile(r"^\s*(\d{4})\s*([A-Za-z]{2})\s*$")


def postcode(value: str, country_code: str) -> str:
    """Dutch postcodes as AccountView stores them: `1234 AB` (NOTES §7)."""
    match = _DUTCH_POSTCODE.match(value or "")
    if country_code.upper() == "NL" and match:
        return f"{match.group(1)} {match.group(2).upper()}"
    return (value or "").strip().upper()


def search_code(name: str) -> str:
    return (re.sub(r"[^A-Za-z0-9]", "", name).upper() or "-")[:10]


def _text(row: Row, name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _decimal(row: Row, name: str) -> Decimal:
    value = row.get(name)
    if value in (None, ""):
        return Decimal("0")
    return Decimal(str(value))


def _int(row: Row, name: str) -> int:
    return int(_decimal(row, name))


def _present(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def address_columns(address: Address) -> dict[str, Any]:
    return {
        "ADDRESS1": address.line,
        "ST_STREET": address.street,
        "ST_NR": address.house_number,
        "ST_EXTRA": address.house_number_suffix,
        "POST_CODE": postcode(address.postcode, address.country_code),
        "CITY": address.city,
        "CNT_CODE": address.country_code.upper(),
    }


def _address_from_row(row: Row) -> Address:
    return Address(
        street=_text(row, "ST_STREET") or _text(row, "ADDRESS1"),
        house_number=_text(row, "ST_NR"),
        house_number_suffix=_text(row, "ST_EXTRA"),
        postcode=_text(row, "POST_CODE"),
        city=_text(row, "CITY") or _text(row, "BOX_CITY"),
        country_code=_text(row, "CNT_CODE"),
    )


# --- debtors ---------------------------------------------------------------------------------------------


def debtor_row(debtor: DebtorIn, profile: AccountViewProfile, *, creating: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "SUB_NR": debtor.number,
        "ACCT_NAME": debtor.name,
        "SRC_CODE": debtor.search_code or (search_code(debtor.name) if creating else None),
        "MAIL_BUS": debtor.email.strip().lower(),
        "TEL_BUS": debtor.phone,
        "TEL_MOB": debtor.mobile,
        "VAT_NR": debtor.vat_number,
        "COC_CODE": debtor.coc_number,
        "DISC_CODE": debtor.payment_condition,
        "VAT_CODE": debtor.vat_code,
        "LNG_CODE": debtor.language,
        "DEB_NR": debtor.external_id,
    }
    if creating:
        row["ACCT_NR"] = profile.debtor_collective_account
    if debtor.address is not None:
        row.update(address_columns(debtor.address))
    if debtor.contact is not None and profile.contact_person_mode == "main_contact":
        row.update({"MAIN_CONT": debtor.contact.name, "MC_MAILB": debtor.contact.email})
    return _present(row)


def debtor_from_row(row: Row) -> Debtor:
    contact = None
    if _text(row, "MAIN_CONT"):
        contact = ContactPerson(
            name=_text(row, "MAIN_CONT"),
            email=_text(row, "MC_MAILB") or None,
            code=_text(row, "MAIN_PP") or None,
        )
    company = bool(contact or _text(row, "VAT_NR") or _text(row, "COC_CODE"))
    return Debtor(
        number=_text(row, "SUB_NR"),
        name=_text(row, "ACCT_NAME"),
        kind="company" if company else "person",
        email=_text(row, "MAIL_BUS"),
        search_code=_text(row, "SRC_CODE"),
        address=_address_from_row(row),
        phone=_text(row, "TEL_BUS"),
        mobile=_text(row, "TEL_MOB"),
        vat_number=_text(row, "VAT_NR"),
        coc_number=_text(row, "COC_CODE"),
        contact=contact,
        payment_condition=_text(row, "DISC_CODE"),
        vat_code=_text(row, "VAT_CODE"),
        external_id=_text(row, "DEB_NR"),
        changed_at=parse_datetime(row.get("CNG_DATE")),
    )


def contact_person_row(debtor_number: str, contact: ContactPerson) -> dict[str, Any]:
    return _present(
        {
            "SUB_NR": debtor_number,
            "PP_NAME": contact.name,
            "MAIL_BUS": contact.email,
            "TEL_BUS": contact.phone,
        }
    )


def contact_person_from_row(row: Row) -> ContactPerson:
    return ContactPerson(
        name=_text(row, "PP_NAME"),
        email=_text(row, "MAIL_BUS") or None,
        phone=_text(row, "TEL_BUS") or None,
        code=_text(row, "PP_CODE") or None,
    )


# --- delivery addresses ----------------------------------------------------------------------------------


def delivery_address_row(debtor_number: str, address: DeliveryAddressIn) -> dict[str, Any]:
    return _present(
        {
            "SUB_NR": debtor_number,
            "DEL_NAME": address.name,
            **address_columns(address.address),
            "MAIL_BUS": address.email,
            "TEL_BUS": address.phone,
        }
    )


def delivery_address_from_row(row: Row, warnings: list[FieldWarning] | None = None) -> DeliveryAddress:
    return DeliveryAddress(
        code=_text(row, "REC_ID"),
        debtor_number=_text(row, "SUB_NR"),
        name=_text(row, "DEL_NAME"),
        address=_address_from_row(row),
        email=_text(row, "MAIL_BUS"),
        phone=_text(row, "TEL_BUS"),
        warnings=warnings or [],
    )


def same_address(row: Row, address: Address) -> bool:
    """The S3 matching rule: ADDRESS1, POST_CODE and CITY equal (here without regard to case)."""
    wanted = address_columns(address)
    return all(
        _text(row, f).casefold() == str(wanted[f]).strip().casefold()
        for f in ("ADDRESS1", "POST_CODE", "CITY")
    )


# --- articles ----------------------------------------------------------------------------------------------


def article_fields(profile: AccountViewProfile) -> list[str]:
    return [
        "ART_CODE",
        "ART_DESC1",
        "AG_CODE",
        "PX_SELL",
        profile.article_vat_field,
        profile.article_ean_field,
        "ART_UNIT",
        profile.article_available_field,
        profile.article_reserved_field,
        "REC_BLK",
        "CNG_DATE",
    ]


def article_from_row(row: Row, profile: AccountViewProfile) -> Article:
    return Article(
        code=_text(row, "ART_CODE"),
        description=_text(row, "ART_DESC1"),
        group_code=_text(row, "AG_CODE"),
        price=_decimal(row, "PX_SELL"),
        vat_code=_text(row, profile.article_vat_field),
        ean=_text(row, profile.article_ean_field),
        unit=_text(row, "ART_UNIT"),
        available=_decimal(row, profile.article_available_field),
        reserved=_decimal(row, profile.article_reserved_field),
        blocked=bool(row.get("REC_BLK")),
        changed_at=parse_datetime(row.get("CNG_DATE")),
    )


def article_group_from_row(row: Row) -> ArticleGroup:
    return ArticleGroup(code=_text(row, "AG_CODE"), description=_text(row, "AG_DESC"))


# --- sales orders ------------------------------------------------------------------------------------------


def sales_order_rows(order: SalesOrderIn, profile: AccountViewProfile) -> tuple[dict[str, Any], list[dict]]:
    header = _present(
        {
            "ORD_DATE": order.order_date,
            "DEL_DATE": order.delivery_date,
            "RPL_INV": order.debtor_number,
            "RPL_DEL": order.delivery_debtor_number,
            "DEL_CODE": order.delivery_address_code,
            "TO_EMAIL": order.email,
            profile.sales_order_reference_field: order.external_ref,
            "COMMENT2": order.note,
            "DISC_CODE": order.payment_condition,
            "PAY_TYPE": order.payment_method,
            "SHIP_MTH": order.shipping_method,
            "PD_AMT": order.discount_amount,
        }
    )
    lines = [
        _present(
            {
                "ART_CODE": line.article_code,
                "ART_DESC": line.description,
                "ORD_QTY": line.quantity,
                "ART_PX": line.unit_price,
                "VAT_CODE": line.vat_code,
                "DEL_DATE": line.delivery_date or order.delivery_date,
            }
        )
        for line in order.lines
    ]
    return header, lines


def sales_order_from_row(
    row: Row, profile: AccountViewProfile, warnings: list[FieldWarning] | None = None
) -> SalesOrder:
    lines = [
        SalesOrderLine(
            article_code=_text(line, "ART_CODE"),
            quantity=_decimal(line, "ORD_QTY"),
            unit_price=_decimal(line, "ART_PX") if line.get("ART_PX") is not None else None,
            description=_text(line, "ART_DESC"),
            vat_code=_text(line, "VAT_CODE"),
        )
        for line in row.get("SO_LINE", [])
    ]
    return SalesOrder(
        number=_text(row, profile.sales_order_number_field),
        external_ref=_text(row, profile.sales_order_reference_field),
        debtor_number=_text(row, "RPL_INV"),
        order_date=parse_datetime(row.get("ORD_DATE")),
        delivery_address_code=_text(row, "DEL_CODE"),
        payment_condition=_text(row, "DISC_CODE"),
        payment_method=_text(row, "PAY_TYPE"),
        lines=lines,
        warnings=warnings or [],
    )


# --- sales invoices (journal pages) -------------------------------------------------------------------------


def sales_invoice_rows(
    invoice: SalesInvoiceIn, profile: AccountViewProfile
) -> tuple[dict[str, Any], list[dict]]:
    header = _present(
        {
            "DJ_CODE": invoice.journal_code,
            "SUB_NR": invoice.debtor_number,
            "INV_NR": invoice.invoice_number,
            "TRN_DATE": invoice.invoice_date,
            "PERIOD": invoice.period,
            "HDR_DESC": invoice.description,
            "GROSS_FLG": invoice.amounts_include_vat,
            "DISC_CODE": invoice.payment_condition,
            "PAY_TYPE": invoice.payment_method,
            "CRED_DAYS": invoice.credit_days,
            profile.invoice_reference_field: invoice.external_ref,
        }
    )
    lines = [
        _present(
            {
                "ACCT_NR": line.ledger_account,
                "TRN_DESC": line.description,
                "AMOUNT": line.amount,
                "VAT_CODE": line.vat_code,
                "VAT_AMT": line.vat_amount,
                "TRN_QTY": line.quantity,
            }
        )
        for line in invoice.lines
    ]
    return header, lines


def sales_invoice_from_row(
    row: Row, profile: AccountViewProfile, warnings: list[FieldWarning] | None = None
) -> SalesInvoice:
    trn_date = parse_datetime(row.get("TRN_DATE"))
    return SalesInvoice(
        journal_code=_text(row, "DJ_CODE"),
        page_number=_text(row, "PAGE_NR"),
        invoice_number=_text(row, "INV_NR"),
        external_ref=_text(row, profile.invoice_reference_field),
        debtor_number=_text(row, "SUB_NR"),
        invoice_date=trn_date.date() if trn_date else None,
        description=_text(row, "HDR_DESC"),
        lines=[
            SalesInvoiceLine(
                ledger_account=_text(line, "ACCT_NR"),
                description=_text(line, "TRN_DESC"),
                amount=_decimal(line, "AMOUNT"),
                vat_code=_text(line, "VAT_CODE"),
                vat_amount=_decimal(line, "VAT_AMT"),
            )
            for line in row.get("DJ_LINE", [])
        ],
        warnings=warnings or [],
    )


# --- reference data ----------------------------------------------------------------------------------------


def vat_code_from_row(row: Row) -> VatCode:
    return VatCode(
        code=_text(row, "VAT_CODE"),
        description=_text(row, "VAT_NAME"),
        percentage=_decimal(row, "VAT_PCT"),
        reverse_charge=bool(row.get("IS_REVERSE")),
        vat_type=_int(row, "VAT_TYPE"),
        ledger_account=_text(row, "VAT_ACCT"),
    )


def payment_condition_from_row(row: Row) -> PaymentCondition:
    return PaymentCondition(
        code=_text(row, "DISC_CODE"),
        description=_text(row, "DISC_DESC"),
        credit_days=_int(row, "CRED_DAYS"),
        discount_days=_int(row, "DISC_DAYS"),
        discount_pct=_decimal(row, "PD_PCT"),
    )


def payment_method_from_row(row: Row) -> PaymentMethod:
    return PaymentMethod(code=_text(row, "PAY_TYPE"), description=_text(row, "PAY_DESC"))


def ledger_account_from_row(row: Row) -> LedgerAccount:
    return LedgerAccount(
        number=_text(row, "ACCT_NR"),
        name=_text(row, "ACCT_NAME"),
        account_type=_int(row, "ACCT_TYPE"),
        vat_code=_text(row, "VAT_CODE"),
    )


def journal_from_row(row: Row) -> Journal:
    return Journal(code=_text(row, "DJ_CODE"), name=_text(row, "DJ_NAME"), journal_type=_int(row, "DJ_TYPE"))
