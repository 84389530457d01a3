"""Benchmark of the products flow: an AccountView catalogue (10 % in variant groups) into an empty
MijnWebwinkel shop, both sandboxes behind a rate limit, over real HTTP.

    .venv/bin/python bench/products.py [--articles 10000] [--rate 100] [--workers 8] [--changed 1] [--synced]

The sandboxes run in a child process, so the memory figures are the flow's own: peak RSS, and RSS when the
first tenth of the catalogue was done against the end (flat: it does not grow with the catalogue). Three runs:
the first sync, a re-sync of the unchanged catalogue (--full: it must write nothing and read only list
pages), and a run after `--changed` percent of the articles changed their price. Each reports the calls to
each side (counted by the sandboxes), calls per product, and the wall time against the rate-limit floor:
the calls the run needed divided by the rate each side allows (the slower side sets the floor).
`--synced` replaces the first sync by the links it would leave (100,000 creates take hours at a shop's rate)
to measure the re-sync and the incremental run of a large catalogue.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from koppel.connectors.accountview.client import AccountViewClient, AccountViewOptions
from koppel.connectors.accountview.oauth import MemoryTokenStore
from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.sandbox import REDIRECT_URI
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.flows.products import PRODUCTS, ProductsFlow
from koppel.flows.products_settings import ProductsSettings
from koppel.sync.links import Link, Record, run_status
from koppel.sync.runner import Progress, run_here

SEED = 1
# The client keeps a little under the sandboxes' limit: at exactly the limit, timing jitter between the two
# buckets draws 429s, each a retry after a wait.
CLIENT_SHARE = 0.97
SERVER_BURST = 20  # the sandboxes allow a short burst (requests in flight arrive bunched), the clients send 5


# ---- the sandboxes, in a child process -------------------------------------------------------------------


def serve(articles: int, rate: float, pipe: Any) -> None:
    """Both sandboxes, seeded; answers the parent's requests on `pipe` until told to stop."""
    import logging

    import structlog

    from koppel.connectors.accountview.sandbox import AccountViewSandbox
    from koppel.connectors.accountview.sandbox.articles import change_article
    from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, catalog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    books = AccountViewSandbox(seed=SEED, size=articles)
    shop = MijnWebwinkelSandbox(seed=SEED, sizes=None)
    info = shop.start()
    books.start()
    with shop.state.lock:  # a merchant makes option lists once in the admin; the API can't
        lists = {name: catalog.new_option_list(shop.state, name, "", [])["id"] for name in ("Kleur", "Maat")}
    shop.set_rate_limit(rate, burst=SERVER_BURST)
    books.set_rate_limit(rate, burst=SERVER_BURST)
    pipe.send({"shop": [info.url, info.token, info.partner_token], "lists": lists,
               "books": [books.url, books.info.client_id, books.info.client_secret, books.company_id]})
    while True:
        command, argument = pipe.recv()
        if command == "calls":
            pipe.send({"shop": shop.limits.calls_json(), "books": books.limits.calls_json(),
                       "shop articles": len(shop.state.articles)})
        elif command == "reset calls":
            shop.limits.reset_calls()
            books.limits.reset_calls()
            pipe.send(None)
        elif command == "change prices":  # every n-th simple article 1.00 dearer
            with books.state.lock:
                codes = [c for c in books.state.tables["ARTICLE"] if c.startswith("KP-")][::argument]
                prices = {c: Decimal(str(books.state.tables["ARTICLE"][c]["PX_SELL"])) for c in codes}
            for code in codes:
                change_article(books.state, code, {"PX_SELL": prices[code] + 1})
            pipe.send(len(codes))
        else:
            shop.stop()
            books.stop()
            pipe.send(None)
            return


# ---- the flow's side -------------------------------------------------------------------------------------


