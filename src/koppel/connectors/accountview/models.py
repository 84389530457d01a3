"""The typed surface of the AccountView connector: what flows pass in (`*In`) and get back.

Money and quantities are `Decimal`. Codes are the AccountView codes (upper case).

What flows pass in is a row: each typed field is one AccountView column (its alias, e.g. `name` is
`ACCT_NAME`), and any further column the caller sets (`DebtorIn.model_validate({"ACCT_NAME": …,
"LNG_CODE": "EN"})`) rides along and is sent as it is. So a mapped row read into a model and written
out again keeps every column: the model is a typed view of the row, not a second translation.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_COLUMN = re.compile(r"[A-Z][A-Z0-9_]*")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class _Row(BaseModel):
    """A row to write: typed fields under their column alias, other upper-case columns as given."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    @model_validator(mode="after")
    def _extra_names_are_columns(self) -> _Row:
        wrong = [name for name in self.model_extra or {} if not _COLUMN.fullmatch(name)]
        if wrong:
            raise ValueError(f"unknown field(s) {', '.join(wrong)}: extra columns are upper-case column names")
        return self

    def columns(self, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The row as AccountView columns: typed fields by alias, then the extra columns; None left out.
        `exclude` names typed fields that are not columns of this row (lines, nested conveniences)."""
        return self.model_dump(by_alias=True, exclude_none=True, exclude=set(exclude))


class FieldWarning(_Model):
    """A value that was cut to fit because the caller asked for truncation."""

    field: str  # qualified: "CONTACT.ACCT_NAME"
    value: str  # what the caller gave
    max_length: int
    stored: str  # what was sent


class Company(_Model):
    id: str  # the `x-company` value; opaque
    code: str
    description: str


class Address(_Model):
    street: str = ""
    house_number: str = ""
    house_number_suffix: str = ""
    postcode: str = ""
    city: str = ""
    country_code: str = "NL"
    address_line: str = ""  # ADDRESS1 as a map wrote it; empty: street and number

    @property
    def line(self) -> str:
        """The single-line form for `ADDRESS1`."""
        if self.address_line:
            return self.address_line
        number = f"{self.house_number}{(' ' + self.house_number_suffix) if self.house_number_suffix else ''}"
        return " ".join(p for p in (self.street, number) if p)


class ContactPerson(_Model):
    name: str
    email: str | None = None
    phone: str | None = None
    code: str | None = None  # set when read back (module mode: PP_CODE; main-contact mode: MAIN_PP)


class DebtorIn(_Row):
    """A debtor to create or update (a CONTACT row). AccountView has no company/person flag: a company
    debtor has the company name in ACCT_NAME and may carry a contact person; a person debtor has the full
    name. `address` and `contact` are conveniences for typed callers; columns given directly win."""

    kind: Literal["company", "person"]
    name: str | None = Field(None, alias="ACCT_NAME")  # None: left alone on update
    email: str = Field(alias="MAIL_BUS")
    address: Address | None = None
    phone: str | None = Field(None, alias="TEL_BUS")
    mobile: str | None = Field(None, alias="TEL_MOB")
    vat_number: str | None = Field(None, alias="VAT_NR")
    coc_number: str | None = Field(None, alias="COC_CODE")
    contact: ContactPerson | None = None
    number: str | None = Field(None, alias="SUB_NR")  # None: AccountView assigns it
    search_code: str | None = Field(None, alias="SRC_CODE")  # None: derived from the name on create
    payment_condition: str | None = Field(None, alias="DISC_CODE")
    vat_code: str | None = Field(None, alias="VAT_CODE")
    language: str | None = Field(None, alias="LNG_CODE")
    external_id: str | None = Field(None, alias="DEB_NR")  # e.g. the shop's customer id


class Debtor(_Model):
    number: str
    name: str
    kind: Literal["company", "person"]  # read back: "company" when a contact, VAT or CoC number is set
    email: str = ""
    search_code: str = ""
    address: Address = Field(default_factory=Address)
    phone: str = ""
    mobile: str = ""
    vat_number: str = ""
    coc_number: str = ""
    contact: ContactPerson | None = None
    payment_condition: str = ""
    vat_code: str = ""
    external_id: str = ""
    changed_at: datetime | None = None
    warnings: list[FieldWarning] = Field(default_factory=list)


class DeliveryAddressIn(_Row):
    """A delivery address of a debtor (a DEL_ADDR row); `address` is what an existing one is matched on."""

    name: str = Field(alias="DEL_NAME")
    address: Address
    email: str | None = Field(None, alias="MAIL_BUS")
    phone: str | None = Field(None, alias="TEL_BUS")


class DeliveryAddress(_Model):
    code: str  # DEL_ADDR.REC_ID, goes into SO_HDR.DEL_CODE
    debtor_number: str
    name: str
    address: Address
    email: str = ""
    phone: str = ""
    warnings: list[FieldWarning] = Field(default_factory=list)


class ArticleImage(_Model):
    """An article's image as AccountView holds it (`IMG_MEDIUM` name, `IMG_M_DATA` data), decoded."""

    name: str
    data: bytes

    @property
    def content_hash(self) -> str:
        """SHA-256 of the bytes: what a flow compares to decide whether to upload again."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def media_type(self) -> str | None:
        """The image type the bytes start with (PNG, JPEG, GIF, WebP); None: not an image we know."""
        if self.data[:4] == b"RIFF" and self.data[8:12] == b"WEBP":
            return "image/webp"
        return next((kind for magic, kind in _IMAGE_MAGIC if self.data.startswith(magic)), None)


_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
                (b"GIF89a", "image/gif"))


class Article(_Model):
    """An ARTICLE row, typed. Fields not read (see `AccountViewClient.iter_articles(fields=…)`) keep their
    defaults; `row` holds every column read, by its AccountView name, for the mapper. A value that cannot be
    read (a number that is no number, image data that does not decode) is left at its default and named in
    `problems` (TABLE.FIELD → why), so one bad article never stops a listing."""

    code: str
    description: str  # ART_DESC1, the name
    group_code: str = ""
    price: Decimal = Decimal("0")  # PX_SELL
    vat_code: str = ""
    ean: str = ""
    unit: str = ""
    available: Decimal = Decimal("0")  # QTY_AVAIL
    reserved: Decimal = Decimal("0")  # reserved by open sales orders
    blocked: bool = False
    changed_at: datetime | None = None
    short_description: str = ""
    long_description: str = ""
    weight: Decimal | None = None  # kg
    webshop: bool = False
    parent_code: str = ""  # the variant group's parent code; empty for a simple article
    size: str = ""
    colour: str = ""
    image_name: str = ""  # empty: no image
    image: ArticleImage | None = None  # only when the data was read (`with_images=True`)
    problems: dict[str, str] = Field(default_factory=dict)
    row: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def sellable(self) -> Decimal:
        """The default stock rule (NOTES §10.3, S8): available minus sales reservations."""
        return self.available - self.reserved


class ArticleStock(_Model):
    """The stock figures of one article, as `iter_article_stock` reads them (only stock fields).
    A figure is None when AccountView holds nothing there (empty); a value that is not a number is None too
    and named in `problems`. `figures` has every numeric field read (profile stock fields plus the extra
    fields asked for), by AccountView name, for custom stock formulas."""

    code: str
    available: Decimal | None = None
    reserved: Decimal | None = None
    free: Decimal | None = None
    technical: Decimal | None = None
    managed: bool | None = None  # the profile's stock-managed flag; None: AccountView gave no value
    blocked: bool = False
    figures: dict[str, Decimal | None] = Field(default_factory=dict)
    problems: dict[str, str] = Field(default_factory=dict)


class ArticleSelection(_Model):
    """Which AccountView articles belong in the shop: all, those of some article groups, or those whose
    webshop field (the profile's `article_webshop_field`) is set."""

    kind: Literal["all", "groups", "webshop"] = "all"
    groups: tuple[str, ...] = ()

    @field_validator("groups")
    @classmethod
    def _group_codes(cls, groups: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({g.strip().upper() for g in groups if g.strip()}))  # AG_CODE is upper case

    @model_validator(mode="after")
    def _groups_named(self) -> ArticleSelection:
        if self.kind == "groups" and not self.groups:
            raise ValueError("a selection by article group names at least one group (AG_CODE)")
        return self

    def matches(self, article: Article) -> bool:
        return self.admits(article.group_code, article.webshop)

    def admits(self, group_code: str, webshop: bool | None) -> bool:
        """Whether an article of this group, with this webshop flag (None: empty), belongs in the shop."""
        if self.kind == "groups":
            return group_code.strip().upper() in self.groups
        if self.kind == "webshop":
            return bool(webshop)
        return True


class ArticleGroup(_Model):
    code: str
    description: str


class SalesOrderLineIn(_Row):
    """A SO_LINE row."""

    article_code: str = Field(alias="ART_CODE")
    quantity: Decimal = Field(alias="ORD_QTY")
    unit_price: Decimal | None = Field(None, alias="ART_PX")  # None: AccountView takes the article price
    description: str | None = Field(None, alias="ART_DESC")
    vat_code: str | None = Field(None, alias="VAT_CODE")
    delivery_date: datetime | None = Field(None, alias="DEL_DATE")


class SalesOrderIn(_Row):
    """A SO_HDR row with its lines; `external_ref` goes into the profile's reference column."""

    external_ref: str  # our key, e.g. the shop's order number; looked up before writing
    debtor_number: str = Field(alias="RPL_INV")
    order_date: datetime = Field(alias="ORD_DATE")
    lines: list[SalesOrderLineIn]
    delivery_debtor_number: str | None = Field(None, alias="RPL_DEL")
    delivery_address_code: str | None = Field(None, alias="DEL_CODE")
    delivery_date: datetime | None = Field(None, alias="DEL_DATE")
    email: str | None = Field(None, alias="TO_EMAIL")
    note: str | None = Field(None, alias="COMMENT2")
    payment_condition: str | None = Field(None, alias="DISC_CODE")
    payment_method: str | None = Field(None, alias="PAY_TYPE")
    shipping_method: str | None = Field(None, alias="SHIP_MTH")
    discount_amount: Decimal | None = Field(None, alias="PD_AMT")


class SalesOrderLine(_Model):
    article_code: str
    quantity: Decimal
    unit_price: Decimal | None = None
    description: str = ""
    vat_code: str = ""


class SalesOrder(_Model):
    number: str
    external_ref: str
    debtor_number: str
    order_date: datetime | None = None
    delivery_address_code: str = ""
    payment_condition: str = ""
    payment_method: str = ""
    lines: list[SalesOrderLine] = Field(default_factory=list)
    warnings: list[FieldWarning] = Field(default_factory=list)


class SalesInvoiceLineIn(_Row):
    """A DJ_LINE row."""

    ledger_account: str = Field(alias="ACCT_NR")  # revenue account
    description: str = Field(alias="TRN_DESC")
    amount: Decimal = Field(alias="AMOUNT")
    vat_code: str = Field(alias="VAT_CODE")
    vat_amount: Decimal | None = Field(None, alias="VAT_AMT")
    quantity: Decimal | None = Field(None, alias="TRN_QTY")


class SalesInvoiceIn(_Row):
    """A DJ_PAGE row with its lines; `external_ref` goes into the profile's reference column."""

    external_ref: str
    debtor_number: str = Field(alias="SUB_NR")
    journal_code: str = Field(alias="DJ_CODE")
    invoice_date: date = Field(alias="TRN_DATE")
    description: str = Field(alias="HDR_DESC")  # mandatory, 40
    lines: list[SalesInvoiceLineIn]
    invoice_number: str | None = Field(None, alias="INV_NR")  # None: AccountView assigns it
    amounts_include_vat: bool = Field(False, alias="GROSS_FLG")
    payment_condition: str | None = Field(None, alias="DISC_CODE")
    payment_method: str | None = Field(None, alias="PAY_TYPE")
    credit_days: int | None = Field(None, alias="CRED_DAYS")
    period: int | None = Field(None, alias="PERIOD")


class SalesInvoiceLine(_Model):
    ledger_account: str
    description: str
    amount: Decimal
    vat_code: str = ""
    vat_amount: Decimal = Decimal("0")


class SalesInvoice(_Model):
    journal_code: str
    page_number: str
    invoice_number: str
    external_ref: str
    debtor_number: str
    invoice_date: date | None = None
    description: str = ""
    lines: list[SalesInvoiceLine] = Field(default_factory=list)
    warnings: list[FieldWarning] = Field(default_factory=list)


class VatCode(_Model):
    code: str
    description: str
    percentage: Decimal
    reverse_charge: bool = False
    vat_type: int = 0
    ledger_account: str = ""


class PaymentCondition(_Model):
    code: str
    description: str
    credit_days: int = 0
    discount_days: int = 0
    discount_pct: Decimal = Decimal("0")


class PaymentMethod(_Model):
    code: str
    description: str


class LedgerAccount(_Model):
    number: str
    name: str
    account_type: int = 0
    vat_code: str = ""


class Journal(_Model):
    code: str
    name: str
    journal_type: int = 0
