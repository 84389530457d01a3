"""Typed shapes of MijnWebwinkel payloads, decoded tolerantly (NOTES §7.3): ids and order numbers as int or
string, money as strings/numbers → Decimal, `price` as an object or a list, `[]` where an object belongs,
missing `images`, variant `options` as a map or a list.

Field names follow the API (snake_case; tax regions are camelCase on the wire). A few read-only
conveniences (`Order.customer`, `OrderLine.amount_incl`, `Article.ean`…) are derived from those fields
only; nothing here invents data the API does not send.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from koppel.connectors.mijnwebwinkel.money import to_decimal


def _money(value: Any) -> Decimal:
    return to_decimal(value)


def _optional_money(value: Any) -> Decimal | None:
    if value is None or value == "" or value is False or value == []:
        return None
    return to_decimal(value)


def _text(value: Any) -> Any:
    """Numbers where the API should send text (order numbers, ids): keep them as text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


def _object(value: Any) -> Any:
    """PHP serialises an empty map as `[]`: read it as an empty object."""
    return {} if value == [] else value


def _object_or_none(value: Any) -> Any:
    return None if value == [] or value == {} else value


def _as_list(value: Any) -> Any:
    """One object where a list is allowed (`price.tax`, line `price`): read it as a list of one."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [] if not value else [value]
    return value


def _optional_int(value: Any) -> Any:
    if value == "" or value == []:
        return None
    return value


def _text_list(value: Any) -> Any:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else value


def _string_map(value: Any) -> Any:
    value = _object(value)
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return value


_decimal_str = PlainSerializer(lambda d: None if d is None else f"{d:f}", return_type=str | None, when_used="json")
Money = Annotated[Decimal, BeforeValidator(_money), _decimal_str]
OptionalMoney = Annotated[Decimal | None, BeforeValidator(_optional_money), _decimal_str]
Text = Annotated[str, BeforeValidator(_text)]
OptionalText = Annotated[str | None, BeforeValidator(_text)]
OptionalInt = Annotated[int | None, BeforeValidator(_optional_int)]
StringMap = Annotated[dict[str, str], BeforeValidator(_string_map)]


class ApiModel(BaseModel):
    """Base for decoded responses: unknown keys are ignored, since the live API adds fields over time."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=False)


# ---------------------------------------------------------------------------------------------- store


class Store(ApiModel):
    id: str | None = None
    name: str = ""
    primary_domain: str | None = None
    description: str | None = None
    open: bool | None = None
    version: str | None = None
    administration_language: str | None = None
    currency: str = "EUR"
    prices_include_tax: bool = True
    default_language: str | None = None
    active_languages: Annotated[list[str], BeforeValidator(_as_list)] = []
    currency_format_locale: str | None = None
    available_business_models: str | None = None
    region_code: str | None = None
    email: str | None = None


# -------------------------------------------------------------------------------------------- articles


class ArticlePrice(ApiModel):
    """`default`/`action` include VAT when `Store.prices_include_tax`; `purchase` is always excl. VAT."""

    default: OptionalMoney = None
    action: OptionalMoney = None
    purchase: OptionalMoney = None


class ArticleExtra(ApiModel):
    visible: StringMap = {}
    invisible: StringMap = {}

    def get(self, name: str) -> str | None:
        """A field from either bucket: where barcode/weight sit depends on the shop (NOTES §6.2)."""
        for bucket in (self.invisible, self.visible):
            if bucket.get(name) not in (None, ""):
                return bucket[name]
        return None


class ArticleCategoryLink(ApiModel):
    category_id: int
    article_url_id: OptionalInt = None
    is_active: bool | None = None
    is_main: bool | None = None
    position: OptionalInt = None


class ArticleListOption(ApiModel):
    id: OptionalInt = None
    name: str = ""
    price: OptionalMoney = None
    image_ids: Annotated[list[str], BeforeValidator(_text_list)] = []


class ArticleOptionList(ApiModel):
    """An option list ("configurator") as attached to an article, or as `GET /articlelists/{id}` gives it."""

    id: OptionalInt = None
    name: str = ""
    description: str | None = None
    has_images: bool | None = None
    options: list[ArticleListOption] = []


class VariantOption(ApiModel):
    list_id: int
    option_id: OptionalInt = None  # absent when the API sends the map form {"<list_id>": "<name>"}
    name: str = ""


def _variant_options(value: Any) -> Any:
    value = _object(value)
    if isinstance(value, dict):
        return [{"list_id": int(k), "name": v} for k, v in value.items()]
    return value


