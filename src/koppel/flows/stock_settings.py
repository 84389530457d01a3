"""Settings of the stock flow (AccountView stock into the shop), validated before they are saved: a custom
formula that names no stock figure, or divides by zero on sample figures, is refused here, not at run time."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from koppel.flows.stock_formula import FIGURES, StockProblem, check_custom, parse_factor
from koppel.reasons import invalid, reason

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,29}")


class StockSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    interval_seconds: int = Field(60, ge=10, description="poll AccountView's stock this often (seconds)")
    formula: Literal["available_minus_reserved", "available", "free", "technical", "custom"] = Field(
        "available_minus_reserved",
        description="the shop's stock: available minus sales-order reservations (the reference's rule), "
        "available, free or technical stock, or `expression` (custom)",
    )
    expression: str = Field(
        "",
        description=f"formula custom: a JSONata expression over the figures {', '.join(FIGURES)}, e.g. "
        "'available - reserved - 2' (a safety margin); the AccountView profile says which field holds each",
    )
    managed: Literal["all", "none", "per_article"] = Field(
        "all",
        description="whose stock the shop manages: all articles, none (all unlimited in the shop), or per "
        "article from the AccountView profile's article_stock_managed_field; unmanaged is the shop's "
        "unlimited stock",
    )
    unit_factor_field: str = Field(
        "",
        description="ARTICLE field holding how many AccountView units make one shop unit (e.g. the pack "
        "content); empty or 0 in an article counts as 1",
    )
    unit_factors: dict[str, str] = Field(
        default_factory=dict,
        description="per article code: AccountView units per shop unit ('6': sold per six; '1/12': "
        "AccountView counts dozens, the shop pieces); wins over unit_factor_field",
    )
    match_on_sku: bool = Field(
        True,
        description="articles the products flow never linked: find them in the shop by SKU = AccountView "
        "article code (case and surrounding spaces ignored)",
    )
    compare_with: Literal["last_sent", "shop"] = Field(
        "last_sent",
        description="write an article when its stock differs from what Koppel last sent (no shop reads; "
        "the first run and --full compare with the shop), or from the shop's current stock, read in full "
        "every cycle (also undoes stock edited by hand in the shop, at one shop call per 100 articles)",
    )
    sku_overlap_minutes: int = Field(
        120, ge=0, description="match_on_sku: shop articles created this long before the last run are looked at again"
    )
    max_stock: int = Field(
        100_000_000,
        ge=1,
        le=2_147_483_647,
        description="a stock figure or result beyond this is taken for a mistake (1e12): the article is parked",
    )

    @field_validator("unit_factor_field")
    @classmethod
    def _field_name(cls, value: str) -> str:
        value = value.strip().upper()
        if value and not _FIELD_NAME.fullmatch(value):
            raise invalid(reason("{value} is no AccountView field name", value=repr(value)))
        return value

    @field_validator("unit_factors")
    @classmethod
    def _factors(cls, value: dict[str, str]) -> dict[str, str]:
        factors = {}
        for code, factor in value.items():
            try:
                parse_factor(factor, what=reason("the unit factor of {code}", code=code))
            except StockProblem as error:
                raise invalid(reason("{problem}", problem=error)) from None
            factors[code.strip().upper()] = str(factor).strip()
        return factors

    @model_validator(mode="after")
    def _formula(self) -> StockSettings:
        if self.formula == "custom":
            if not self.expression.strip():
                raise invalid(reason("formula custom needs an expression, e.g. 'available - reserved'"))
            try:
                check_custom(self.expression)
            except ValueError as error:
                raise invalid(reason("expression {expression}: {problem}", expression=repr(self.expression),
                                     problem=error)) from None
        elif self.expression.strip():
            raise invalid(reason("an expression is used with formula custom only (formula is {formula})",
                                 formula=self.formula))
        return self
