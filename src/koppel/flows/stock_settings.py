"""Settings of the stock flow (AccountView stock into the shop), validated before they are saved."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StockSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    interval_seconds: int = Field(60, ge=10)
    formula: Literal["available_minus_reserved", "available", "on_hand"] = "available_minus_reserved"
    shop_manages_stock: bool = True
