"""What the sandbox refuses in article writes, and why: each problem message starts with the field it
concerns ("name: …", "extra.invisible.barcode: …"), answered as 422 with an RFC 7807 body.

The references document no limits (openapi.yaml has no maxLength on articles; NOTES §10.2 leaves the
validation codes open), so every limit here is our assumption, configurable per sandbox
(`PUT /_sandbox/settings {"rules": {...}}` or `state.rules`), and listed in the README.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from koppel.connectors.mijnwebwinkel.images import image_type


def gtin_is_valid(code: str) -> bool:
    """GTIN-8/12/13/14 (EAN, UPC) with a correct GS1 check digit."""
    if len(code) not in (8, 12, 13, 14) or not code.isdigit():
        return False
    digits = [int(d) for d in reversed(code[:-1])]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits))
    return (10 - total % 10) % 10 == int(code[-1])


@dataclass
class ArticleRules:
    name_max_length: int = 255  # a common VARCHAR(255); the live limit is unknown
    check_barcode: bool = True  # the shop's barcode field feeds GTIN feeds; refuse wrong check digits
    max_price: Decimal = Decimal("999999.99")
    max_stock: int = 2**31 - 1  # a 32-bit integer column
    max_image_bytes: int = 10 * 1024 * 1024

    def as_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise KeyError(f"unknown rule {key!r} (known: {', '.join(known)})")
            current = getattr(self, key)
            setattr(self, key, type(current)(value) if not isinstance(current, bool) else bool(value))

    # ------------------------------------------------------------------------------ checks

    def article_problem(self, body: dict[str, Any], *, creating: bool) -> str | None:
        """The first thing wrong with an article POST/PATCH body, or None."""
        if creating and (not isinstance(body.get("name"), str) or not body["name"].strip()):
            return "name: is required"
        if creating and not body.get("categories"):
            return "categories: at least one category is required"
        if "name" in body:
            name = body["name"]
            if not isinstance(name, str) or not name.strip():
                return "name: must be a non-empty text"
            if len(name) > self.name_max_length:
                return f"name: is {len(name)} characters long, at most {self.name_max_length} are allowed"
        for key in ("default", "action", "purchase"):
            problem = self._price_problem(key, (body.get("price") or {}).get(key))
            if problem:
                return problem
        if "stock" in body:
            problem = self.stock_problem("stock", body["stock"], unlimited=True)
            if problem:
                return problem
        return self.fields_problem(body.get("extra") or {})

    def _price_problem(self, key: str, value: Any) -> str | None:
        if value is None:
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return f"price.{key}: {value!r} is not an amount"
        if not amount.is_finite() or amount < 0:
            return f"price.{key}: {value} must not be negative"
        if amount > self.max_price:
            return f"price.{key}: {value} is above the maximum of {self.max_price}"
        return None

    def stock_problem(self, field: str, value: Any, *, unlimited: bool) -> str | None:
        if value is None:
            return None if unlimited else f"{field}: must be a whole number (unlimited stock is set on the article)"
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{field}: {value!r} is not a whole number"
        if abs(value) > self.max_stock:
            return f"{field}: {value} is out of range (at most {self.max_stock})"
        return None

    def fields_problem(self, extra: dict[str, Any]) -> str | None:
        """Merchant fields by bucket ({"visible": {...}, "invisible": {...}}): a barcode must be a GTIN."""
        for bucket in ("visible", "invisible"):
            for name, value in (extra.get(bucket) or {}).items():
                wrong = name == "barcode" and value not in (None, "") and not gtin_is_valid(str(value))
                if wrong and self.check_barcode:
                    return (
                        f"extra.{bucket}.barcode: {value} is not a valid EAN/GTIN "
                        "(8, 12, 13 or 14 digits with a correct check digit)"
                    )
        return None

    def image_problem(self, content: bytes) -> str | None:
        if len(content) > self.max_image_bytes:
            return (
                f"content: the image is {len(content) / 1_048_576:.1f} MB, at most "
                f"{self.max_image_bytes / 1_048_576:.0f} MB is allowed"
            )
        if image_type(content) is None:
            return "content: is not a JPEG, PNG, GIF or WebP image"
        return None
