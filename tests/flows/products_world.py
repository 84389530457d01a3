"""The products flow's test world: an AccountView sandbox seeded from the shared catalogue (simple articles and
variant groups SHIRT-<n> of two colours × three sizes, images, groups), an empty MijnWebwinkel shop with the
option lists "Kleur" and "Maat" (the API can't make lists: a merchant makes them once), and the flow wired to
both over real HTTP, its links in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from koppel.connectors.accountview.client import AccountViewOptions
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.accountview.sandbox import articles as books_articles
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SeedSizes, catalog
from koppel.flows.links import MemoryLinks
from koppel.flows.products import PRODUCTS, ProductsFlow
from koppel.flows.products_settings import ProductsSettings
from koppel.sync.runner import RunSummary, run_here

SEED = 1


def variant_settings(lists: dict[str, int]) -> dict[str, Any]:
    """The catalogue's variants: parent code in ART_PARENT, colour and size in their own fields."""
    return {
        "rule": "parent_field",
        "parent_field": "ART_PARENT",
        "attributes": [
            {"list_name": "Kleur", "field": "ART_COLOUR", "list_id": lists["Kleur"]},
            {"list_name": "Maat", "field": "ART_SIZE", "list_id": lists["Maat"]},
        ],
    }


@dataclass
class ProductsWorld:
    shop_sandbox: MijnWebwinkelSandbox
    books_sandbox: AccountViewSandbox
    shop: Any
    books: Any
    lists: dict[str, int]
    links: MemoryLinks = field(default_factory=MemoryLinks)
    settings: dict[str, Any] = field(default_factory=dict)

    def flow(self, **changes: Any) -> ProductsFlow:
        """A fresh run of the flow (new caches) with the world's settings, changed as given."""
        settings = ProductsSettings.model_validate({"variants": variant_settings(self.lists), **self.settings,
                                                    **changes})
        return ProductsFlow(self.shop, self.books, settings, self.links)

    def sync(self, *, full: bool = False, workers: int = 2, **changes: Any) -> RunSummary:
        """One run through the runner, in this process, on the world's links."""
        return run_here(PRODUCTS, self.flow(**changes), self.links, full=full, workers=workers, wait=0.01)

    def stop(self) -> None:
        self.shop.close()
        self.books.close()
        self.shop_sandbox.stop()
        self.books_sandbox.stop()

    # what the shop holds

    def shop_articles(self) -> list[dict[str, Any]]:
        with self.shop_sandbox.state.lock:
            return [dict(a) for a in self.shop_sandbox.state.articles.values()]

    def shop_article(self, sku: str) -> dict[str, Any]:
        found = [a for a in self.shop_articles() if (a.get("sku") or "").upper() == sku.upper()]
        assert len(found) == 1, f"{len(found)} shop articles with SKU {sku}"
        return found[0]

    def categories(self) -> dict[int, dict[str, Any]]:
        with self.shop_sandbox.state.lock:
            return {k: dict(v) for k, v in self.shop_sandbox.state.categories.items()}

    def writes(self) -> int:
        """Calls that change the shop, since the calls were last cleared."""
        calls = self.shop_sandbox.describe().get("calls", {})
        return sum(n for what, n in calls.items() if not what.startswith("GET"))

    # what AccountView holds

    def change(self, code: str, **values: Any) -> None:
        """An edit in AccountView (moves the article's change date)."""
        books_articles.change_article(self.books_sandbox.state, code, values)

    def force(self, code: str, *, create: bool = False, **values: Any) -> None:
        books_articles.force_values(self.books_sandbox.state, code, values, create=create)

    def books_sandbox_add(self, code: str, parent: str, *, colour: str, size: str,
                          like: str = "SHIRT-0001-ROOD-M") -> None:
        """A new variant article in AccountView, priced like `like` (plus 1.50 for an L, as the seed does)."""
        with self.books_sandbox.state.lock:
            model = dict(self.books_sandbox.state.tables["ARTICLE"][like])
        price = Decimal(str(model["PX_SELL"])) + (Decimal("1.50") if size == "L" and not like.endswith("-L") else 0)
        books_articles.add_article(self.books_sandbox.state, {
            "ART_CODE": code, "ART_DESC1": f"Jas {colour} {size}", "AG_CODE": model["AG_CODE"], "PX_SELL": price,
            "VAT_CODE": model["VAT_CODE"], "ART_PARENT": parent, "ART_COLOUR": colour, "ART_SIZE": size,
            "QTY_AVAIL": 7, "QTY_TECH": 7,
        })


def start_products_world(*, articles: int = 60, shop_articles: int = 0) -> ProductsWorld:
    """`shop_articles`: the shop already sells the first ones of the same catalogue (a first sync links them)."""
    sizes = SeedSizes(articles=shop_articles, orders=0) if shop_articles else None
    shop_sandbox = MijnWebwinkelSandbox(seed=SEED, sizes=sizes)
    books_sandbox = AccountViewSandbox(seed=SEED, size=articles)
    info = shop_sandbox.start()
    books_sandbox.start()
    state = shop_sandbox.state
    with state.lock:
        lists = {name: catalog.new_option_list(state, name, "", [])["id"] for name in ("Kleur", "Maat")
                 if not any(known["name"] == name for known in state.option_lists.values())}
        lists |= {known["name"]: known["id"] for known in state.option_lists.values()}
    shop = MijnWebwinkelClient(info.url, info.token, info.partner_token, rate_per_second=None, timeout=5.0,
                               retry_wait_initial=0.05, retry_wait_max=0.2)
    books = books_sandbox.authorised_client(
        timeout=5.0,
        options=AccountViewOptions(profile=books_sandbox.profile, retry_wait_initial=0.05, retry_wait_max=0.2),
    )
    return ProductsWorld(shop_sandbox, books_sandbox, shop, books, lists)
