"""Per-flow settings of an integration, validated before they are saved (APIcenter's settings pattern:
a default value, a "force" switch, and a mapping table)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ValueMapping(StrictModel):
    """Maps a shop value (payment method name, …) to an AccountView code."""

    default: str | None = Field(None, description="used when the table has no entry for the value")
    force: bool = Field(False, description="always use the default, whatever the shop says")
    table: dict[str, str] = Field(default_factory=dict)

    def resolve(self, value: str | None) -> str | None:
        if self.force:
            return self.default
        if value is not None and value in self.table:
            return self.table[value]
        return self.default


class OrdersSettings(StrictModel):
    enabled: bool = True
    interval_seconds: int = Field(60, ge=10)
    statuses: list[int] = Field(default_factory=lambda: [2], description="MWW order status ids to send")
    include_test_orders: bool = False
    orders_from: date | None = Field(None, description="first run: ignore orders created before this day")
    write_as: Literal["sales_order", "invoice"] = "sales_order"
    match_debtor_on: Literal["email"] = "email"
    update_existing_debtor: bool = True
    default_debtor: str | None = Field(None, description="AccountView debtor number used as fallback")
    force_default_debtor: bool = False
    match_articles_on_ean: bool = False
    shipping_article: str = "VERZEND"
    payment_cost_article: str = "BETAALKOST"
    discount_article: str = "KORTING"
    rounding_article: str | None = Field(None, description="article for a rounding line; none: park instead")
    total_tolerance: Decimal = Field(Decimal("0.01"), ge=0)
    truncate_long_fields: bool = Field(False, description="cut over-long values with a warning instead of parking")
    text_outside_code_page: Literal["transliterate", "park"] = Field(
        "transliterate",
        description="text AccountView's code page can't hold (Ł, emoji): closest letters with a warning, or park",
    )
    vat_codes: dict[str, str] = Field(
        default_factory=dict, description="VAT rate (e.g. '21') or 'reverse_charge'/'export' → AV VAT code"
    )
    payment_methods: ValueMapping = Field(default_factory=lambda: ValueMapping.model_validate({}))
    payment_terms: ValueMapping = Field(default_factory=lambda: ValueMapping.model_validate({}))
    overlap_minutes: int = Field(10, ge=0, description="re-read window behind the cursor")
    invoice_journal: str | None = Field(
        None, description="write_as=invoice: AV sales journal code; none: the journal named Verkoopboek"
    )
    revenue_accounts: dict[str, str] = Field(
        default_factory=dict,
        description="write_as=invoice: AV revenue ledger account per line type "
        "(article, custom, shipping, payment, discount, rounding)",
    )

    @field_validator("statuses")
    @classmethod
    def _statuses_not_empty(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("choose at least one order status to send")
        return value


class ProductsSettings(StrictModel):
    enabled: bool = False
    interval_seconds: int = Field(300, ge=10)
    update_product_info: bool = Field(False, description="on update, overwrite texts the shop may have enriched")
    match_on: Literal["sku", "ean"] = "sku"


class StockSettings(StrictModel):
    enabled: bool = False
    interval_seconds: int = Field(60, ge=10)
    formula: Literal["available_minus_reserved", "available", "on_hand"] = "available_minus_reserved"
    shop_manages_stock: bool = True


class FlowSettings(StrictModel):
    orders: OrdersSettings = Field(default_factory=lambda: OrdersSettings.model_validate({}))
    products: ProductsSettings = Field(default_factory=lambda: ProductsSettings.model_validate({}))
    stock: StockSettings = Field(default_factory=lambda: StockSettings.model_validate({}))


FLOWS = ("orders", "products", "stock")