class ArticleVariant(ApiModel):
    """A combination of options with its own stock; variants have no SKU, EAN or price (NOTES §7.5)."""

    id: int
    options: Annotated[list[VariantOption], BeforeValidator(_variant_options)] = []
    stock: OptionalInt = None  # None: stock is not managed (unlimited)
    can_backorder: bool | None = None


class ArticleImage(ApiModel):
    id: Text
    position: OptionalInt = None  # the API sends a string
    original_name: str | None = None
    urls: StringMap = {}
    url: str | None = None  # deprecated by the API


class ArticleSummary(ApiModel):
    """What the catalogue scans need of an article: its keys (id, SKU, EAN), stock, variants, option
    lists and category links. Decoding only these keeps a scan of a large shop cheap; `Article` adds the
    rest."""

    id: int
    uuid: str | None = None
    sku: str | None = None
    stock: OptionalInt = None  # None: stock is not managed (unlimited)
    can_backorder: bool | None = None
    extra: Annotated[ArticleExtra, BeforeValidator(_object)] = ArticleExtra()
    updated_date: dt.date | None = None
    updated_time: dt.time | None = None
    categories: list[ArticleCategoryLink] = []
    lists: list[ArticleOptionList] = []
    variants: list[ArticleVariant] = []

    @property
    def ean(self) -> str | None:
        """The EAN/GTIN, stored by MijnWebwinkel as the extra field `barcode`."""
        return self.extra.get("barcode")

    @property
    def stock_managed(self) -> bool:
        return self.stock is not None

    @property
    def visible(self) -> bool:
        """Shown in the shop: active on at least one of its category pages (the API has no other flag)."""
        return any(link.is_active is not False for link in self.categories)

    def variant_for(self, options: Mapping[int, int]) -> ArticleVariant | None:
        """The variant with exactly these chosen options ({list id: option id}), or None.

        Variants in the map form (quirk) carry option names only: those are matched through `lists`."""
        wanted = dict(options)
        for variant in self.variants:
            if self._variant_options(variant) == wanted:
                return variant
        return None

    def _variant_options(self, variant: ArticleVariant) -> dict[int, int | None]:
        chosen: dict[int, int | None] = {}
        for option in variant.options:
            option_id = option.option_id
            if option_id is None:
                listed = next((entry for entry in self.lists if entry.id == option.list_id), None)
                named = [o.id for o in (listed.options if listed else []) if o.name == option.name]
                option_id = named[0] if len(named) == 1 else None
            chosen[option.list_id] = option_id
        return chosen


class Article(ArticleSummary):
    name: str = ""
    description: str | None = None
    badge_text: str | None = None
    taxable: bool | None = None
    price: ArticlePrice = ArticlePrice()
    delivery_days: OptionalInt = None
    meta_title: str | None = None
    meta_description: str | None = None
    created_date: dt.date | None = None
    created_time: dt.time | None = None
    url: str | None = None
    images: Annotated[list[ArticleImage], BeforeValidator(_as_list)] = []  # often missing when empty

    @property
    def weight(self) -> Decimal | None:
        value = self.extra.get("weight")
        return _optional_money(value.replace(",", ".")) if value else None

    def image_named(self, original_name: str) -> ArticleImage | None:
        """The image uploaded under this file name (how a lost upload answer is found again)."""
        return next((image for image in self.images if image.original_name == original_name), None)


class CategoryArticle(ApiModel):
    id: int
    name: str = ""
    uuid: str | None = None
    is_main: bool | None = None


# ------------------------------------------------------------------------------------------ categories


class CategorySorting(ApiModel):
    first: bool | None = None
    last: bool | None = None
    previous: OptionalInt = None
    next: OptionalInt = None


class Category(ApiModel):
    id: int
    # One official example calls it `parent_id` (NOTES §7.11); accept both.
    parent_category_id: OptionalInt = Field(
        default=None, validation_alias=AliasChoices("parent_category_id", "parent_id")
    )
    hidden: bool | None = None
    title: str = ""
    content: str | None = None
    meta_title: str | None = None
    meta_description: str | None = None
    article_order: OptionalInt = None
    leafs: list[Category] = []
    sorting: Annotated[CategorySorting | None, BeforeValidator(_object_or_none)] = None


# ---------------------------------------------------------------------------------------------- orders


class OrderStatus(ApiModel):
    status: int
    description: str = ""
    credit_order: bool = False


