"""How the connector's models map to AccountView rows and back, under an installation profile."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from koppel.connectors.accountview.models import (
    Address,
    Article,
    ArticleGroup,
    ArticleImage,
    ArticleStock,
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
    """The CONTACT row as given; what a typed caller leaves out is filled in (search code and collective
    account on create, address and contact columns from the conveniences), never over a given column."""
    row = debtor.columns(exclude=frozenset({"kind", "address", "contact"}))
    row["MAIL_BUS"] = debtor.email.strip().lower()
    if creating:
        row.setdefault("ACCT_NR", profile.debtor_collective_account)
        if "SRC_CODE" not in row and debtor.name:
            row["SRC_CODE"] = search_code(debtor.name)
    if debtor.address is not None:
        _fill(row, address_columns(debtor.address))
    if debtor.contact is not None and profile.contact_person_mode == "main_contact":
        _fill(row, {"MAIN_CONT": debtor.contact.name, "MC_MAILB": debtor.contact.email})
    return row


def _fill(row: dict[str, Any], defaults: dict[str, Any]) -> None:
    for name, value in defaults.items():
        if value is not None:
            row.setdefault(name, value)


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
    """The DEL_ADDR row as given, for this debtor; address columns the row lacks come from `address`."""
    row = {**address.columns(exclude=frozenset({"address"})), "SUB_NR": debtor_number}
    _fill(row, address_columns(address.address))
    return row


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
    """What an order's existence check needs of an article (code, name, price, VAT, EAN, stock, blocked)."""
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
        profile.article_blocked_field,
        "CNG_DATE",
    ]


def product_fields(profile: AccountViewProfile) -> list[str]:
    """Every field the default product map reads, without the image data (ask `with_images` for that)."""
    return [
        *article_fields(profile),
        profile.article_short_description_field,
        profile.article_long_description_field,
        profile.article_weight_field,
        profile.article_webshop_field,
        profile.article_parent_field,
        profile.article_size_field,
        profile.article_colour_field,
        profile.article_image_name_field,
    ]


def selection_fields(profile: AccountViewProfile) -> list[str]:
    """What `ArticleSelection.matches` looks at, read whatever else was asked."""
    return ["ART_CODE", "AG_CODE", profile.article_webshop_field, profile.article_blocked_field, "CNG_DATE"]


def stock_fields(profile: AccountViewProfile) -> list[str]:
    return [
        "ART_CODE",
        profile.article_available_field,
        profile.article_reserved_field,
        profile.article_free_field,
        profile.article_technical_field,
        profile.article_stock_managed_field,
        profile.article_blocked_field,
    ]


class _Reader:
    """Values of one ARTICLE row; a value that is not what its field holds becomes a problem, not an error."""

    def __init__(self, row: Row) -> None:
        self.row = row
        self.problems: dict[str, str] = {}

    def text(self, name: str) -> str:
        return _text(self.row, name)

    def number(self, name: str) -> Decimal | None:
        """None when the field is absent or empty; also None (and a problem) when it is not a number."""
        value = self.row.get(name)
        kind = type(value)
        if kind is float or kind is int:  # what a numeric column holds: the common case, kept cheap
            number: Decimal | None = Decimal(str(value))
        elif value is None or (kind is str and not value.strip()):
            return None
        else:
            try:
                number = Decimal(str(value).strip()) if kind is not bool else None
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            self.problems[f"ARTICLE.{name}"] = f"{value!r} is not a number"
            return None
        return number

    def flag(self, name: str) -> bool | None:
        value = flag(self.row.get(name))
        if value is None and self.row.get(name) not in (None, ""):
            self.problems[f"ARTICLE.{name}"] = f"{self.row.get(name)!r} is not true or false"
        return value


