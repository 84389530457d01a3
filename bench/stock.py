"""Benchmark of the stock flow: a catalogue of N articles linked by the products flow, 1 % of AccountView's
stock changed, `koppel sync stock` and `koppel worker` in their own processes against both sandboxes behind
their server-side rate limit, on SQLite.

    .venv/bin/python bench/stock.py [--articles 10000] [--changed 0.01] [--rate 10] [--interval 60]
                                    [--freshness 0] [--gap 2] [--compare-with last_sent|shop]

Prints, for a cycle with nothing changed and one with 1 % changed: the shop writes against the articles
changed, each side's calls by route (read from the sandboxes' own call counters), the cycle's wall time
(the Run row, from start to finish) against the rate-limit floor of its calls, and the peak RSS of the
`koppel sync stock` process. With `--freshness S`, a worker polls every `--interval` seconds while one
article's stock changes in AccountView every `--gap` seconds for S seconds: the seconds until the shop shows
each change, p50/p95.

The rate-limit floor: each side lets `rate` calls a second through after a burst of 5 (a token bucket, 429
with Retry-After beyond it), so N calls to one side take at least (N − 5) / rate seconds. A cycle reads
AccountView first and writes the shop after, so its floor is the sum of both sides' floors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine_runs import latest_run_and_units, unit_medians

ROOT = Path(__file__).resolve().parents[1]
KOPPEL = [sys.executable, "-m", "koppel.cli"]
BURST = 5
CLIENT_SHARE = 0.97


class World:
    """Both sandboxes (in this process, each behind its rate limit), a migrated Koppel database holding the
    demo integration with its stock flow, and the catalogue linked as the products flow would link it."""

    def __init__(self, data_dir: Path, articles: int, rate: float, interval: int, compare_with: str) -> None:
        self.env = {**os.environ, "KOPPEL_DATA_DIR": str(data_dir), "KOPPEL_LOG_LEVEL": "WARNING"}
        self.data_dir = data_dir
        os.environ.update(self.env)
        from koppel.core import setup

        setup()
        from django.core.management import call_command

        from koppel.connectors.accountview.sandbox import AccountViewSandbox
        from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SeedSizes
        from koppel.connectors.sandboxes import Sandboxes
        from koppel.core.integrations.apply import apply_file
        from koppel.core.integrations.models import Integration
        from koppel.demo import INTEGRATION, integration_toml
        from koppel.sync.token_store import ConnectionTokenStore

        call_command("migrate", interactive=False, verbosity=0)
        started = time.monotonic()
        self.shop = MijnWebwinkelSandbox(seed=1, sizes=SeedSizes(articles=articles, orders=0))
        self.books = AccountViewSandbox(seed=1, size=articles)
        self.seconds_to_seed = time.monotonic() - started
        for sandbox in (self.shop, self.books):
            sandbox.set_rate_limit(rate, burst=BURST)
            sandbox.start()
        self.integration = INTEGRATION
        # The clients keep a little under the servers' rate: at exactly the rate, timing jitter meets a 429
        # now and then, and its Retry-After costs more than the margin.
        toml = integration_toml(Sandboxes(self.shop, self.books)).replace(
            "rate_per_second = 50", f"rate_per_second = {rate * CLIENT_SHARE:g}")
        toml += (f"\n[integration.flows.stock]\nenabled = true\ninterval_seconds = {interval}\nmatch_on_sku = false\n"
                 f'compare_with = "{compare_with}"\n')
        path = data_dir / "integration.toml"
        path.write_text(toml)
        apply_file(path)
        integration = Integration.objects.get(name=INTEGRATION)
        self.integration_id = integration.pk
        client = self.books.client(token_store=ConnectionTokenStore(integration.books.pk))
        self.books.authorise(client)
        client.close()
        self.linked = self._link_catalogue()
        self._release()

    def _link_catalogue(self) -> dict[str, int]:
        """"product" links for every shop article without variants whose SKU is an AccountView article (the
        products flow's work), and "stock" links holding the value the shop shows (an earlier cycle's),
        the shop set to it; the cursor says a cycle ran before."""
        from koppel.sync import units
        from koppel.sync.links import Link

        articles = self.books.state.tables["ARTICLE"]
        linked: dict[str, int] = {}
        links: list[Link] = []
        for article in self.shop.state.articles.values():
            code = article.get("sku")
            if article["variants"] or code not in articles:
                continue
            value = self.shown(code)
            article["stock"] = value
            linked[code] = article["id"]
            links += [Link("product", code, str(article["id"])), Link("stock", code, str(article["id"]), str(value))]
        for start in range(0, len(links), 20_000):
            units.remember_links(self.integration_id, links[start:start + 20_000])
        units.advance_cursor(self.integration_id, "stock", datetime.now(UTC).isoformat())
        return linked

    def shown(self, code: str) -> int:
        """What the default formula makes of the article: available − reserved, floored, never below 0."""
        row = self.books.state.tables["ARTICLE"][code]
        return max(0, int(float(row["QTY_AVAIL"] or 0) - float(row["QTY_RSRV"] or 0)))

    def change(self, codes: list[str]) -> dict[str, int]:
        """Raise these articles' available stock in AccountView (the change date left alone, as stock
        moves); returns the value each should reach in the shop."""
        wanted = {}
        with self.books.state.lock:
            for code in codes:
                row = self.books.state.tables["ARTICLE"][code]
                step = random.randint(1, 5)
                row["QTY_AVAIL"] = float(row["QTY_RSRV"] or 0) + self.shown(code) + step
                wanted[code] = self.shown(code)
        return wanted

    def calls(self) -> dict[str, dict[str, int]]:
        return {"shop": dict(self.shop.limits.calls), "books": dict(self.books.limits.calls)}

    def reset_calls(self) -> None:
        self.shop.limits.reset_calls()
        self.books.limits.reset_calls()

    def sync(self) -> dict[str, Any]:
        """`koppel sync stock --json` in its own process: its summary, its peak RSS, the run's own time."""
        self.reset_calls()
        with (self.data_dir / "sync.log").open("w") as errors:
            process = subprocess.Popen([*KOPPEL, "sync", "stock", "--integration", self.integration, "--json"],
                                       env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)
            with PeakMemory(process.pid) as peak:
                output, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"koppel sync failed ({process.returncode}):\n{output}\n"
                               f"{(self.data_dir / 'sync.log').read_text()}")
        summary = json.loads(output)
        return {"counts": {k: v for k, v in summary["counts"].items() if v}, "run": self.last_run_seconds(),
                "rss_mb": peak.megabytes, "calls": self.calls(), "refused": self.refused(),
                "engine": self.unit_timings()}

    def unit_timings(self) -> dict[str, float]:
        """The latest run's fetch (from the run's start to its first unit) and its units' medians: waiting
        in the queue, then running."""
        run, units = latest_run_and_units()
        first = min((u.created_at for u in units if u.created_at), default=None)
        last = max((u.completed_at for u in units if u.completed_at), default=None)
        return {"run start → first unit queued (s)": ((first or 0) - (run.dequeued_at or 0)) / 1000,
                "first unit queued → last unit done (s)": ((last or 0) - (first or 0)) / 1000,
                "units": len(units), **unit_medians(units)}

    def refused(self) -> int:
        return int(self.shop.limits.refused + self.books.limits.refused)

    def last_run_seconds(self) -> float:
        from koppel.core.activity.models import Run

        run = Run.objects.filter(integration_id=self.integration_id, flow="stock").order_by("-pk").first()
        self._release()
        assert run is not None and run.finished_at is not None
        return (run.finished_at - run.started_at).total_seconds()

    def only_stock_polls(self) -> None:
        from koppel.core.integrations.models import Schedule

        Schedule.objects.filter(integration_id=self.integration_id).exclude(flow="stock").update(enabled=False)
        self._release()

    def stock_runs(self) -> int:
        from koppel.core.activity.models import Run

        finished = Run.objects.filter(integration_id=self.integration_id, flow="stock",
                                      finished_at__isnull=False).count()
        self._release()
        return finished

    def stop(self) -> None:
        self.shop.stop()
        self.books.stop()

    @staticmethod
    def _release() -> None:
        from django.db import connections

        connections.close_all()  # SQLite: hold no lock while the koppel processes work