class Address(ApiModel):
    """An order address. `number` is the house number with any suffix in one string ("12A", "12 bis")."""

    id: str | None = None
    gender: str | None = None
    name: str | None = None
    company: str | None = None
    phone: str | None = None
    street: str | None = None
    number: OptionalText = None
    zipcode: OptionalText = None
    city: str | None = None
    country: str | None = None  # localised name, deprecated by the API
    country_code: str | None = None


class InvoiceAddress(Address):
    taxnumber: str | None = None  # VAT number (B2B)
    bankaccount: str | None = None


class OrderAddresses(ApiModel):
    invoice: Annotated[InvoiceAddress, BeforeValidator(_object)] = InvoiceAddress()
    delivery: Annotated[Address | None, BeforeValidator(_object_or_none)] = None


class OrderDebtor(ApiModel):
    id: str | None = None  # customer UUID when the buyer has an account
    email: str | None = None
    address: Annotated[OrderAddresses, BeforeValidator(_object)] = OrderAddresses()
    # Deprecated debtor-level fields, still read as a fallback for old orders.
    name: str | None = None
    company: str | None = None
    phone: str | None = None


class Customer(ApiModel):
    """The buyer as a flow needs it, derived from `debtor` and its invoice address (not an API object)."""

    email: str | None
    name: str | None
    company: str | None
    vat_number: str | None
    phone: str | None
    debtor_id: str | None


class LinePrice(ApiModel):
    """One VAT-rate part of an order line's price; for the whole quantity, not per unit."""

    amount: OptionalMoney = None  # excl. VAT, up to 6 decimals
    amount_including_tax: OptionalMoney = None  # incl. VAT, 2 decimals
    rate: Money = Decimal(0)  # percent, e.g. 21.00


class OrderArticlePrice(ApiModel):
    amount: OptionalMoney = None  # per unit, excl. VAT, before options
    rate: OptionalMoney = None
    purchase_price: OptionalMoney = None


def _option_price(value: Any) -> Any:
    """Option prices come as a string (schema) or as {amount, rate} (official examples)."""
    if isinstance(value, dict):
        return value
    if value in (None, "", []):
        return {}
    return {"amount": value}


class OrderOptionPrice(ApiModel):
    amount: OptionalMoney = None  # per unit, excl. VAT; negative for an action price
    rate: OptionalMoney = None


class OrderArticleOption(ApiModel):
    list_option_id: OptionalInt = None  # absent on the "Action price" pseudo-option
    description: str = ""
    price: Annotated[OrderOptionPrice, BeforeValidator(_option_price)] = OrderOptionPrice()


class OrderArticle(ApiModel):
    id: OptionalInt = None  # internal article id
    description: str | None = None
    sku: str | None = None  # since 2024-06; the API sends no EAN on orders
    price: Annotated[OrderArticlePrice, BeforeValidator(_object)] = OrderArticlePrice()
    options: list[OrderArticleOption] = []


LineType = Literal["article", "custom", "shipping", "payment", "discount"]


class OrderLine(ApiModel):
    id: str | None = None
    type: str  # article, custom, shipping, payment, discount (see LineType)
    quantity: int = 1
    description: str | None = None
    weight: OptionalMoney = None
    price: Annotated[list[LinePrice], BeforeValidator(_as_list)] = []  # one part per VAT rate
    articles: list[OrderArticle] = []

    @property
    def amount_excl(self) -> Decimal:
        return sum((p.amount or Decimal(0) for p in self.price), Decimal(0))

    @property
    def amount_incl(self) -> Decimal:
        return sum((p.amount_including_tax or Decimal(0) for p in self.price), Decimal(0))

    @property
    def vat_rates(self) -> list[Decimal]:
        return [p.rate for p in self.price]

    @property
    def vat_rate(self) -> Decimal | None:
        """The line's VAT rate, or None when its price is split over several rates."""
        return self.price[0].rate if len(self.price) == 1 else None

    @property
    def article_id(self) -> int | None:
        return self.articles[0].id if self.articles else None

    @property
    def sku(self) -> str | None:
        return self.articles[0].sku if self.articles else None

    @property
    def unit_price_excl(self) -> Decimal | None:
        """Per-unit price excl. VAT: the article price plus its option amounts (incl. an action price)."""
        if not self.articles or self.articles[0].price.amount is None:
            return None
        article = self.articles[0]
        base = article.price.amount or Decimal(0)
        return base + sum((o.price.amount or Decimal(0) for o in article.options), Decimal(0))

    @property
    def unit_price_incl(self) -> Decimal:
        """Line total incl. VAT divided by quantity, unrounded; the line total is what the shop charged."""
        return self.amount_incl / self.quantity if self.quantity else self.amount_incl

    @property
    def has_action_price(self) -> bool:
        """Sold at a sale price: an option without a list option id and with a negative amount."""
        return any(
            o.list_option_id is None and (o.price.amount or Decimal(0)) < 0 for a in self.articles for o in a.options
        )


