"""Benchmark of the orders flow: 1,000 MijnWebwinkel orders into AccountView, both sandboxes behind a
rate limit, over real HTTP.

    .venv/bin/python bench/orders.py [--orders 1000] [--rate 20] [--workers 4] [--write-as sales_order]

Prints the API calls per order to each side and the wall time as a ratio to the rate-limit floor: the
calls the run needed divided by the rate each side allows (the slower side sets the floor, as both
sides are called at the same time by concurrent orders).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from typing import Any

import httpx

from koppel.connectors.accountview.client import AccountViewClient, AccountViewOptions
from koppel.connectors.accountview.oauth import MemoryTokenStore
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SeedSizes
from koppel.demo import ORDER_SETTINGS, add_cost_articles
from koppel.flows.links import MemoryLinks
from koppel.flows.orders import ORDERS, OrdersFlow
from koppel.flows.settings import OrdersSettings
from koppel.sync.runner import run_here

SEED = 1  # the demo's seed: ORDER_SETTINGS fit its VAT codes, payment methods and articles

class Metered(httpx.BaseTransport):
    """Counts every request and lets at most `rate` per second through (a token bucket with `burst`)."""

    def __init__(self, rate: float, burst: int = 5) -> None:
        self.inner = httpx.HTTPTransport()
        self.rate, self.burst = rate, burst
        self.tokens, self.last = float(burst), time.monotonic()
        self.calls = 0
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
                self.last = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    self.calls += 1
                    break
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def bench(orders: int, rate: float, workers: int, write_as: str) -> dict[str, Any]:
    shop_sandbox = MijnWebwinkelSandbox(seed=SEED, sizes=SeedSizes(articles=40, orders=orders))
    books_sandbox = AccountViewSandbox(seed=SEED, size=40)
    info = shop_sandbox.start()
    books_sandbox.start()
    shop_sandbox.set_rate_limit(rate, burst=5)  # the shop refuses more (429)
    shop_meter, books_meter = Metered(rate), Metered(rate)
    shop = MijnWebwinkelClient(info.url, info.token, info.partner_token, rate_per_second=None, transport=shop_meter)
    books = AccountViewClient(
        books_sandbox.url,
        client_id=books_sandbox.info.client_id,
        client_secret=books_sandbox.info.client_secret,
        token_store=MemoryTokenStore(),
        company_id=books_sandbox.company_id,
        http=httpx.Client(transport=books_meter),
        options=AccountViewOptions(profile=books_sandbox.profile),
    )
    books_sandbox.authorise(books)
    add_cost_articles(books)
    statuses = sorted({o["status"] for o in shop_sandbox.state.orders.values()} - {10})
    settings = OrdersSettings.model_validate({**ORDER_SETTINGS, "statuses": statuses, "write_as": write_as})
    links = MemoryLinks()
    flow = OrdersFlow(shop, books, settings, links)
    books_sandbox.calls.clear()
    shop_meter.calls = books_meter.calls = 0
    started = time.monotonic()
    results = run_here(ORDERS, flow, links, workers=workers).results
    wall = time.monotonic() - started
    handled = len(results)
    emails = {
        o["debtor"]["email"].lower()
        for o in shop_sandbox.state.orders.values()
        if str(o["number"]) in {r.key for r in results}
    }
    floor = max(shop_meter.calls, books_meter.calls) / rate
    figures = {
        "orders in the shop": len(shop_sandbox.state.orders),
        "orders handled": handled,
        "outcomes": dict(Counter(r.outcome for r in results)),
        "customers (e-mails)": len(emails),
        "MijnWebwinkel calls": shop_meter.calls,
        "AccountView calls": books_meter.calls,
        "MijnWebwinkel calls per order": round(shop_meter.calls / handled, 3),
        "AccountView calls per order": round(books_meter.calls / handled, 3),
        "AccountView debtor lookups per customer": round(books_sandbox.calls["read:AR1"] / max(len(emails), 1), 3),
        "AccountView calls by kind": dict(sorted(books_sandbox.calls.items())),
        "rate limit per side (calls/s)": rate,
        "workers": workers,
        "rate-limit floor (s)": round(floor, 1),
        "wall time (s)": round(wall, 1),
        "wall / floor": round(wall / floor, 2),
    }
    shop.close()
    books.close()
    shop_sandbox.stop()
    books_sandbox.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second allowed on each side")
    parser.add_argument("--workers", type=int, default=4, help="orders handled at the same time")
    parser.add_argument("--write-as", default="sales_order", choices=["sales_order", "invoice"])
    args = parser.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    figures = bench(args.orders, args.rate, args.workers, args.write_as)
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
