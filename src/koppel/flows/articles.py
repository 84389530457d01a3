"""Whether every article of an order exists in AccountView: matched on SKU (the AV article code), or
on EAN when the settings say so. Lookups are batched per order and remembered for the whole run, so a
catalogue's articles cost one read each at most, however many orders name them.
"""

from __future__ import annotations

import threading

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Article
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.models import Order, OrderLine
from koppel.errors import NeedsAttention
from koppel.flows.settings import OrdersSettings

COST_SETTINGS = {
    "shipping": "shipping_article",
    "payment": "payment_cost_article",
    "discount": "discount_article",
}


class Articles:
    """The AV articles of one run, by code, with the shop's EANs looked up only when needed."""

    def __init__(self, books: AccountViewClient, shop: MijnWebwinkelClient, settings: OrdersSettings) -> None:
        self.books = books
        self.shop = shop
        self.settings = settings
        self._by_code: dict[str, Article | None] = {}
        self._ean_of_shop_article: dict[int, str | None] = {}
        self._by_ean: dict[str, Article | None] = {}
        self._lock = threading.Lock()

    def resolve(self, order: Order, *, extra: tuple[str, ...] = ()) -> dict[str, str]:
        """Shop SKU → AV article code for every line of the order (cost lines on their configured
        articles); raises NeedsAttention naming every SKU AccountView does not have. Writes nothing."""
        wanted: dict[str, OrderLine | None] = {}
        problems: list[str] = []
        for order_line in order.orderlines:
            if order_line.type in COST_SETTINGS:
                wanted.setdefault(getattr(self.settings, COST_SETTINGS[order_line.type]).strip().upper(), None)
            elif not (order_line.sku or "").strip():
                problems.append(f"line '{order_line.description or order_line.type}' has no SKU")
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
                problems.append(f"article {article.code} is blocked in AccountView")
            else:
                codes[line.sku.strip() if line is not None and line.sku else code] = article.code
        if missing:
            how = "SKU or EAN" if self.settings.match_articles_on_ean else "SKU (article code)"
            problems.insert(0, f"AccountView has no article with {how} {', '.join(missing)}")
        if problems:
            raise NeedsAttention(
                "; ".join(problems) + ". Create the articles in AccountView (or correct the "
                "SKU in the shop, or the cost articles in the settings) and retry the order.",
                field="orderlines.articles.sku",
                value=missing or None,
            )
        return codes

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