class TaxAmount(ApiModel):
    rate: Money
    amount: Money


class OrderPrice(ApiModel):
    tax: Annotated[list[TaxAmount], BeforeValidator(_as_list)] = []
    total: Money = Decimal(0)  # incl. VAT


class OrderComments(ApiModel):
    customer: str | None = None
    internal: str | None = None


class PaymentStatus(ApiModel):
    id: OptionalInt = None
    text: str | None = None


class OrderPayment(ApiModel):
    gateway_name: str | None = None
    method_name: str | None = None
    status: Annotated[PaymentStatus | None, BeforeValidator(_object_or_none)] = None


class ShippingCountry(ApiModel):
    description: str | None = None
    isocode: str | None = None


class OrderShipping(ApiModel):
    country: Annotated[ShippingCountry | None, BeforeValidator(_object_or_none)] = None


class Order(ApiModel):
    number: Text  # text: live numbers may be strings, test orders "T-…"
    uuid: str | None = None
    date: dt.date
    time: dt.time | None = None
    status: int
    status_changed_date: dt.date | None = None
    status_changed_time: dt.time | None = None
    weight: OptionalMoney = None
    archived: bool = False
    taxed: str | None = None
    locale: str | None = None
    discountcode: str | None = None
    currency: str | None = None
    currency_format_locale: str | None = None
    credited_order_number: OptionalText = None  # set on a credit order
    credit_order_numbers: Annotated[list[str], BeforeValidator(_text_list)] = []
    comments: Annotated[OrderComments, BeforeValidator(_object)] = OrderComments()
    business_model: str | None = None
    reference: str | None = None
    tax_region: str | None = None
    tax_strategy: str | None = None
    offline_location_id: str | None = None
    payment_status: str | None = None
    payment: Annotated[OrderPayment | None, BeforeValidator(_object_or_none)] = None
    debtor: Annotated[OrderDebtor, BeforeValidator(_object)] = OrderDebtor()
    price: Annotated[OrderPrice, BeforeValidator(_object)] = OrderPrice()
    orderlines: list[OrderLine] = []
    shipping: Annotated[list[OrderShipping], BeforeValidator(_as_list)] = []

    @property
    def is_test(self) -> bool:
        """Test orders carry a "T-" marker in their number (NOTES §7.9); the order has no test field."""
        return self.number.upper().startswith("T")

    @property
    def is_credit(self) -> bool:
        return self.credited_order_number not in (None, "")

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.combine(self.date, self.time or dt.time(0))

    @property
    def status_changed_at(self) -> dt.datetime | None:
        if self.status_changed_date is None:
            return None
        return dt.datetime.combine(self.status_changed_date, self.status_changed_time or dt.time(0))

    @property
    def billing_address(self) -> InvoiceAddress:
        return self.debtor.address.invoice

    @property
    def shipping_address(self) -> Address:
        """The delivery address, or the invoice address when the order has none."""
        return self.debtor.address.delivery or self.debtor.address.invoice

    @property
    def customer(self) -> Customer:
        invoice = self.debtor.address.invoice
        return Customer(
            email=(self.debtor.email or "").strip() or None,
            name=invoice.name or self.debtor.name,
            company=invoice.company or self.debtor.company or None,
            vat_number=invoice.taxnumber or None,
            phone=invoice.phone or self.debtor.phone or None,
            debtor_id=self.debtor.id,
        )

    def lines_of(self, *types: str) -> list[OrderLine]:
        return [line for line in self.orderlines if line.type in types]

    @property
    def article_lines(self) -> list[OrderLine]:
        return self.lines_of("article", "custom")

    @property
    def shipping_cost(self) -> Decimal:
        """Shipping costs incl. VAT."""
        return sum((line.amount_incl for line in self.lines_of("shipping")), Decimal(0))

    @property
    def payment_cost(self) -> Decimal:
        """Payment (transaction) costs incl. VAT."""
        return sum((line.amount_incl for line in self.lines_of("payment")), Decimal(0))

    @property
    def payment_method(self) -> str | None:
        return self.payment.method_name if self.payment else None

    @property
    def total(self) -> Decimal:
        return self.price.total

    @property
    def country_code(self) -> str | None:
        """Destination country: the `shipping` entry, else the delivery/invoice address."""
        for entry in self.shipping:
            if entry.country and entry.country.isocode:
                return entry.country.isocode
        return self.shipping_address.country_code