class PeakMemory:
    """The peak resident memory of a running process, read from /proc every 0.2 s (VmHWM: the kernel's own
    high-water mark, which starts afresh when the process execs). `getrusage`/`wait4` would not do: their
    maxrss counts the forked child before its exec, i.e. this process with both sandboxes in it."""

    def __init__(self, pid: int) -> None:
        self.pid, self.kilobytes = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def megabytes(self) -> int:
        return round(self.kilobytes / 1024)

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.kilobytes = max(self.kilobytes, int(line.split()[1]))


def data_calls(calls: dict[str, int], prefix: str) -> int:
    return sum(n for route, n in calls.items() if route.startswith(prefix))


def cycle_figures(name: str, cycle: dict[str, Any], rate: float, changed: int) -> dict[str, Any]:
    shop, books = cycle["calls"]["shop"], cycle["calls"]["books"]
    writes, shop_reads = data_calls(shop, "PATCH"), data_calls(shop, "GET")
    stock_pages = books.get("GET /api/v3/accountviewdata", 0)
    floor = sum(max(0, sum(side.values()) - BURST) / rate for side in (shop, books))
    return {
        f"{name}: outcomes": cycle["counts"],
        f"{name}: shop writes / articles changed": f"{writes} / {changed}",
        f"{name}: shop reads": shop_reads,
        f"{name}: AccountView calls (stock pages)": f"{sum(books.values())} ({stock_pages})",
        f"{name}: calls refused (429)": cycle["refused"],
        f"{name}: rate-limit floor (s)": round(floor, 1),
        f"{name}: run (s)": round(cycle["run"], 1),
        f"{name}: run / floor": round(cycle["run"] / floor, 2) if floor else None,
        f"{name}: peak RSS of koppel sync (MB)": round(cycle["rss_mb"]),
        f"{name}: engine": {k: round(v, 2) for k, v in cycle["engine"].items()},
    }


