"""Both sandboxes started together on 127.0.0.1 with matching seeded data (the same article catalogue),
for `koppel sandbox`, `koppel demo` and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox
from koppel.connectors.mijnwebwinkel.sandbox.seed import SeedSizes


@dataclass
class Sandboxes:
    shop: MijnWebwinkelSandbox
    books: AccountViewSandbox

    def stop(self) -> None:
        self.shop.stop()
        self.books.stop()

    def __enter__(self) -> Sandboxes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def curl_example(self) -> str:
        shop = self.shop.info
        return f"curl '{shop.url}/v1/orders?token={shop.token}&partner_token={shop.partner_token}&limit=2'"

    def describe(self) -> list[tuple[str, str]]:
        """(name, value) of what a person connects with, as `koppel sandbox` shows it; the back office's pages
        as the connection settings' patterns they are pasted into."""
        shop, books = self.shop.info, self.books.info
        return [
            ("MijnWebwinkel URL", shop.url),
            ("  token", shop.token),
            ("  partner_token", shop.partner_token),
            ("  admin", shop.admin_url),
            ("  admin_article_url", shop.admin_article_url),
            ("  admin_order_url", shop.admin_order_url),
            ("AccountView URL", books.url),
            ("  client_id", books.client_id),
            ("  client_secret", books.client_secret),
            ("  company_id", books.company_id),
            ("  admin", f"{books.url}/_sandbox/"),
        ]


def start_sandboxes(*, seed: int = 1, articles: int = 40, orders: int = 60, categories: int = 15,
                    shop_port: int = 0, books_port: int = 0, deliver_every: float | None = None) -> Sandboxes:
    """Both sandboxes, seeded from one catalogue. `deliver_every`: AccountView delivers its oldest open sales
    order every so many seconds (the demo's warehouse: reservations and stock go down together)."""
    shop = MijnWebwinkelSandbox(seed=seed, sizes=SeedSizes(categories=categories, articles=articles, orders=orders))
    books = AccountViewSandbox(seed=seed, size=articles)
    shop.start(port=shop_port)
    try:
        books.start(port=books_port)
    except Exception:
        shop.stop()
        raise
    books.auto_deliver(deliver_every)
    return Sandboxes(shop=shop, books=books)
