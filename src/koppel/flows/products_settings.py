"""Settings of the products flow (AccountView articles into the shop), validated before they are saved."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ProductsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    interval_seconds: int = Field(300, ge=10)
    update_product_info: bool = Field(False, description="on update, overwrite texts the shop may have enriched")
    match_on: Literal["sku", "ean"] = "sku"
