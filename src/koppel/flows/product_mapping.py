"""How an AccountView article becomes a MijnWebwinkel article, and an article group a category: the default
maps (with the integration's overrides) applied through the one mapper, the "update product information"
switch applied as create-only descriptive fields, and the hash of a mapped product that tells an unchanged
one from a changed one without asking the shop.

Pure: no remote calls. The AccountView reference data it needs (VAT rates, the store's price rule) is given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from koppel.connectors.accountview.models import Article
from koppel.errors import NeedsAttention
from koppel.flows.products_settings import ProductsSettings
from koppel.mapping import Mapped, MapSpec, Mode, TextRule, load_default_map, map_record, merge_overrides
from koppel.mapping.mijnwebwinkel import DESCRIPTIVE, EXTRA_BUCKETS, nest
from koppel.mapping.paths import parse_path
from koppel.reasons import reason

ARTICLE_MAP = "av_article_to_mww_article"
CATEGORY_MAP = "av_article_group_to_mww_category"
PRODUCT_MAPS = (ARTICLE_MAP, CATEGORY_MAP)
# Extra fields that identify or ship the article rather than describe it: they follow AccountView always.
_NOT_FEATURES = frozenset({"extra.invisible.barcode", "extra.visible.barcode", "extra.invisible.weight",
                           "extra.visible.weight"})
MAX_STOCK = 2**31 - 1  # the shop's stock is a 32-bit integer
_UTF8 = TextRule("utf-8")  # the shop stores any text; control characters are still taken out


def is_descriptive(target: str) -> bool:
    """A field the shop may enrich: name, descriptions, meta texts and features (merchant fields)."""
    return target in DESCRIPTIVE or (target.startswith(EXTRA_BUCKETS) and target not in _NOT_FEATURES)


def payload_hash(payload: Any) -> str:
    """A stable hash of a mapped payload (what the link remembers as last sent)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def article_source(article: Article) -> dict[str, Any]:
    """The article as the maps read it: Koppel's names (`article.*`) and AccountView's columns (`fields.*`)."""
    named = article.model_dump(mode="json", exclude={"row", "image", "problems"})
    return {"article": named, "fields": dict(article.row)}


def starting_stock(article: Article) -> int:
    """A new product's (or variant's) stock: AccountView's sellable stock, 0 when that is not a figure the shop
    can hold (the stock flow names such figures; a new product must not start as unlimited)."""
    sellable = article.sellable
    return int(sellable) if 0 <= sellable <= MAX_STOCK else 0


def _create_only(spec: MapSpec) -> MapSpec:
    """The map with every descriptive field set on create only (the reference's switch turned off)."""
    fields = [f.model_copy(update={"only_create": True}) if is_descriptive(f.target) else f for f in spec.fields]
    return spec.model_copy(update={"fields": fields})


class ProductMaps:
    """The product and category maps of one integration, ready for its articles."""

    def __init__(
        self,
        settings: ProductsSettings,
        overrides: Mapping[str, Any] | None = None,
        *,
        prices_include_tax: bool,
        vat_rates: Mapping[str, Decimal],
    ) -> None:
        overrides = overrides or {}
        self.prices_include_tax = prices_include_tax
        self.vat_rates = {code.strip().upper(): rate for code, rate in vat_rates.items()}
        # The settings' features are fields of the article map like any other; an override of the same field wins.
        features = {"fields": {f.target: {"source": f"fields.{f.field}"} for f in settings.features}}
        article_map = merge_overrides(load_default_map(ARTICLE_MAP), features)
        self.article_map = merge_overrides(article_map, overrides.get(ARTICLE_MAP) or {})
        self.category_map = merge_overrides(load_default_map(CATEGORY_MAP), overrides.get(CATEGORY_MAP) or {})
        if not settings.update_product_info:
            self.article_map = _create_only(self.article_map)
            self.category_map = _create_only(self.category_map)

    def columns(self) -> list[str]:
        """The ARTICLE columns the maps read by AccountView name (`fields.ART_ORIGIN`), to read them."""
        names: list[str] = []
        for spec in (self.article_map, self.category_map):
            for field in spec.fields:
                for path in _paths(field.source, field.transforms):
                    steps = parse_path(path)
                    if len(steps) > 1 and steps[0] == "fields" and isinstance(steps[1], str):
                        names.append(steps[1].upper())
        return list(dict.fromkeys(names))

    def vat_rate(self, article: Article) -> Decimal:
        code = article.vat_code.strip().upper()
        if code not in self.vat_rates:
            raise NeedsAttention(
                reason("Article {article}: VAT code {code} (ARTICLE VAT code field) is not one of AccountView's VAT "
                       "codes ({codes}). Correct the article.", article=article.code, code=code or reason("(empty)"),
                       codes=", ".join(sorted(self.vat_rates)) or reason("none")),
                field="ARTICLE.VAT_CODE",
                value=code,
            )
        return self.vat_rates[code]

    def article(self, article: Article, *, sku: str, variant_product: bool, mode: Mode,
                with_stock: bool = True) -> Mapped:
        """The shop article's fields (dotted names) for `article`; MappingError names every bad field.
        `with_stock=False` leaves the starting stock out (a hash must not follow every stock movement)."""
        rate = self.vat_rate(article)
        # a variant product has no EAN of its own (the shop's variants carry none)
        source = article_source(article.model_copy(update={"ean": ""}) if variant_product else article)
        source["context"] = {
            "sku": sku,
            "vat_rate": str(rate),
            "price_vat_rate": str(rate if self.prices_include_tax else Decimal(0)),
            "taxable": rate > 0,
            "stock": starting_stock(article) if with_stock and not variant_product else None,
        }
        return map_record(self.article_map, source, mode=mode, text=_UTF8)

    def category(self, code: str, description: str, *, mode: Mode) -> Mapped:
        return map_record(self.category_map, {"group": {"code": code, "description": description}}, mode=mode,
                          text=_UTF8)


def body(mapped: Mapped) -> dict[str, Any]:
    """A mapped row as the nested body the shop takes (`price.default` → price: {default})."""
    return nest(mapped.row)


def _paths(source: str | None, transforms: Any) -> list[str]:
    """Every input path a field reads: its source and its transforms' `{path: …}` arguments."""
    found = [source] if source else []
    for step in transforms:
        for value in step.args.values():
            for item in value if isinstance(value, list) else [value]:
                path = getattr(item, "path", None) or (item.get("path") if isinstance(item, dict) else None)
                if isinstance(path, str):
                    found.append(path)
    return found
