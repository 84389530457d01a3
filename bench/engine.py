"""Benchmark of the engine: the orders flow as an operator runs it, `koppel sync orders` and
`koppel worker` in their own processes, against both sandboxes behind a rate limit, on SQLite or
PostgreSQL.

    .venv/bin/python bench/engine.py [--orders 300] [--rate 20] [--database-url postgresql://…]
                                     [--latency 10] [--interval 10]

Prints the calls per order to each side and the wall time of a first run against the rate-limit
floor (the calls the run needed divided by the rate the slower side allows), then the time of a
`--full` re-run that has nothing to send, and with `--latency N` how long N paid orders, added to
the shop one by one, take to reach AccountView while a worker polls every `--interval` seconds.

Each side's rate limit is enforced by the sandbox's server (a request waits for its turn), so the
figures hold whatever the clients do. "run" times are the engine's own (the Run row, from start to
finish); "command" times are the whole process, as an operator waits for it.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from engine_runs import latest_run_and_units, unit_medians

ROOT = Path(__file__).resolve().parents[1]
KOPPEL = [sys.executable, "-m", "koppel.cli"]


class Meter:
    """ASGI middleware in front of a sandbox: counts the requests it serves and lets at most `rate`
    a second through (a token bucket holding `burst`); a request over the rate waits its turn."""

    def __init__(self, app: Any, rate: float, burst: int = 5, *, uncounted: str = "/_sandbox") -> None:
        self.app, self.rate, self.burst, self.uncounted = app, rate, burst, uncounted
        self.tokens, self.last = float(burst), time.monotonic()
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self.uncounted):
            await self._turn()
            self.calls += 1
        await self.app(scope, receive, send)

    async def _turn(self) -> None:
        while True:  # one event loop serves the sandbox: no other request runs between check and take
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


class World:
    """Both sandboxes behind meters, and a migrated Koppel database holding the demo integration."""

    def __init__(self, data_dir: Path, database_url: str | None, orders: int, rate: float) -> None:
        self.env = {**os.environ, "KOPPEL_DATA_DIR": str(data_dir), "KOPPEL_LOG_LEVEL": "WARNING"}
        if database_url:
            self.env["KOPPEL_DATABASE_URL"] = database_url
        self.data_dir = data_dir
        os.environ.update(self.env)
        from koppel.core import setup

        setup()
        from django.core.management import call_command

        from koppel.connectors.accountview.sandbox import AccountViewSandbox
        from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SeedSizes
        from koppel.connectors.sandboxes import Sandboxes
        from koppel.connectors.sandboxkit.serve import serve_in_thread
        from koppel.core.integrations.apply import apply_file
        from koppel.core.integrations.models import Integration
        from koppel.demo import INTEGRATION, add_cost_articles, integration_toml
        from koppel.sync.token_store import ConnectionTokenStore

        call_command("migrate", interactive=False, verbosity=0)
        self.shop = MijnWebwinkelSandbox(seed=1, sizes=SeedSizes(articles=40, orders=orders))
        self.books = AccountViewSandbox(seed=1, size=40)
        self.shop_meter = Meter(self.shop.app, rate)
        self.books_meter = Meter(self.books.app(), rate)
        self.shop.app = self.shop_meter
        self.shop.start()
        self.books.server = serve_in_thread(self.books_meter)
        self.integration = INTEGRATION
        toml = integration_toml(Sandboxes(self.shop, self.books)).replace(
            "rate_per_second = 50", f"rate_per_second = {rate:g}")
        path = data_dir / "integration.toml"
        path.write_text(toml)
        apply_file(path)
        integration = Integration.objects.get(name=INTEGRATION)
        self.integration_id = integration.pk
        client = self.books.client(token_store=ConnectionTokenStore(integration.books.pk))
        self.books.authorise(client)
        add_cost_articles(client)
        client.close()
        self._release()

    def stop(self) -> None:
        self.shop.stop()
        self.books.stop()

    def calls(self) -> tuple[int, int]:
        return self.shop_meter.calls, self.books_meter.calls

    def sync(self, *args: str) -> dict[str, Any]:
        """`koppel sync orders --json` in its own process: its summary, wall time and calls."""
        before = self.calls()
        cpu_before = _children_cpu()
        started = time.monotonic()
        done = subprocess.run([*KOPPEL, "sync", "orders", "--integration", self.integration, "--json", *args],
                              env=self.env, capture_output=True, text=True, cwd=ROOT)
        wall = time.monotonic() - started
        cpu = _children_cpu() - cpu_before
        if done.returncode != 0:
            raise RuntimeError(f"koppel sync failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
        summary = json.loads(done.stdout)
        after = self.calls()
        return {"counts": {k: v for k, v in summary["counts"].items() if v}, "command": wall, "cpu": cpu,
                "run": self.last_run_seconds(), "shop calls": after[0] - before[0],
                "books calls": after[1] - before[1], "engine": self.unit_timings()}

    def last_run_seconds(self) -> float:
        from koppel.core.activity.models import Run

        run = Run.objects.filter(integration_id=self.integration_id).order_by("-pk").first()
        self._release()
        assert run is not None and run.finished_at is not None
        return (run.finished_at - run.started_at).total_seconds()

    def unit_timings(self) -> dict[str, float]:
        """Medians over the units of work of the latest run: waiting in the queue, then running."""
        run, units = latest_run_and_units()
        return {"run queued (s)": ((run.dequeued_at or 0) - (run.created_at or 0)) / 1000,
                "units started": len(units), **unit_medians(units)}

    def runs_finished(self) -> int:
        from koppel.core.activity.models import Run

        finished = Run.objects.filter(integration_id=self.integration_id, finished_at__isnull=False).count()
        self._release()
        return finished

    def poll_every(self, seconds: int) -> None:
        from koppel.core.integrations.models import Schedule

        Schedule.objects.filter(integration_id=self.integration_id, flow="orders").update(
            interval_seconds=seconds, enabled=True)
        self._release()

    def add_paid_order(self) -> str:
        """A new paid order in the shop, changed now (a copy of a seeded paid order)."""
        from koppel.demo import PAID

        template = next(o for o in self.shop.state.orders.values()
                        if o["status"] in PAID and not o.get("credited_order_number")
                        and not str(o["number"]).upper().startswith("T"))
        order = copy.deepcopy(template)
        for field in ("number", "uuid", "date", "time", "status_changed_date", "status_changed_time"):
            order.pop(field, None)
        return str(self.shop.add_order(order)["number"])

    @staticmethod
    def _release() -> None:
        from django.db import connections

        connections.close_all()  # SQLite: hold no lock while the koppel processes work


def first_run_and_rerun(world: World, rate: float) -> dict[str, Any]:
    first = world.sync()
    handled = sum(first["counts"].values())
    floor = max(first["shop calls"], first["books calls"]) / rate
    again = world.sync("--full")
    linked = again["counts"].get("skipped", 0)
    return {
        "first run: outcomes": first["counts"],
        "first run: MijnWebwinkel calls per order": round(first["shop calls"] / max(handled, 1), 3),
        "first run: AccountView calls per order": round(first["books calls"] / max(handled, 1), 3),
        "first run: rate-limit floor (s)": round(floor, 1),
        "first run: run (s)": round(first["run"], 1),
        "first run: command (s)": round(first["command"], 1),
        "first run: run / floor": round(first["run"] / floor, 2),
        "first run: command / floor": round(first["command"] / floor, 2),
        "first run: command CPU (s)": round(first["cpu"], 1),
        "first run: engine": _rounded(first["engine"]),
        "re-run --full: outcomes": again["counts"],
        "re-run --full: calls (shop, books)": (again["shop calls"], again["books calls"]),
        "re-run --full: run (s)": round(again["run"], 2),
        "re-run --full: command (s)": round(again["command"], 2),
        "re-run --full: command CPU (s)": round(again["cpu"], 2),
        "re-run --full: run per 1,000 linked (s)": round(again["run"] * 1000 / max(linked, 1), 2),
        "re-run --full: engine": _rounded(again["engine"]),
    }


def _children_cpu() -> float:
    """CPU seconds used by finished child processes: what a command cost, however busy the machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 2) for name, value in figures.items()}