# --------------------------------------------------------------------------------- shipping and tax


def _threshold(value: Any) -> Any:
    """`no_costs_above` is typed bool but sent as "100.00" (NOTES §7.11): keep the amount, or None."""
    if isinstance(value, bool):
        return None
    return _optional_money(value)


class ShippingMethod(ApiModel):
    id: Text
    display_name: str = Field(default="", validation_alias=AliasChoices("display_name", "display name"))
    countries: Annotated[list[str], BeforeValidator(_as_list)] = []
    default: bool | None = None
    no_costs_above: Annotated[Decimal | None, BeforeValidator(_threshold), _decimal_str] = None


class TaxOverrideItem(ApiModel):
    type: str
    references: list[str] = []


class TaxOverride(ApiModel):
    tax_rate: OptionalMoney = Field(default=None, alias="taxRate")
    items: list[TaxOverrideItem] = []


class TaxRegion(ApiModel):
    """Tax rates here are fractions ("0.21"), unlike the percentages on orders."""

    region_code: str = Field(alias="regionCode")
    tax_enabled: bool | None = Field(default=None, alias="taxEnabled")
    tax_number: str | None = Field(default=None, alias="taxNumber")
    tax_rate: OptionalMoney = Field(default=None, alias="taxRate")
    shipping_tax_method: str | None = Field(default=None, alias="shippingTaxMethod")
    shipping_tax_rate: OptionalMoney = Field(default=None, alias="shippingTaxRate")
    transaction_tax_method: str | None = Field(default=None, alias="transactionTaxMethod")
    transaction_tax_rate: OptionalMoney = Field(default=None, alias="transactionTaxRate")
    overrides: list[TaxOverride] = []


# -------------------------------------------------------------------------------------- write models


class WriteModel(BaseModel):
    """Base for request bodies: only the fields you set are sent (`exclude_unset`), money as strings."""

    model_config = ConfigDict(extra="forbid")

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class ArticlePriceInput(WriteModel):
    default: Money | None = None
    action: Money | None = None
    purchase: Money | None = None


class ArticleExtraInput(WriteModel):
    visible: dict[str, str] | None = None
    invisible: dict[str, str] | None = None


class ArticleCategoryInput(WriteModel):
    category_id: int
    is_main: bool | None = None
    is_active: bool | None = None
    article_url_id: int | None = None


class ListOptionInput(WriteModel):
    """An option of a list attached to an article; `price` overrides the list's surcharge for this article
    only (changelog 2019-07-01: "each attached option can also specify a specific price")."""

    id: int
    image_ids: list[str] = []
    price: Money | None = None


class ArticleListInput(WriteModel):
    """Attach list `id` with exactly these options; on PATCH the options replace the current ones."""

    id: int
    has_images: bool | None = None
    options: list[ListOptionInput]


class VariantInput(WriteModel):
    id: int
    stock: int | None = None
    can_backorder: bool | None = None


class ImageInput(WriteModel):
    """Attach by `url`, or keep/re-order an existing image by `id`; positions 1–15."""

    id: str | None = None
    url: str | None = None
    position: int | None = None


class ArticleInput(WriteModel):
    """Body of `POST /articles` (needs `name` and `categories`) or a partial `PATCH /articles/{id}`."""

    name: str | None = None
    description: str | None = None
    sku: str | None = None
    badge_text: str | None = None
    taxable: bool | None = None
    price: ArticlePriceInput | None = None
    stock: int | None = None  # set to None explicitly for unmanaged stock
    can_backorder: bool | None = None
    delivery_days: int | None = None
    meta_title: str | None = None
    meta_description: str | None = None
    extra: ArticleExtraInput | None = None
    categories: list[ArticleCategoryInput] | None = None
    lists: list[ArticleListInput] | None = None
    variants: list[VariantInput] | None = None
    images: list[ImageInput] | None = None


class CategorySortingInput(WriteModel):
    first: bool | None = None
    last: bool | None = None
    before: int | None = None
    after: int | None = None


class CategoryInput(WriteModel):
    """Body of `POST /categories` (needs `title`) or `PATCH /categories/{id}`."""

    parent_category_id: int | None = None
    hidden: bool | None = None
    title: str | None = None
    content: str | None = None
    meta_title: str | None = None
    meta_description: str | None = None
    article_order: int | None = None
    sorting: CategorySortingInput | None = None


class ListOptionCreate(WriteModel):
    name: str
    price: Money | None = None
