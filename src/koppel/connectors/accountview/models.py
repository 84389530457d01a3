"""The typed surface of the AccountView connector: what flows pass in (`*In`) and get back.

Money and quantities are `Decimal`. Codes are the AccountView codes (upper case).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


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

    @property
    def line(self) -> str:
        """The single-line form for `ADDRESS1`."""
        number = f"{self.house_number}{(' ' + self.house_number_suffix) if self.house_number_suffix else ''}"
        return " ".join(p for p in (self.street, number) if p)


class ContactPerson(_Model):
    name: str
    email: str | None = None
    phone: str | None = None
    code: str | None = None  # set when read back (module mode: PP_CODE; main-contact mode: MAIN_PP)


class DebtorIn(_Model):
    """A debtor to create or update. AccountView has no company/person flag: a company debtor has the
    company name in ACCT_NAME and may carry a contact person; a person debtor has the full name."""

    kind: Literal["company", "person"]
    name: str
    email: str
    address: Address | None = None
    phone: str | None = None
    mobile: str | None = None
    vat_number: str | None = None
    coc_number: str | None = None
    contact: ContactPerson | None = None
    number: str | None = None  # SUB_NR; None: AccountView assigns it
    search_code: str | None = None  # SRC_CODE; None: derived from the name
    payment_condition: str | None = None  # DISC_CODE
    vat_code: str | None = None
    language: str | None = None
    external_id: str | None = None  # DEB_NR, e.g. the shop's customer id


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


class DeliveryAddressIn(_Model):
    name: str
    address: Address
    email: str | None = None
    phone: str | None = None


class DeliveryAddress(_Model):
    code: str  # DEL_ADDR.REC_ID, goes into SO_HDR.DEL_CODE
    debtor_number: str
    name: str
    address: Address
    email: str = ""
    phone: str = ""
    warnings: list[FieldWarning] = Field(default_factory=list)


class Article(_Model):
    code: str
    description: str
    group_code: str = ""
    price: Decimal = Decimal("0")  # PX_SELL
    vat_code: str = ""
    ean: str = ""
    unit: str = ""
    available: Decimal = Decimal("0")  # QTY_AVAIL
    reserved: Decimal = Decimal("0")  # reserved by open sales orders
    blocked: bool = False
    changed_at: datetime | None = None

    @property
    def sellable(self) -> Decimal:
        """The default stock rule (NOTES §10.3, S8): available minus sales reservations."""
        return self.available - self.reserved


class ArticleGroup(_Model):
    code: str
    description: str


class SalesOrderLineIn(_Model):
    article_code: str
    quantity: Decimal
    unit_price: Decimal | None = None  # None: AccountView takes the article price
    description: str | None = None
    vat_code: str | None = None
    delivery_date: datetime | None = None


class SalesOrderIn(_Model):
    external_ref: str  # our key, e.g. the shop's order number; looked up before writing
    debtor_number: str
    order_date: datetime
    lines: list[SalesOrderLineIn]
    delivery_debtor_number: str | None = None
    delivery_address_code: str | None = None
    delivery_date: datetime | None = None
    email: str | None = None
    note: str | None = None  # COMMENT2
    payment_condition: str | None = None
    payment_method: str | None = None
    shipping_method: str | None = None
    discount_amount: Decimal | None = None


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


class SalesInvoiceLineIn(_Model):
    ledger_account: str  # revenue account (ACCT_NR)
    description: str
    amount: Decimal
    vat_code: str
    vat_amount: Decimal | None = None
    quantity: Decimal | None = None


class SalesInvoiceIn(_Model):
    external_ref: str
    debtor_number: str
    journal_code: str
    invoice_date: date
    description: str  # HDR_DESC (mandatory, 40)
    lines: list[SalesInvoiceLineIn]
    invoice_number: str | None = None  # INV_NR; None: AccountView assigns it
    amounts_include_vat: bool = False  # GROSS_FLG
    payment_condition: str | None = None  # DISC_CODE
    payment_method: str | None = None  # PAY_TYPE
    credit_days: int | None = None
    period: int | None = None


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
