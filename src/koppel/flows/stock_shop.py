"""Where an article's stock goes in the shop, and what the shop shows now.

A `Target` is a shop article (`"123"`) or one variant of it (`"123/4"`), in the text form the products
flow's links hold ("product" and "variant" links) and the stock flow's own "stock" links repeat. A stock
value travels as text too: a whole number, or `UNLIMITED` for stock the shop does not manage.
`ShopStock.read` is the shop's current stock of every article and variant, and its articles by SKU, from
one scan of the catalogue (1 count call + 1 call per 100 articles). `stop_orders` makes an article or
variant unorderable (stock 0, no backorder): what an article blocked in AccountView gets under the products
flow's `blocked = "hide"`.

A variant keeps its own stock, whatever its article's: the article's `null` (unlimited) covers orders of the
article without a variant, and a variant's stock is an integer in the spec, so a variant can't be made
unlimited (the MijnWebwinkel sandbox's README, "Stock", says why this is the reading we hold to; a shop that
reads an unlimited article as every variant's is its quirk `article_stock_null_frees_variants`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from koppel.connectors.mijnwebwinkel.catalogue import match_key
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.models import ArticleInput, ArticleSummary, VariantInput
from koppel.errors import NeedsAttention
from koppel.reasons import reason

UNLIMITED = "unlimited"  # the shop's `stock: null`: stock not managed


def as_text(value: int | None) -> str:
    return UNLIMITED if value is None else str(value)


@dataclass(frozen=True)
class Target:
    article_id: int
    variant_id: int | None = None

    @classmethod
    def parse(cls, text: str) -> Target | None:
        """The target a link names, or None when the text is not one (a link of another kind)."""
        article, _, variant = text.strip().partition("/")
        if not article.isdigit() or (variant and not variant.isdigit()):
            return None
        return cls(int(article), int(variant) if variant else None)

    @property
    def key(self) -> str:
        return str(self.article_id) if self.variant_id is None else f"{self.article_id}/{self.variant_id}"

    def describe(self) -> str:
        if self.variant_id is None:
            return reason("shop article {article}", article=self.article_id)
        return reason("shop article {article}, variant {variant}", article=self.article_id, variant=self.variant_id)


@dataclass
class ShopStock:
    """The shop's stock by target key, its articles by SKU (match key → ids), each article's SKU, the
    articles with variants, and the targets that take orders beyond their stock (backorder)."""

    stock: dict[str, str] = field(default_factory=dict)
    by_sku: dict[str, list[int]] = field(default_factory=dict)
    skus: dict[int, str] = field(default_factory=dict)
    with_variants: set[int] = field(default_factory=set)
    backorder: set[str] = field(default_factory=set)

    def add(self, article: ArticleSummary) -> None:
        self.stock[str(article.id)] = as_text(article.stock)
        if article.can_backorder:
            self.backorder.add(str(article.id))
        for variant in article.variants:
            key = f"{article.id}/{variant.id}"
            self.stock[key] = as_text(variant.stock)
            if variant.can_backorder:
                self.backorder.add(key)
            self.with_variants.add(article.id)
        self.skus[article.id] = article.sku or ""
        if key := match_key(article.sku):
            self.by_sku.setdefault(key, []).append(article.id)

    def orderable(self, target: Target) -> bool:
        """Whether the target's own figures take orders: it is there, with stock (or unlimited), or with
        backorder allowed."""
        current = self.stock.get(target.key)
        return current is not None and (current != "0" or target.key in self.backorder)

    @classmethod
    def read(cls, shop: MijnWebwinkelClient) -> ShopStock:
        found = cls()
        for article in shop.iter_article_summaries():
            found.add(article)
        return found


def write_stock(shop: MijnWebwinkelClient, target: Target, value: int | None) -> None:
    """Set the target's stock in the shop (1 PATCH). Unlimited (None) is an article's only (the spec): the
    flow never sends it to a variant, whose own figure is what the shop counts."""
    if target.variant_id is None:
        shop.set_stock(target.article_id, value)
    else:
        assert value is not None, target  # an unmanaged variant is left as it is (StockFlow._decide)
        shop.set_stock(target.article_id, value, variant_id=target.variant_id)


@dataclass(frozen=True)
class Stopped:
    """What `stop_orders` found in the shop, and did."""

    found: bool  # the shop has the article or variant
    before: str = ""  # its stock when it was written; "": not written, it took no orders already
    # A variant whose article's stock is unlimited: unorderable by its own figures, which the shop counts; only a
    # shop that reads an unlimited article as every variant's (the sandbox's quirk) would take orders of it.
    article_unlimited: bool = False


def stop_orders(shop: MijnWebwinkelClient, target: Target) -> Stopped:
    """Make the target unorderable: stock 0, no backorder (1 GET, then 1 PATCH only when its own figures
    take orders). A variant's own figures decide, whatever its article's stock (the article's unlimited
    stock is left alone: it covers orders of the article without a variant)."""
    try:
        article = shop.get_article(target.article_id)
    except NeedsAttention as error:
        if error.status == 404:
            return Stopped(found=False)
        raise
    holder = article if target.variant_id is None else next(
        (v for v in article.variants if v.id == target.variant_id), None)
    if holder is None:
        return Stopped(found=False)
    article_unlimited = target.variant_id is not None and article.stock is None
    if holder.stock == 0 and not holder.can_backorder:
        return Stopped(found=True, article_unlimited=article_unlimited)
    if target.variant_id is None:
        shop.update_article(target.article_id, ArticleInput(stock=0, can_backorder=False))
    else:
        shop.update_article(target.article_id, ArticleInput(
            variants=[VariantInput(id=target.variant_id, stock=0, can_backorder=False)]))
    return Stopped(found=True, before=as_text(holder.stock), article_unlimited=article_unlimited)