def cycles(world: World, fraction: float, rate: float) -> dict[str, Any]:
    quiet = world.sync()
    codes = random.sample(sorted(world.linked), max(1, round(len(world.linked) * fraction)))
    world.change(codes)
    busy = world.sync()
    return cycle_figures("nothing changed", quiet, rate, 0) | cycle_figures(
        f"{fraction:.0%} changed", busy, rate, len(codes))


def freshness(world: World, seconds: float, interval: int, gap: float) -> dict[str, Any]:
    """One article's stock changed in AccountView every `gap` seconds while a worker polls: seconds until the
    shop shows each change."""
    world.only_stock_polls()
    runs_before = world.stock_runs()
    log = world.data_dir / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen([*KOPPEL, "worker", "--executor-id", "bench-worker"], env=world.env, cwd=ROOT,
                                  stdout=output, stderr=subprocess.STDOUT)
    waits: list[float] = []
    peak = PeakMemory(worker.pid).__enter__()
    try:
        deadline = time.monotonic() + interval + 300
        while world.stock_runs() == runs_before:  # the worker is up and has run a cycle
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not run ({worker.returncode}):\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        pending: dict[str, tuple[float, int]] = {}
        candidates = sorted(world.linked)
        stop_changing = time.monotonic() + seconds
        deadline = stop_changing + interval * 2 + 120
        next_change = time.monotonic()
        while (pending or time.monotonic() < stop_changing) and time.monotonic() < deadline:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker stopped ({worker.returncode}):\n{log.read_text()[-3000:]}")
            now = time.monotonic()
            if now < stop_changing and now >= next_change:
                code = random.choice([c for c in candidates[:5000] if c not in pending])
                pending[code] = (now, world.change([code])[code])
                next_change = now + gap
            for code, (changed_at, value) in list(pending.items()):
                if world.shop.state.articles[world.linked[code]]["stock"] == value:
                    waits.append(time.monotonic() - changed_at)
                    del pending[code]
            time.sleep(0.05)
    finally:
        peak.__exit__()
        worker.terminate()
        worker.wait(30)
    waits.sort()
    if pending:
        print(f"changes not seen: {len(pending)}; the worker's log ends:\n{log.read_text()[-3000:]}")
    return {
        "freshness: peak RSS of the worker (MB)": peak.megabytes,
        "freshness: changes seen in the shop": f"{len(waits)} of {len(waits) + len(pending)}",
        "freshness: poll interval (s)": interval,
        "freshness: p50 (s)": round(statistics.median(waits), 1) if waits else None,
        "freshness: p95 (s)": round(waits[max(0, round(0.95 * len(waits)) - 1)], 1) if waits else None,
        "freshness: max (s)": round(waits[-1], 1) if waits else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000, help="articles in both sandboxes (full size: 100000)")
    parser.add_argument("--changed", type=float, default=0.01, help="share of the linked articles changed")
    parser.add_argument("--rate", type=float, default=10.0, help="calls per second each side allows")
    parser.add_argument("--interval", type=int, default=60, help="the worker's stock poll interval (s)")
    parser.add_argument("--freshness", type=float, default=0, help="seconds of stock changes timed through a worker")
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between changes in the freshness test")
    parser.add_argument("--compare-with", choices=["last_sent", "shop"], default="last_sent",
                        help="the stock setting compare_with: the value last sent, or the shop's own (read in full)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="koppel-bench-stock-") as data_dir:
        world = World(Path(data_dir), args.articles, args.rate, args.interval, args.compare_with)
        try:
            figures: dict[str, Any] = {"articles (linked)": f"{args.articles:,} ({len(world.linked):,})",
                                       "rate limit per side (calls/s)": args.rate,
                                       "compared with": args.compare_with,
                                       "sandboxes seeded in (s)": round(world.seconds_to_seed, 1)}
            figures |= cycles(world, args.changed, args.rate)
            if args.freshness:
                figures |= freshness(world, args.freshness, args.interval, args.gap)
        finally:
            world.stop()
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
