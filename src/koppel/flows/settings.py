"""Per-flow settings of an integration, validated before they are saved (APIcenter's settings pattern:
a default value, a "force" switch, and a mapping table)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from koppel.reasons import invalid, reason


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
    statuses: list[int] = Field(default_factory=lambda: [3, 6], description="MWW order status ids to send; "
                                "default the paid ones, 3 Betaald and 6 Betaald & afgehaald (2 is Verzonden)")
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
        default_factory=dict,
        description="VAT rate ('21'), destination country and rate ('BE:21', EU one-stop shop), or "
        "'reverse_charge'/'export' → AV VAT code; a country without its own entry for a rate takes the rate's",
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
    credit_orders: Literal["park", "book"] = Field(
        "park",
        description="credit orders: park them for booking by hand, or book them as a credit (a negative sales "
        "order or credit invoice) referring to the original order's document, for the original's debtor; "
        "include the shop's credit status (e.g. 10, Gecrediteerd) in statuses",
    )

    @field_validator("vat_codes")
    @classmethod
    def _vat_keys(cls, value: dict[str, str]) -> dict[str, str]:
        keys: dict[str, str] = {}
        for key, code in value.items():
            clean = key.strip()
            if clean.lower() in _VAT_CASES:
                clean = clean.lower()
            elif match := _COUNTRY_RATE.fullmatch(clean):
                clean = f"{match['country'].upper()}:{match['rate']}" if match["country"] else match["rate"]
            else:
                raise invalid(reason("VAT code key {key}: use a rate ('21'), a country and rate ('BE:21'), "
                                     "'reverse_charge' or 'export'", key=repr(key)))
            keys[clean] = code
        return keys

    def vat_code(self, key: str, country: str | None = None) -> str | None:
        """The AV VAT code for a VAT key (a rate such as '21', or a tax-strategy case), in the destination
        country's own entry when it has one ('BE:21'), else the rate's; None when neither is set."""
        key = _VAT_ALIASES.get(key, key)
        if country and _rate(key) is not None:
            found = _find(self.vat_codes, key, prefix=f"{country.upper()}:")
            if found is not None:
                return found
        return _find(self.vat_codes, key, prefix="")

    def for_destination(self, country: str | None) -> OrdersSettings:
        """These settings with the destination country's own VAT codes in place of the rates' (for the maps,
        which look VAT codes up by rate)."""
        prefix = f"{(country or '').upper()}:"
        own = {k.removeprefix(prefix): v for k, v in self.vat_codes.items() if k.startswith(prefix)}
        if not country or not own:
            return self
        plain = {
            k: v
            for k, v in self.vat_codes.items()
            if ":" not in k and (_rate(k) is None or all(_rate(k) != _rate(o) for o in own))
        }
        return self.model_copy(update={"vat_codes": {**plain, **own}})

    @field_validator("statuses")
    @classmethod
    def _statuses_not_empty(cls, value: list[int]) -> list[int]:
        if not value:
            raise invalid(reason("choose at least one order status to send"))
        return value


_VAT_CASES = ("reverse_charge", "export", "reverse_charged_vat", "zero_percent")
_VAT_ALIASES = {"reverse_charged_vat": "reverse_charge", "zero_percent": "export"}
_COUNTRY_RATE = re.compile(r"(?:(?P<country>[A-Za-z]{2})\s*:\s*)?(?P<rate>\d+(?:\.\d+)?)")


def _rate(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _find(table: dict[str, str], key: str, *, prefix: str) -> str | None:
    """The entry for `prefix + key`; rates compare as numbers ('21' finds '21.00')."""
    for alias in {key, _VAT_ALIASES.get(key, key), *(k for k, v in _VAT_ALIASES.items() if v == key)}:
        if prefix + alias in table:
            return table[prefix + alias]
    wanted = _rate(key)
    if wanted is None:
        return None
    for entry, code in table.items():
        if entry.startswith(prefix) and ":" not in entry[len(prefix) :] and _rate(entry[len(prefix) :]) == wanted:
            return code
    return None


from koppel.flows.products_settings import ProductsSettings  # noqa: E402  (each flow owns its settings)
from koppel.flows.stock_settings import StockSettings  # noqa: E402


class FlowSettings(StrictModel):
    orders: OrdersSettings = Field(default_factory=lambda: OrdersSettings.model_validate({}))
    products: ProductsSettings = Field(default_factory=lambda: ProductsSettings.model_validate({}))
    stock: StockSettings = Field(default_factory=lambda: StockSettings.model_validate({}))


FLOWS = ("orders", "products", "stock")