def flag(value: Any) -> bool | None:
    """A logical column's value: true, false, or None when empty or not a logical at all."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in ("true", "1", ".t.", "t", "y", "yes", "j", "ja"):
        return True
    if text in ("false", "0", ".f.", "f", "n", "no", "nee"):
        return False
    return None


def image_name(value: Any) -> str:
    """IMG_MEDIUM as text, or as the object with a `name` S3 reads (NOTES §10.3)."""
    if isinstance(value, dict):
        value = next((v for k, v in value.items() if str(k).lower() in ("name", "filename")), "")
    return "" if value is None else str(value).strip()


def decode_image(name: str, data: Any, profile: AccountViewProfile) -> ArticleImage | None:
    """The image bytes as the profile's `article_image_encoding` says they travel; None when there are
    none. ValueError when the data does not decode."""
    text = "" if data is None else "".join(str(data).split())
    if not text:
        return None
    decode = bytes.fromhex if profile.article_image_encoding == "hex" else _strict_base64
    try:
        raw = decode(text)
    except (binascii.Error, ValueError):
        raise ValueError(f"is not {profile.article_image_encoding} ({len(text)} characters)") from None
    return ArticleImage(name=name or "image", data=raw)


def _strict_base64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def article_from_row(row: Row, profile: AccountViewProfile) -> Article:
    values = _Reader(row)
    name = image_name(row.get(profile.article_image_name_field))
    image = None
    data_field = profile.article_image_data_field
    if data_field in row:
        try:
            image = decode_image(name, row.get(data_field), profile)
        except ValueError as exc:
            values.problems[f"ARTICLE.{data_field}"] = str(exc)
    # The bytes live in `image`, once; the answer's own row index and EXT_KEY are not article data.
    kept = {k: v for k, v in row.items() if k != data_field and k != "EXT_KEY" and not k.endswith("_Id")}
    return Article(
        code=values.text("ART_CODE"),
        description=values.text("ART_DESC1"),
        group_code=values.text("AG_CODE"),
        price=values.number("PX_SELL") or Decimal("0"),
        vat_code=values.text(profile.article_vat_field),
        ean=values.text(profile.article_ean_field),
        unit=values.text("ART_UNIT"),
        available=values.number(profile.article_available_field) or Decimal("0"),
        reserved=values.number(profile.article_reserved_field) or Decimal("0"),
        blocked=bool(values.flag(profile.article_blocked_field)),
        changed_at=parse_datetime(row.get("CNG_DATE")),
        short_description=values.text(profile.article_short_description_field),
        long_description=values.text(profile.article_long_description_field),
        weight=values.number(profile.article_weight_field),
        webshop=bool(values.flag(profile.article_webshop_field)),
        parent_code=values.text(profile.article_parent_field).upper(),
        size=values.text(profile.article_size_field),
        colour=values.text(profile.article_colour_field),
        image_name=name,
        image=image,
        problems=values.problems,
        row=kept,
    )


def article_stock_from_row(row: Row, profile: AccountViewProfile, extra_fields: Sequence[str] = ()) -> ArticleStock:
    values = _Reader(row)
    named = {
        "available": profile.article_available_field,
        "reserved": profile.article_reserved_field,
        "free": profile.article_free_field,
        "technical": profile.article_technical_field,
    }
    figures = {field: values.number(field) for field in dict.fromkeys([*named.values(), *extra_fields])}
    return ArticleStock(
        code=values.text("ART_CODE"),
        **{attr: figures[field] for attr, field in named.items()},
        managed=values.flag(profile.article_stock_managed_field),
        blocked=bool(values.flag(profile.article_blocked_field)),
        figures=figures,
        problems=values.problems,
    )


def article_group_from_row(row: Row) -> ArticleGroup:
    return ArticleGroup(code=_text(row, "AG_CODE"), description=_text(row, "AG_DESC"))


# --- sales orders ------------------------------------------------------------------------------------------


def sales_order_rows(order: SalesOrderIn, profile: AccountViewProfile) -> tuple[dict[str, Any], list[dict]]:
    """SO_HDR and SO_LINE rows as given; the external reference in the profile's reference column."""
    header = order.columns(exclude=frozenset({"lines", "external_ref"}))
    header[profile.sales_order_reference_field] = order.external_ref
    lines = []
    for line in order.lines:
        row = line.columns()
        if order.delivery_date is not None:
            row.setdefault("DEL_DATE", order.delivery_date)
        lines.append(row)
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
    """DJ_PAGE and DJ_LINE rows as given; the external reference in the profile's reference column."""
    header = invoice.columns(exclude=frozenset({"lines", "external_ref"}))
    header[profile.invoice_reference_field] = invoice.external_ref
    return header, [line.columns() for line in invoice.lines]


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