class Metered(httpx.BaseTransport):
    """Lets at most `rate` requests per second through (a token bucket with `burst`), as a client that keeps
    to the remote's limit does; the sandboxes count and enforce the same limit on their side."""

    def __init__(self, rate: float, burst: int = 5) -> None:
        self.inner = httpx.HTTPTransport()
        self.rate, self.burst = rate, burst
        self.tokens, self.last = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
                self.last = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    break
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class FileLinks:
    """Links, cursors and runs in a SQLite file, as the database keeps them in production: the links of a
    large catalogue are not the flow's memory. Outcomes are counted, their payloads not kept."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("pragma journal_mode=wal")
        self.db.execute("create table link (entity text, source text, target text, hash text, "
                        "primary key (entity, source))")
        self.lock = threading.Lock()
        self.cursors: dict[str, str] = {}
        self.outcomes: Counter[str] = Counter()
        self.runs = 0

    def find(self, entity: str, source_key: str) -> Link | None:
        return next(iter(self.find_many([entity], [source_key])), None)

    def find_many(self, entities: Sequence[str], source_keys: list[str]) -> list[Link]:
        found: list[Link] = []
        with self.lock:
            for entity in entities:
                for start in range(0, len(source_keys), 500):
                    chunk = source_keys[start:start + 500]
                    marks = ",".join("?" * len(chunk))
                    found += (Link(entity, source, target, digest) for source, target, digest in self.db.execute(
                        f"select source, target, hash from link where entity = ? and source in ({marks})",
                        [entity, *chunk]))
        return found

    def source_keys(self, entity: str) -> list[str]:
        with self.lock:
            return [row[0] for row in self.db.execute("select source from link where entity = ?", (entity,))]

    def linked(self, entity: str, source_keys: list[str]) -> set[str]:
        return {link.source_key for link in self.find_many([entity], source_keys)}

    def write(self, entity: str, source_key: str, target_key: str, payload_hash: str = "") -> Link:
        with self.lock:
            self.db.execute("insert or ignore into link values (?, ?, ?, ?)",
                            (entity, source_key, target_key, payload_hash))
        found = self.find(entity, source_key)
        assert found is not None
        return found

    def forget(self, entity: str, source_key: str) -> None:
        with self.lock:
            self.db.execute("delete from link where entity = ? and source = ?", (entity, source_key))

    def forget_if(self, entity: str, source_key: str, *, target_key: str) -> bool:
        with self.lock:
            return self.db.execute("delete from link where entity = ? and source = ? and target = ?",
                                   (entity, source_key, target_key)).rowcount > 0

    def remember_sent(self, entity: str, source_key: str, payload_hash: str) -> None:
        with self.lock:
            self.db.execute("update link set hash = ? where entity = ? and source = ?",
                            (payload_hash, entity, source_key))

    def remember_many(self, links: list[Link]) -> None:
        for link in links:
            self.write(link.entity, link.source_key, link.target_key, link.payload_hash)

    def record(self, record: Record, run_id: int | None = None) -> None:
        if record.link:
            self.write(record.entity, record.key, record.target_key)
        with self.lock:
            self.outcomes[record.outcome.value] += 1

    def read_cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    def advance_cursor(self, name: str, value: str) -> None:
        self.cursors[name] = max(self.cursors.get(name, value), value)

    def open_run(self, flow: str) -> int:
        self.runs += 1
        return self.runs

    def close_run(self, run_id: int, counts: dict[str, int], error: str = "") -> str:
        return run_status(counts, error)


def _routes(calls: dict[str, int]) -> dict[str, int]:
    """Calls by method and route, ids folded ("POST /v1/articles/uploadImage/{id}")."""
    folded: Counter[str] = Counter()
    for route, count in calls.items():
        method, _, path = route.partition(" ")
        folded[f"{method} " + "/".join("{id}" if p.isdigit() else p for p in path.split("/"))] += count
    return dict(folded)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def adopt(flow: ProductsFlow, links: FileLinks) -> int:
    """The links a first sync of the whole catalogue leaves (its hashes as the flow computes them), without
    the first sync's writes: how the re-sync of a large catalogue is measured in minutes, not hours. The shop
    ids are made up; an unchanged re-sync compares hashes only."""
    from koppel.flows.product_categories import CATEGORY
    from koppel.flows.products import ENTITY, HALF, VARIANT, VARIANT_PRODUCT, _pages

    flow._prepare()
    made = 0
    for code in flow.categories.in_order():
        links.write(CATEGORY, code, "0", flow.categories.fingerprint(code))
    for page in _pages(flow.articles.changed(None), 1000):
        for article in page:
            place = flow.grouper.place(article.row)
            fingerprint = flow._fingerprint(article, place)
            if place.variant:
                links.write(VARIANT, article.code, "0/0", fingerprint)
                links.write(ENTITY, place.product, "0")
                links.write(VARIANT_PRODUCT, place.product, "0")
            else:
                links.write(ENTITY, article.code, "0", fingerprint + "0" * HALF)
            made += 1
    return made


def bench(articles: int, rate: float, workers: int, changed: float, synced: bool) -> dict[str, Any]:
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(articles, rate, child), daemon=True)
    server.start()
    started = time.monotonic()
    where = parent.recv()
    seeded = time.monotonic() - started
    shop_url, token, partner_token = where["shop"]
    shop = MijnWebwinkelClient(shop_url, token, partner_token, rate_per_second=None,
                               transport=Metered(rate * CLIENT_SHARE), timeout=60)
    books_url, client_id, secret, company = where["books"]
    books = AccountViewClient(books_url, client_id=client_id, client_secret=secret, token_store=MemoryTokenStore(),
                              company_id=company,
                              http=httpx.Client(transport=Metered(rate * CLIENT_SHARE), timeout=120),
                              options=AccountViewOptions(profile=AccountViewProfile()))
    url, _ = books.authorize_url(REDIRECT_URI)  # the sandbox approves at once
    answer = books.http.get(url, follow_redirects=False)
    books.exchange_code(answer.headers["location"].split("code=")[1].split("&")[0], REDIRECT_URI)
    settings = ProductsSettings.model_validate({"variants": {
        "rule": "parent_field", "parent_field": "ART_PARENT",
        "attributes": [{"list_name": "Kleur", "field": "ART_COLOUR", "list_id": where["lists"]["Kleur"]},
                       {"list_name": "Maat", "field": "ART_SIZE", "list_id": where["lists"]["Maat"]}]}})
    folder = tempfile.TemporaryDirectory()
    links = FileLinks(Path(folder.name) / "links.sqlite")
    figures: dict[str, Any] = {"articles in AccountView": articles, "seeding the sandboxes (s)": round(seeded, 1),
                               "rate limit per side (calls/s)": rate, "workers": workers}
    memory: dict[str, float] = {}

    def watch(event: Progress) -> None:
        if event.total and event.done * 10 >= event.total and "at a tenth" not in memory:
            memory["at a tenth"] = rss_mb()

    def one_run(name: str, *, full: bool) -> dict[str, Any]:
        parent.send(("reset calls", None))
        parent.recv()
        links.outcomes.clear()
        begun = time.monotonic()
        summary = run_here(PRODUCTS, ProductsFlow(shop, books, settings, links), links, full=full,
                               workers=workers, progress=watch)
        wall = time.monotonic() - begun
        parent.send(("calls", None))
        calls = parent.recv()
        shop_calls, books_calls = calls["shop"]["total"], calls["books"]["total"]
        units = len(summary.results)
        floor = max(shop_calls, books_calls) / rate
        writes = sum(n for route, n in calls["shop"]["by_route"].items() if not route.startswith("GET"))
        products = sum(1 for r in summary.results if not r.key.startswith("category:"))
        return {
            f"{name}: units (products and categories)": units,
            f"{name}: outcomes": dict(links.outcomes) or "none",
            f"{name}: error": summary.error or "none",
            f"{name}: MijnWebwinkel calls (writes)": f"{shop_calls} ({writes})",
            f"{name}: AccountView calls": books_calls,
            f"{name}: refused with 429 (shop, books)": (calls["shop"]["refused"], calls["books"]["refused"]),
            f"{name}: calls per changed product (shop, books)": (
                round(shop_calls / products, 2) if products else "-", round(books_calls / products, 2)
                if products else "-"),
            f"{name}: rate-limit floor (s)": round(floor, 1),
            f"{name}: wall time (s)": round(wall, 1),
            f"{name}: wall / floor": round(wall / floor, 2) if floor else "-",
            f"{name}: shop articles": calls["shop articles"],
            f"{name}: AccountView calls by route": calls["books"]["by_route"],
            f"{name}: MijnWebwinkel calls by route": _routes(calls["shop"]["by_route"]),
        }

    if synced:
        begun = time.monotonic()
        figures["links as a first sync leaves them (made by the bench)"] = adopt(
            ProductsFlow(shop, books, settings, links), links)
        figures["making them (s)"] = round(time.monotonic() - begun, 1)
    else:
        figures |= one_run("first sync", full=False)
        figures["RSS after a tenth of the first sync (MB)"] = round(memory.get("at a tenth", 0.0), 1)
        figures["RSS at the end of the first sync (MB)"] = round(rss_mb(), 1)
    figures |= one_run("unchanged re-sync (--full)", full=True)
    figures["RSS after the unchanged re-sync (MB)"] = round(rss_mb(), 1)
    if not synced:  # (the made-up shop ids of --synced can't take an update)
        parent.send(("change prices", max(1, round(100 / changed))))
        figures["articles given a new price"] = parent.recv()
        figures |= one_run("after price changes", full=False)
    figures["peak RSS of the flow's process (MB)"] = round(peak_rss_mb(), 1)
    parent.send(("stop", None))
    parent.recv()
    server.join(10)
    shop.close()
    books.close()
    folder.cleanup()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="calls per second allowed on each side")
    parser.add_argument("--workers", type=int, default=8, help="products handled at the same time")
    parser.add_argument("--changed", type=float, default=1.0, help="percent of the articles changed for run 3")
    parser.add_argument("--synced", action="store_true",
                        help="start from the links a first sync leaves (made without its writes), to measure the "
                        "re-sync of a catalogue too large to create in the shop within the hour")
    args = parser.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    figures = bench(args.articles, args.rate, args.workers, args.changed, args.synced)
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
