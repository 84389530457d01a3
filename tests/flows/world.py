"""Both sandboxes started in this process, seeded from the same catalogue, and an orders flow wired
to them over real HTTP: what the flow tests, the engine scenarios and the benchmark share."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, cast

from koppel.connectors.accountview.client import AccountViewClient, AccountViewOptions
from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SeedSizes
from koppel.demo import ORDER_SETTINGS, add_cost_articles
from koppel.flows.links import MemoryLinks
from koppel.flows.orders import ORDERS, OrdersFlow
from koppel.flows.settings import OrdersSettings
from koppel.sync.runner import Result, run_here

SEED = 1
# The demo integration's settings: they fit the sandboxes' seed (VAT codes, payment methods, articles).
SETTINGS: dict[str, Any] = ORDER_SETTINGS


@dataclass
class World:
    shop_sandbox: MijnWebwinkelSandbox
    books_sandbox: AccountViewSandbox
    shop: MijnWebwinkelClient
    books: AccountViewClient
    links: MemoryLinks = field(default_factory=MemoryLinks)

    def flow(self, **changes: Any) -> OrdersFlow:
        """A fresh run of the flow (new caches) with the seed's settings, changed as given."""
        settings = OrdersSettings.model_validate({**SETTINGS, **changes})
        return OrdersFlow(self.shop, self.books, settings, self.links)

    def stop(self) -> None:
        self.shop.close()
        self.books.close()
        self.shop_sandbox.stop()
        self.books_sandbox.stop()

    # what AccountView holds

    def sales_orders(self, reference: str) -> int:
        return self.books_sandbox.sales_orders_for(reference)

    def invoices(self, reference: str) -> int:
        return self.books_sandbox.count("DJ_PAGE", EXT_DESC=reference)

    def debtors(self, email: str) -> list[dict[str, Any]]:
        return self.books_sandbox.rows("CONTACT", MAIL_BUS=email.lower())


def sync_orders(flow: OrdersFlow, **options: Any) -> list[Result]:
    """One run of the orders flow through the runner, in this process, on the flow's own links."""
    return run_here(ORDERS, flow, cast(MemoryLinks, flow.links), **options).results


def start_world(
    *,
    orders: int = 40,
    articles: int = 40,
    books_timeout: float = 5.0,
    shop_timeout: float = 5.0,
    profile: AccountViewProfile | None = None,
) -> World:
    shop_sandbox = MijnWebwinkelSandbox(seed=SEED, sizes=SeedSizes(articles=articles, orders=orders))
    books_sandbox = AccountViewSandbox(seed=SEED, size=articles, profile=profile)
    info = shop_sandbox.start()
    books_sandbox.start()
    shop = MijnWebwinkelClient(
        info.url,
        info.token,
        info.partner_token,
        rate_per_second=None,
        timeout=shop_timeout,
        retry_wait_initial=0.05,
        retry_wait_max=0.2,
    )
    books = books_sandbox.authorised_client(
        timeout=books_timeout,
        options=AccountViewOptions(profile=books_sandbox.profile, retry_wait_initial=0.05, retry_wait_max=0.2),
    )
    add_cost_articles(books)
    return World(shop_sandbox, books_sandbox, shop, books)


def snapshot(world: World) -> dict[str, Any]:
    """The sandboxes' data as seeded, to reset between tests without seeding again."""
    shop = world.shop_sandbox.state
    return {
        "shop": {name: copy.deepcopy(getattr(shop, name)) for name in _SHOP_FIELDS},
        "books": copy.deepcopy(world.books_sandbox.state.tables),
        "counters": dict(world.books_sandbox.state.counters),
    }


def restore(world: World, saved: dict[str, Any]) -> None:
    shop = world.shop_sandbox.state
    with shop.lock:
        for name in _SHOP_FIELDS:
            setattr(shop, name, copy.deepcopy(saved["shop"][name]))
    books = world.books_sandbox.state
    with books.lock:
        books.tables = copy.deepcopy(saved["books"])
        books.counters = dict(saved["counters"])
        books.changed()  # listings cached for the rows a test changed are stale now
    world.shop_sandbox.faults.clear()
    world.books_sandbox.faults.clear()
    world.books_sandbox.calls.clear()
    world.links = MemoryLinks()


_SHOP_FIELDS = ("articles", "orders", "_counters")