def latency(world: World, count: int, interval: int, gap: float) -> dict[str, Any]:
    """Paid orders added one by one while a worker runs: seconds from the shop to AccountView."""
    world.poll_every(interval)
    runs_before = world.runs_finished()
    log = world.data_dir / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen([*KOPPEL, "worker", "--executor-id", "bench-worker"], env=world.env, cwd=ROOT,
                                  stdout=output, stderr=subprocess.STDOUT)
    waits: list[float] = []
    try:
        deadline = time.monotonic() + 180
        while world.runs_finished() == runs_before:  # the worker is up and has run once
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not run ({worker.returncode}):\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        pending: dict[str, float] = {}
        next_order = time.monotonic()
        deadline = time.monotonic() + count * gap + interval * 3 + 60
        while len(waits) < count and time.monotonic() < deadline:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker stopped ({worker.returncode}):\n{log.read_text()[-3000:]}")
            now = time.monotonic()
            if len(pending) + len(waits) < count and now >= next_order:
                pending[world.add_paid_order()] = now
                next_order = now + gap
            for number, added in list(pending.items()):
                if world.books.sales_orders_for(number):
                    waits.append(time.monotonic() - added)
                    del pending[number]
            time.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait(30)
    waits.sort()
    return {
        "latency: orders arrived": f"{len(waits)} of {count}",
        "latency: poll interval (s)": interval,
        "latency: p50 (s)": round(statistics.median(waits), 1) if waits else None,
        "latency: p95 (s)": round(waits[max(0, round(0.95 * len(waits)) - 1)], 1) if waits else None,
        "latency: max (s)": round(waits[-1], 1) if waits else None,
        "latency: bound, interval + 5 (s)": interval + 5,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300, help="orders seeded in the shop (about 45%% are paid)")
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second allowed on each side")
    parser.add_argument("--database-url", help="postgresql://… of an empty database (default: SQLite)")
    parser.add_argument("--latency", type=int, default=0, help="paid orders to time through a running worker")
    parser.add_argument("--interval", type=int, default=10, help="the worker's poll interval (s), 10 or more")
    parser.add_argument("--gap", type=float, default=1.7, help="seconds between new orders in the latency test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="koppel-bench-") as data_dir:
        world = World(Path(data_dir), args.database_url, args.orders, args.rate)
        try:
            figures = {"database": "PostgreSQL" if args.database_url else "SQLite",
                       "rate limit per side (calls/s)": args.rate}
            figures |= first_run_and_rerun(world, args.rate)
            if args.latency:
                figures |= latency(world, args.latency, args.interval, args.gap)
        finally:
            world.stop()
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
