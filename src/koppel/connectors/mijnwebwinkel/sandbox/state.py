"""The sandbox's in-memory shop: store, categories, option lists, articles, orders and static tables.

Entities are kept as plain dicts in the spec's wire shape (numbers as ints, prices as lists); keys starting
with `_` are sandbox-only (e.g. an article's VAT rate) and never leave. All access goes through the lock.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from koppel.connectors.mijnwebwinkel.sandbox.quirks import Quirks
from koppel.connectors.mijnwebwinkel.sandbox.rules import ArticleRules

DEFAULT_STATUSES = [
    {"status": 1, "description": "Order Pending", "credit_order": False},
    {"status": 2, "description": "Verzonden", "credit_order": False},
    {"status": 3, "description": "Betaald", "credit_order": False},
    {"status": 6, "description": "Betaald & afgehaald", "credit_order": False},
    {"status": 10, "description": "Gecrediteerd", "credit_order": True},
]


class SandboxError(Exception):
    """A request the sandbox refuses: `status` 404 (unknown id) or 422 (invalid input), with a detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def public(value: Any) -> Any:
    """A deep copy without sandbox-only (`_…`) keys."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [public(v) for v in value]
    return value


def default_store(store_uuid: str = "5a1d0b0e-0000-4000-8000-00000000c0de") -> dict[str, Any]:
    return {
        "id": store_uuid,
        "name": "Koppel Demowinkel",
        "primary_domain": "https://demo.koppel.test",
        "description": "Sandbox-winkel voor Koppel",
        "open": True,
        "version": "Pro",
        "administration_language": "nl_NL",
        "currency": "EUR",
        "prices_include_tax": True,
        "default_language": "nl_NL",
        "active_languages": ["nl_NL", "en_GB", "de_DE"],
        "currency_format_locale": "nl_NL",
        "available_business_models": "ALL",
        "region_code": "NL",
    }


@dataclass
class SandboxState:
    store_token: str
    partner_token: str
    store: dict[str, Any] = field(default_factory=default_store)
    quirks: Quirks = field(default_factory=Quirks)
    statuses: list[dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(DEFAULT_STATUSES))
    categories: dict[int, dict[str, Any]] = field(default_factory=dict)
    option_lists: dict[int, dict[str, Any]] = field(default_factory=dict)
    articles: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    shipping_methods: list[dict[str, Any]] = field(default_factory=list)
    tax_regions: list[dict[str, Any]] = field(default_factory=list)
    # Sandbox-only tables the API does not expose but orders need: discount percentages per code and
    # payment costs (incl. VAT) per payment method.
    discount_codes: dict[str, str] = field(default_factory=lambda: {"KORTING10": "10", "WELKOM5": "5"})
    payment_fees: dict[str, str] = field(
        default_factory=lambda: {"creditcard": "1.95", "paypal": "0.35", "klarna_paylater": "0.99"}
    )
    auth_failure_status: int = 401
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now().replace(microsecond=0))
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    rules: ArticleRules = field(default_factory=ArticleRules)
    _counters: dict[str, int] = field(default_factory=dict, repr=False)
    _article_order: list[int] | None = field(default=None, repr=False)
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    # ------------------------------------------------------------------------------ ids and time

    def next_id(self, kind: str) -> int:
        starts = {
            "article": 1001,
            "category": 9001,
            "list": 301,
            "option": 3001,
            "variant": 7001,
            "order": 1001,
            "url": 101,
        }
        with self.lock:
            value = self._counters.get(kind, starts.get(kind, 1))
            self._counters[kind] = value + 1
            return value

    def now(self) -> tuple[str, str]:
        moment = self.clock()
        return moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")

    def new_uuid(self) -> str:
        """A v4 UUID from the state's own generator, so a seeded sandbox is reproducible."""
        with self.lock:
            bits = self._rng.getrandbits(128)
        # What uuid.UUID(int=bits, version=4) gives, formatted directly: the seed makes one per article.
        bits = (bits & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    # ----------------------------------------------------------------------------------- lookups

    def article(self, article_id: int, *, by_url_id: bool = False) -> dict[str, Any]:
        if by_url_id:
            for article in self.articles.values():
                if any(link.get("article_url_id") == article_id for link in article["categories"]):
                    return article
        elif article_id in self.articles:
            return self.articles[article_id]
        raise SandboxError(404, f"Article {article_id} not found")

    def category(self, category_id: int) -> dict[str, Any]:
        if category_id not in self.categories:
            raise SandboxError(404, f"Category {category_id} not found")
        return self.categories[category_id]

    def option_list(self, list_id: int) -> dict[str, Any]:
        if list_id not in self.option_lists:
            raise SandboxError(404, f"Article list {list_id} not found")
        return self.option_lists[list_id]

    def order(self, number: str) -> dict[str, Any]:
        """An order by its number as the API shows it: a test order ("T-1042") also by its plain number,
        as it is shown while the `test_number_marker` quirk is off."""
        found = self.orders.get(str(number)) or self.orders.get(f"T-{number}")
        if found is None:
            raise SandboxError(404, f"Order {number} not found")
        return found

    def status_ids(self, *, credit: bool | None = None) -> set[int]:
        return {s["status"] for s in self.statuses if credit is None or s["credit_order"] == credit}

    def shipping_method(self, method_id: str) -> dict[str, Any]:
        for method in self.shipping_methods:
            if method["id"] == str(method_id):
                return method
        raise SandboxError(422, f"Unknown shipping method {method_id}")

    def vat_rate_of(self, article: dict[str, Any]) -> str:
        if article.get("taxable") is False:
            return "0"
        return str(article.get("_vat_rate", "21"))

    # ---------------------------------------------------------------------- direct insertion (tests)

    def put_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Insert an order exactly as given (wire shape), for corpora of odd orders. Fills only what the
        spec requires and is missing: `number` (next), `uuid`, `date`, `time`, `status` (1), `debtor`."""
        with self.lock:
            order = copy.deepcopy(order)
            if order.get("number") in (None, ""):
                order["number"] = self.next_id("order")
            today, now = self.now()
            order.setdefault("uuid", self.new_uuid())
            order.setdefault("date", today)
            order.setdefault("time", now)
            order.setdefault("status", 1)
            order.setdefault("status_changed_date", order["date"])
            order.setdefault("status_changed_time", order["time"])
            order.setdefault("archived", False)
            order.setdefault("debtor", {"email": "", "address": {"invoice": {"name": "", "zipcode": ""}}})
            order.setdefault("price", {"tax": [], "total": "0.00"})
            order.setdefault("orderlines", [])
            order.setdefault("credit_order_numbers", [])
            for line in order["orderlines"]:
                if isinstance(line.get("price"), dict):
                    line["price"] = [line["price"]]
            if isinstance(order["price"].get("tax"), dict):
                order["price"]["tax"] = [order["price"]["tax"]]
            self.orders[str(order["number"])] = order
            return order

    def put_article(self, article: dict[str, Any], *, copy_it: bool = True) -> dict[str, Any]:
        """Insert an article as given (wire shape); assigns `id`, `uuid`, timestamps when missing.
        `copy_it=False` stores the dict itself (the seed's fast path: it builds a fresh one per article)."""
        with self.lock:
            if copy_it:
                article = copy.deepcopy(article)
            if "id" not in article:
                article["id"] = self.next_id("article")
            if "uuid" not in article:
                article["uuid"] = self.new_uuid()
            if "created_date" not in article or "updated_date" not in article:
                today, now = self.now()
                for key, value in (
                    ("created_date", today),
                    ("created_time", now),
                    ("updated_date", today),
                    ("updated_time", now),
                ):
                    article.setdefault(key, value)
            article.setdefault("name", "")
            article.setdefault("categories", [])
            article.setdefault("lists", [])
            article.setdefault("variants", [])
            article.setdefault("images", [])
            article.setdefault("extra", {"visible": {}, "invisible": {}})
            article.setdefault("price", {"default": "0.00", "action": None, "purchase": None})
            article.setdefault("stock", None)
            if int(article["id"]) not in self.articles:
                self._article_order = None
            self.articles[int(article["id"])] = article
            return article

    def remove_article(self, article_id: int) -> None:
        with self.lock:
            del self.articles[article_id]
            self._article_order = None

    def article_ids(self) -> list[int]:
        """Article ids in the API's listing order (ascending), kept until an article comes or goes, so a
        page of a 100,000-article shop costs a slice, not a sort."""
        with self.lock:
            if self._article_order is None or len(self._article_order) != len(self.articles):
                self._article_order = sorted(self.articles)
            return self._article_order

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "store": public(self.store),
                "counts": {
                    "categories": len(self.categories),
                    "option_lists": len(self.option_lists),
                    "articles": len(self.articles),
                    "orders": len(self.orders),
                },
                "quirks": self.quirks.as_json(),
                "rules": self.rules.as_json(),
                "auth_failure_status": self.auth_failure_status,
            }
