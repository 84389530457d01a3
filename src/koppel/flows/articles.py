"""Whether every article of an order exists in AccountView: matched on SKU (the AV article code), or
on EAN when the settings say so. Lookups are batched per order and remembered for the whole run, so a
catalogue's articles cost one read each at most, however many orders name them.

A line of a variant product the products flow made carries the product's SKU and the chosen options, not
the variant's code: it is resolved through the products links (the shop article and its options → the shop
variant → the "variant" link → the AccountView article), and parked naming the combination when no
AccountView article is linked to it.
"""

from __future__ import annotations

import threading

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Article
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.models import Article as ShopArticle
from koppel.connectors.mijnwebwinkel.models import Order, OrderLine
from koppel.errors import NeedsAttention
from koppel.flows.settings import OrdersSettings
from koppel.reasons import joined, reason
from koppel.sync.links import TargetLinks

# The products flow's links (flows/products.py): a variant product's shop article, and each variant.
VARIANT_PRODUCT, VARIANT = "variant-product", "variant"

COST_SETTINGS = {
    "shipping": "shipping_article",
    "payment": "payment_cost_article",
    "discount": "discount_article",
}


class Articles:
    """The AV articles of one run, by code, with the shop's EANs looked up only when needed."""

    def __init__(self, books: AccountViewClient, shop: MijnWebwinkelClient, settings: OrdersSettings,
                 links: TargetLinks | None = None) -> None:
        self.books = books
        self.shop = shop
        self.settings = settings
        self.links = links
        self._shop_articles: dict[int, ShopArticle] = {}
        self._by_code: dict[str, Article | None] = {}
        self._ean_of_shop_article: dict[int, str | None] = {}
        self._by_ean: dict[str, Article | None] = {}
        self._lock = threading.Lock()

    def resolve(self, order: Order, *, extra: tuple[str, ...] = ()) -> dict[str, str]:
        """Shop SKU → AV article code for every line of the order (cost lines on their configured
        articles); raises NeedsAttention naming every SKU AccountView does not have. Writes nothing."""
        wanted: dict[str, OrderLine | None] = {}
        problems: list[str] = []
        by_line: dict[str, str] = {}  # variant lines: "line:<id>" → the variant's AV article code
        cost_setting: dict[str, str] = {}  # a cost line's AV article code → the setting that names it
        for order_line in order.orderlines:
            variant = self._variant_code(order_line)
            if variant is not None:
                by_line[f"line:{order_line.id}"] = variant
                wanted.setdefault(variant, None)
            elif order_line.type in COST_SETTINGS:
                code = getattr(self.settings, COST_SETTINGS[order_line.type]).strip().upper()
                cost_setting[code] = COST_SETTINGS[order_line.type]
                wanted.setdefault(code, None)
            elif not (order_line.sku or "").strip():
                problems.append(reason("line '{line}' has no SKU", line=order_line.description or order_line.type))
            else:
                wanted.setdefault((order_line.sku or "").strip().upper(), order_line)
        for code in extra:
            wanted.setdefault(code.strip().upper(), None)
        found = self._articles(list(wanted))
        codes: dict[str, str] = {}
        missing: list[str] = []
        for code, line in wanted.items():
            article = found.get(code)
            if article is None and line is not None and self.settings.match_articles_on_ean:
                article = self._by_shop_ean(line)
            if article is None:
                missing.append(code)
            elif article.blocked:
                problems.append(reason("article {article} is blocked in AccountView", article=article.code))
            else:
                codes[line.sku.strip() if line is not None and line.sku else code] = article.code
        codes.update(by_line)
        if missing:
            how = reason("SKU or EAN") if self.settings.match_articles_on_ean else reason("SKU (article code)")
            problems.insert(0, reason("AccountView has no article with {how} {codes}", how=how,
                                      codes=", ".join(missing)))
        if problems:
            named = {cost_setting.get(code) for code in missing}  # only cost articles of one setting: that setting
            raise NeedsAttention(
                reason("{problems}. Create the articles in AccountView (or correct the SKU in the shop, or the cost "
                       "articles in the settings) and retry the order.", problems=joined(problems)),
                field=next(iter(named)) if len(problems) == 1 and len(named) == 1 and None not in named
                else "orderlines.articles.sku",
                value=missing or None,
            )
        return codes

    def _variant_code(self, line: OrderLine) -> str | None:
        """The AV article of a line of one of our variant products (None: not one; match it on SKU)."""
        chosen = {o.list_option_id for a in line.articles for o in a.options if o.list_option_id is not None}
        article_id = line.article_id
        if self.links is None or line.type != "article" or not chosen or article_id is None:
            return None
        if self.links.find_by_target(VARIANT_PRODUCT, str(article_id)) is None:
            return None
        if article_id not in self._shop_articles:
            self._shop_articles[article_id] = self.shop.get_article(article_id)
        article = self._shop_articles[article_id]
        options = {entry.id: option.id for entry in article.lists for option in entry.options
                   if entry.id is not None and option.id in chosen}
        variant = article.variant_for(options)
        link = None if variant is None else self.links.find_by_target(VARIANT, f"{article_id}/{variant.id}")
        if link is None:
            combination = ", ".join(o.description for a in line.articles for o in a.options
                                    if o.list_option_id is not None)
            raise NeedsAttention(
                reason("Line '{line}': shop article {article} ({sku}) with {combination} is not linked to an "
                       "AccountView article (no variant of the products sync has this combination). Run the "
                       "products sync, or give the combination its own article in AccountView, then retry the order.",
                       line=line.description, article=article_id, sku=line.sku, combination=combination),
                field="orderlines.articles.options",
                value=combination,
            )
        return link.source_key

    def prefetch(self, orders: list[Order], *, extra: tuple[str, ...] = ()) -> None:
        """Read the articles of many orders at once (one read per hundred codes)."""
        codes = {(line.sku or "").strip().upper() for order in orders for line in order.orderlines if line.sku}
        codes |= {code.strip().upper() for code in extra}
        codes |= {getattr(self.settings, name).strip().upper() for name in COST_SETTINGS.values()}
        self._articles(sorted(c for c in codes if c and "," not in c))

    def _articles(self, codes: list[str]) -> dict[str, Article | None]:
        with self._lock:
            unknown = [c for c in codes if c not in self._by_code]
        if unknown:
            found = self.books.get_articles(unknown)
            with self._lock:
                for code in unknown:
                    self._by_code[code] = found.get(code)
        with self._lock:
            return {c: self._by_code[c] for c in codes}

    def _by_shop_ean(self, line: OrderLine) -> Article | None:
        """MijnWebwinkel sends no EAN on orders: read it from the shop's article, then find it in AV."""
        article_id = line.article_id
        if article_id is None:
            return None
        if article_id not in self._ean_of_shop_article:
            self._ean_of_shop_article[article_id] = self.shop.get_article(article_id).ean
        ean = self._ean_of_shop_article[article_id]
        if not ean:
            return None
        if ean not in self._by_ean:
            self._by_ean[ean] = self.books.find_articles_by_ean([ean]).get(ean)
        return self._by_ean[ean]
