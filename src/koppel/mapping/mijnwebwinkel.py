"""MijnWebwinkel as a map target: the fields of its article and category bodies (`openapi.yaml`'s
ArticlePostable and Category), by their dotted path in the body (`price.default`, `extra.invisible.barcode`).

A merchant article field (a feature such as country of origin) is any `extra.visible.<name>` or
`extra.invisible.<name>`: the shop lets the merchant name them, so the dictionary takes every name there.
The spec states no lengths; the limits below are assumed (marked) and refuse a value before a write the
shop might cut or refuse, naming the article and the field.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from koppel.mapping.targets import Kind, TargetField, register_dictionary

SYSTEM = "mijnwebwinkel"
EXTRA_BUCKETS = ("extra.visible.", "extra.invisible.")
FEATURE_MAX_LENGTH = 255  # [assumed] a merchant field's value

_ARTICLE: dict[str, tuple[Kind, int | None, int | None]] = {  # kind, max length, decimals
    "name": ("text", 150, None),  # [assumed] the shop's name field
    "description": ("memo", None, None),
    "sku": ("text", 64, None),  # [assumed]
    "badge_text": ("text", 50, None),  # [assumed]
    "taxable": ("bool", None, None),
    "price.default": ("money", None, 2),  # shown to the buyer: cents
    "price.action": ("money", None, 2),
    "price.purchase": ("money", None, 6),  # excl. VAT; the API keeps up to 6 decimals there
    "stock": ("integer", None, None),
    "can_backorder": ("bool", None, None),
    "delivery_days": ("integer", None, None),
    "meta_title": ("text", 255, None),  # [assumed]
    "meta_description": ("text", 255, None),  # [assumed]
}
_CATEGORY: dict[str, tuple[Kind, int | None, int | None]] = {
    "title": ("text", 150, None),  # [assumed]
    "content": ("memo", None, None),
    "hidden": ("bool", None, None),
    "meta_title": ("text", 255, None),  # [assumed]
    "meta_description": ("text", 255, None),  # [assumed]
}
# Fields that describe a product rather than sell it: the shop may enrich them, and the "update product
# information" switch decides whether an update overwrites them (categories and images follow it too).
DESCRIPTIVE = frozenset({"name", "description", "badge_text", "meta_title", "meta_description"})


class ArticleFields(dict[str, TargetField]):
    """The article's fields, where every `extra.visible.*` / `extra.invisible.*` name is a text field."""

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or _feature(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        if super().__contains__(name):
            return super().get(name)
        if _feature(name):
            return TargetField(SYSTEM, "article", name, "text", max_length=FEATURE_MAX_LENGTH)
        return default


def _feature(name: object) -> bool:
    return isinstance(name, str) and any(
        name.startswith(bucket) and len(name) > len(bucket) for bucket in EXTRA_BUCKETS
    )


def _fields(table: str, spec: dict[str, tuple[Kind, int | None, int | None]]) -> dict[str, TargetField]:
    return {
        name: TargetField(SYSTEM, table, name, kind, max_length=length, decimals=decimals)
        for name, (kind, length, decimals) in spec.items()
    }


@cache
def dictionary(table: str) -> dict[str, TargetField] | None:
    """The fields of `article` or `category`; None for any other table (read-only: shared by every map)."""
    if table == "article":
        return ArticleFields(_fields("article", _ARTICLE))
    if table == "category":
        return _fields("category", _CATEGORY)
    return None


def nest(row: dict[str, Any]) -> dict[str, Any]:
    """A mapped row's dotted names as the nested body the API takes (`price.default` → price: {default})."""
    body: dict[str, Any] = {}
    for name, value in row.items():
        if name.startswith(EXTRA_BUCKETS):  # a feature's name may itself hold dots
            bucket, _, field = name.removeprefix("extra.").partition(".")
            body.setdefault("extra", {}).setdefault(bucket, {})[field] = value
            continue
        *parents, last = name.split(".")
        place = body
        for parent in parents:
            place = place.setdefault(parent, {})
        place[last] = value
    return body


register_dictionary(SYSTEM, dictionary)
