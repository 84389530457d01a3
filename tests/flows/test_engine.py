"""The orders flow on the durable engine: `run_flow` as the CLI calls it, a worker killed with
SIGKILL at random moments and restarted, and two workers on PostgreSQL at once. Each time AccountView
ends up with every eligible order exactly once and one debtor per e-mail."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import make_koppel
from tests.flows.scenarios import spawn
from tests.flows.test_orders import eligible
from tests.flows.world import SETTINGS, World, start_world
from tests.postgres import PostgresServer

pytestmark = pytest.mark.usefixtures("_fork_server")  # children fork from a server that imported the scenarios


@pytest.fixture
def big_world(request: pytest.FixtureRequest) -> Iterator[World]:
    world = start_world(orders=getattr(request, "param", 200))
    yield world
    world.stop()


def environment(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    env = {"KOPPEL_DATA_DIR": str(tmp_path / "var"), "KOPPEL_LOG_LEVEL": "WARNING"}
    if database_url:
        env["KOPPEL_DATABASE_URL"] = database_url
    return env


def integrate(
    world: World, env: dict[str, str], tmp_path: Path, name: str = "shop", *, expired: bool = False, **settings: Any
) -> int:
    info = world.shop_sandbox.info
    tokens = world.books.token_store.load()
    assert tokens is not None
    if expired:  # the first call must refresh, and the rotated refresh token must be kept
        tokens = tokens.model_copy(update={"expires_at": 0})
    books = {
        "url": world.books_sandbox.url,
        "company_id": world.books_sandbox.company_id,
        "client_id": world.books_sandbox.info.client_id,
        "client_secret": world.books_sandbox.info.client_secret,
        "tokens": tokens.model_dump(mode="json"),
    }
    shop = {"url": info.url, "token": info.token, "partner_token": info.partner_token}
    made = spawn(env, tmp_path, "make_integration", name, shop, books, {**SETTINGS, **settings}).wait()
    return int(made["integration_id"])


def assert_exactly_once(world: World, statuses: list[int]) -> None:
    orders = eligible(world, statuses)
    assert orders
    counts = {str(o["number"]): world.sales_orders(str(o["number"])) for o in orders}
    assert {n: c for n, c in counts.items() if c != 1} == {}
    for email in {o["debtor"]["email"] for o in orders}:
        assert len(world.debtors(email)) == 1, email


@pytest.mark.slow  # real koppel processes
def test_run_orders_as_the_command_line_calls_it(tmp_path: Path) -> None:
    world = start_world(orders=40)
    try:
        bad = dict(eligible(world)[0], number=9401)
        bad["orderlines"] = [
            dict(line, articles=[dict(line["articles"][0], sku="ONBEKEND-9")]) if line["type"] == "article" else line
            for line in bad["orderlines"]
        ]
        world.shop_sandbox.add_order(bad)
        env = environment(tmp_path)
        first_refresh_token = world.books.token_store.load().refresh_token  # type: ignore[union-attr]
        iid = integrate(world, env, tmp_path, "demo", expired=True)
        summary = spawn(env, tmp_path, "sync_command", "demo").wait()
        assert summary["error"] == ""
        assert summary["counts"]["sent"] == len(eligible(world)) - 1 and summary["counts"]["needs_attention"] == 1
        (parked,) = [o for o in summary["records"] if o["outcome"] == "needs_attention"]
        assert parked["key"] == "9401" and "ONBEKEND-9" in parked["reason"]
        assert summary["progress"][-1][0] == summary["progress"][-1][1] == len(summary["records"])
        world.books_sandbox.expire_tokens()  # the next process must refresh with the rotated token
        again = spawn(env, tmp_path, "sync_command", "demo", True).wait()
        assert again["counts"]["sent"] == 0 and again["counts"]["skipped"] == len(eligible(world)) - 1
        assert again["counts"]["needs_attention"] == 1
        assert world.sales_orders("9401") == 0
        assert all(world.sales_orders(str(o["number"])) == 1 for o in eligible(world) if o["number"] != 9401)
        # The shop owner corrects the SKU; a retry of that one order sends it once, a second retry skips it.
        world.shop_sandbox.state.orders["9401"]["orderlines"] = eligible(world)[0]["orderlines"]
        retried = spawn(env, tmp_path, "retry_command", "demo", "9401").wait()
        assert [(o["key"], o["outcome"]) for o in retried["records"]] == [("9401", "sent")], retried
        assert world.sales_orders("9401") == 1
        retried = spawn(env, tmp_path, "retry_command", "demo", "9401").wait()
        assert [(o["key"], o["outcome"]) for o in retried["records"]] == [("9401", "skipped")], retried
        assert world.sales_orders("9401") == 1
        stored = spawn(env, tmp_path, "activity", iid).wait()
        assert stored["activity"]["9401"][0] == "sent" and stored["activity"]["9401"][1] == 3
        assert stored["runs"] == ["partial", "partial", "succeeded", "succeeded"]
        assert stored["refresh_token"] not in ("", first_refresh_token)
        assert stored["sent_payload"]["SalesOrderIn"]["external_ref"] and stored["sent_payload"]["debtor"]["number"]
    finally:
        world.stop()


@pytest.mark.slow  # real koppel processes
def test_koppel_sync_json_prints_json_only_and_koppel_runs_lists_the_runs(tmp_path: Path) -> None:
    world = start_world(orders=12)
    try:
        env = environment(tmp_path)
        integrate(world, env, tmp_path, "cli")
        koppel = make_koppel(tmp_path)

        def store(settings: dict[str, Any]) -> None:  # as stored before the settings model changed: unchecked
            koppel.python("from koppel.core.integrations.models import Integration\n"
                          f"Integration.objects.filter(name='cli').update(flows={{'orders': {settings!r}}})")

        store({**SETTINGS, "statuses": []})
        failed = koppel("sync", "orders", "--integration", "cli", "--json", check=False)
        assert failed.returncode == 1
        refused = json.loads(failed.stdout)
        assert refused["records"] == [] and "statuses" in refused["error"], refused
        store(SETTINGS)
        sent = json.loads(koppel("sync", "orders", "--integration", "cli", "--json").stdout)
        assert sent["counts"]["sent"] == len(eligible(world)) and sent["error"] == ""
        runs = json.loads(koppel("runs", "--integration", "cli", "--json").stdout)
        assert [(r["flow"], r["status"]) for r in runs] == [("orders", "succeeded"), ("orders", "failed")]
        assert runs[0]["counts"] == sent["counts"] and runs[0]["id"] == sent["run"]
        assert runs[1]["error"] == refused["error"] and runs[1]["finished_at"]
    finally:
        world.stop()


@pytest.mark.slow
def test_worker_killed_at_random_moments_leaves_every_order_once(big_world: World, tmp_path: Path) -> None:
    env = environment(tmp_path)
    statuses = [1, 2, 3, 6]
    iid = integrate(big_world, env, tmp_path, statuses=statuses)
    rng = random.Random(5)
    kills, written_at_kills = 0, []
    before = big_world.books_sandbox.count("SO_HDR")
    while kills < 3:
        worker = spawn(env, tmp_path, "worker", "worker-1", iid, "crash")
        time.sleep(rng.uniform(2.5, 5.0))
        if not worker.process.is_alive():
            break
        worker.kill()
        kills += 1
        written_at_kills.append(big_world.books_sandbox.count("SO_HDR"))
    final = spawn(env, tmp_path, "worker", "worker-1", iid, "crash").wait(timeout=150)
    assert kills >= 2
    assert any(count < before + len(eligible(big_world, statuses)) for count in written_at_kills)  # mid-run
    assert final["counts"]["needs_attention"] == 0, final["records"]
    if final["counts"]["retry"]:  # a passing failure (a busy database, …): the next run, as scheduled
        final = spawn(env, tmp_path, "worker", "worker-1", iid, "after-crash").wait(timeout=60)
    assert final["counts"]["retry"] == 0, [o for o in final["records"] if o["outcome"] == "retry"]
    assert_exactly_once(big_world, statuses)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("big_world", [100], indirect=True)
def test_two_workers_on_postgres_create_no_duplicates(
    big_world: World, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    env = environment(tmp_path, postgres_server.create_database())
    statuses = [1, 2, 3, 6]
    # Expired tokens: both workers refresh at once, and a rotated refresh token must be used once only
    # (the sandbox revokes the grant on reuse), so the refreshes must be serialised across processes.
    iid = integrate(big_world, env, tmp_path, statuses=statuses, expired=True)
    first = spawn(env, tmp_path, "worker", "worker-a", iid, "a")
    second = spawn(env, tmp_path, "worker", "worker-b", iid, "b", True)
    results = [first.wait(150), second.wait(150)]
    parked = [o for r in results for o in r["records"] if o["outcome"] not in ("sent", "skipped")]
    assert not parked, parked
    assert sum(r["counts"]["sent"] for r in results) == len(eligible(big_world, statuses))
    assert_exactly_once(big_world, statuses)
