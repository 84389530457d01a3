"""Engine scenarios, each run in a child process of its own: Django and DBOS are configured once
per process, and crash tests need a process to kill.

The tests fork children from a server that has imported this module already (`child`), which
saves seconds per process; by hand:

    python -m tests.sync.scenarios NAME [ARG …]

The environment says which database (KOPPEL_DATA_DIR, KOPPEL_DATABASE_URL,
KOPPEL_SYSTEM_DATABASE_URL) and where to trace (KOPPEL_TEST_TRACE). The result is JSON: the last
line printed by hand (`RESULT <json>`), or a file for a forked child.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from koppel.sync.engine import EngineOptions

POLL = 0.05  # seconds between looks at a workflow's result (DBOS waits 1 s by default)
FAST = EngineOptions(polling_interval=0.1, heartbeat_interval=0.3, executor_timeout=2.0,
                     scheduler_interval=0.2, unit_concurrency=2, unit_rate_limit=100)


def prepare() -> None:
    from koppel.core import setup

    setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    import tests.sync.toy_flow  # noqa: F401  (declares the workflows before the engine starts)
    import tests.sync.workflows  # noqa: F401


def integration(name: str = "shop", *, metadata_only: bool = False, retention_days: int = 14) -> int:
    from koppel.core.accounts.models import Workspace
    from koppel.core.integrations.models import Connection, Integration

    workspace, _ = Workspace.objects.get_or_create(
        name=f"ws-{name}", defaults={"metadata_only": metadata_only, "retention_days": retention_days})
    shop, _ = Connection.objects.get_or_create(workspace=workspace, name="shop", system="mijnwebwinkel")
    books, _ = Connection.objects.get_or_create(workspace=workspace, name="books", system="accountview",
                                                defaults={"settings": {"company_id": "1"}})
    found, _ = Integration.objects.get_or_create(name=name, workspace=workspace,
                                                 defaults={"shop": shop, "books": books})
    return int(found.pk)


def launch(executor_id: str, *, scheduler: bool = False) -> None:
    """Start the engine of this process, unless an earlier scenario of the batch did."""
    from koppel.sync import engine

    if not engine.is_running():
        engine.launch(executor_id=executor_id, scheduler=scheduler, options=FAST,
                      packages=["tests.sync.workflows"])


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released at the same moment; returns results in order."""
    from django.db import connection

    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as error:  # reported, not swallowed: the test compares results
            results[index] = f"error: {error!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


# ---- scenarios ---------------------------------------------------------------------------------

def idempotent_start() -> dict[str, Any]:
    """The same unit of work started twice, at once and after it finished, runs once."""
    from koppel.sync import units
    from tests.sync.workflows import count_once, traces

    iid = integration("idempotent")
    launch("batch")
    handles = in_threads(2, lambda _: units.start_unit(count_once, iid, "order-1"))
    results = [handle.get_result(polling_interval_sec=POLL) for handle in handles]
    again = units.start_unit(count_once, iid, "order-1")
    results.append(again.get_result(polling_interval_sec=POLL))
    ran_once = traces()
    retried = units.restart_unit(count_once, iid, "order-1")  # a person's retry does run it again
    retried_result = retried.get_result(polling_interval_sec=POLL)
    return {"ids": [h.get_workflow_id() for h in handles] + [again.get_workflow_id()],
            "results": results, "traces": ran_once, "retried": [retried_result, traces()]}


def partitions() -> dict[str, Any]:
    """Each integration has its own partition: at most `unit_concurrency` (2) of its units run at
    once, while another integration's units run beside them."""
    from koppel.sync import units
    from tests.sync.workflows import busy, peaks

    first, second = integration("partition-a"), integration("partition-b")
    launch("batch")
    handles = [units.start_unit(busy, first, f"a{i}") for i in range(4)]
    handles += [units.start_unit(busy, second, f"b{i}") for i in range(2)]
    for handle in handles:
        handle.get_result(polling_interval_sec=POLL)
    return {"first": peaks[first], "second": peaks[second], "together": peaks[0]}


def crash_worker(executor_id: str, key: str, start: str) -> dict[str, Any]:
    """A worker that (when `start` is "start") starts the three-step unit, then waits for it."""
    from dbos import DBOS

    from koppel.sync import units
    from tests.sync.workflows import three_steps, trace

    iid = integration()
    launch(executor_id)
    trace(f"ready:{executor_id}")
    if start == "start":
        units.start_unit(three_steps, iid, key)
    workflow_id = units.unit_id("test", iid, key)
    deadline = time.monotonic() + 60
    while (status := DBOS.get_workflow_status(workflow_id)) is None or status.status != "SUCCESS":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{workflow_id} did not finish: {status}")
        time.sleep(0.1)
    result = DBOS.retrieve_workflow(workflow_id).get_result(polling_interval_sec=POLL)
    return {"result": result, "executor": status.executor_id}


def units_records() -> dict[str, Any]:
    """Outcomes (attempts, metadata only), runs, links and cursors through the units API."""
    from koppel.core.activity.models import Activity, Run
    from koppel.errors import NeedsAttention, Outcome
    from koppel.sync import units

    full, bare = integration("full"), integration("bare", metadata_only=True)
    for iid in (full, bare):
        units.record_outcome(iid, "order", "1", Outcome.RETRY, reason="timeout", payload_in={"n": 1})
        units.record_error(iid, "order", "1", NeedsAttention("article X unknown"), payload_in={"n": 1},
                           payload_out={"ORD_NR": 1})
    activity = {row["integration_id"]: row for row in Activity.objects.values(
        "integration_id", "outcome", "reason", "attempts", "payload_in", "payload_out")}
    outcomes = [units.read_outcome(full, "order", "1"), units.read_outcome(full, "order", "2")]
    run_ok, run_parked = units.start_run(full, "orders"), units.start_run(full, "orders")
    statuses = [units.finish_run(run_ok, {"sent": 2, "skipped": 1}),
                units.finish_run(run_parked, {"sent": 1, "needs_attention": 1}),
                units.finish_run(units.start_run(full, "orders"), {}, error="connection broken")]
    return {"full": activity[full], "bare": activity[bare], "statuses": statuses, "outcomes": outcomes,
            "runs": Run.objects.filter(finished_at__isnull=False).count()}


def links() -> dict[str, Any]:
    """Eight workers link the same order at once, each to a target of its own: one link wins."""
    from koppel.core.activity.models import Link
    from koppel.sync import units

    iid = integration("links")
    results = in_threads(8, lambda i: units.write_link(iid, "order", "1001", f"SO-{i}"))
    winner = units.find_link(iid, "order", "1001")
    assert winner is not None
    units.remember_sent(iid, "order", "1001", "abc")
    by_target = units.find_link_by_target(iid, "order", winner.target_key)
    return {"targets": sorted({getattr(r, "target_key", str(r)) for r in results}),
            "winner": winner.target_key, "by_target": by_target.source_key if by_target else None,
            "hash": getattr(units.find_link(iid, "order", "1001"), "payload_hash", None),
            "rows": Link.objects.count(), "missing": units.find_link(iid, "order", "404"),
            "forgot": units.forget_link(iid, "order", "1001"), "after": units.find_link(iid, "order", "1001")}


def cursors() -> dict[str, Any]:
    """Cursors move forward only: numbers, timestamps, and many advances at once."""
    from koppel.sync import units

    iid = integration("cursors")
    first = units.read_cursor(iid, "orders")
    steps = [units.advance_cursor(iid, "orders", value) for value in ("5", "3", "10", "9")]
    stamps = [units.advance_cursor(iid, "stock", value) for value in
              ("2026-11-26T10:00:00+00:00", "2026-11-26T09:00:00Z", "2026-11-26T12:00:00+01:00",
               "2026-11-26T11:30:00Z", "2026-11-26T11:45:00", "2026-11-26T11:40:00")]
    concurrent = in_threads(8, lambda i: units.advance_cursor(iid, "race", str(i * 7 % 8)))
    return {"first": first, "steps": steps, "stamps": stamps, "race": units.read_cursor(iid, "race"),
            "concurrent_errors": [r for r in concurrent if str(r).startswith("error")]}


def schedules() -> dict[str, Any]:
    """Schedules are read on each tick: edits apply at once; two schedulers start a slot once."""
    from dbos import DBOS

    from koppel.core.integrations.models import Schedule
    from koppel.sync import schedules as scheduler
    from koppel.sync import units
    from tests.sync.workflows import traces

    iid = integration("schedules")
    launch("batch")
    schedule = Schedule.objects.create(integration_id=iid, flow="tick", interval_seconds=3600)
    Schedule.objects.create(integration_id=iid, flow="not-declared", interval_seconds=1)
    t0 = datetime(2026, 11, 26, 10, 0, 5, tzinfo=UTC)

    def tick(at: datetime) -> list[str]:
        started = scheduler.tick(at)
        for workflow_id in started:
            DBOS.retrieve_workflow(workflow_id).get_result(polling_interval_sec=POLL)
        return started

    log: dict[str, Any] = {"first": in_threads(2, lambda _: scheduler.tick(t0))}
    for workflow_id in {w for started in log["first"] for w in started}:
        DBOS.retrieve_workflow(workflow_id).get_result(polling_interval_sec=POLL)
    log["same_slot"] = tick(t0 + timedelta(seconds=10))
    Schedule.objects.filter(pk=schedule.pk).update(interval_seconds=5)
    log["faster"] = tick(t0 + timedelta(seconds=11))
    log["next_slot"] = tick(t0 + timedelta(seconds=16))
    Schedule.objects.filter(pk=schedule.pk).update(enabled=False)
    log["disabled"] = tick(t0 + timedelta(seconds=30))
    log["ticks"] = traces().count(f"tick:{iid}")
    log["active"] = units.run_active("tick", iid)
    return log


def scheduler_thread() -> dict[str, Any]:
    """A worker's scheduler thread starts a run in every slot of a one-second schedule."""
    from koppel.core.integrations.models import Schedule
    from koppel.sync import engine
    from tests.sync.workflows import traces

    engine.shutdown()  # relaunched below as a worker with its scheduler
    iid = integration("scheduled")
    Schedule.objects.create(integration_id=iid, flow="tick", interval_seconds=1)
    launch("batch-worker", scheduler=True)
    deadline = time.monotonic() + 30
    while traces().count(f"tick:{iid}") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    Schedule.objects.filter(integration_id=iid).update(enabled=False)
    return {"ticks": traces().count(f"tick:{iid}")}


def serialization() -> dict[str, Any]:
    """How DBOS stored what the earlier scenarios' workflows and steps took and returned."""
    import sqlalchemy as sa
    from dbos._dbos import _get_dbos_instance  # no public API reads the stored format

    system = _get_dbos_instance()._sys_db
    formats = set()
    with system.engine.connect() as conn:
        for table in (system.tables.workflow_status, system.tables.operation_outputs):
            formats |= set(conn.execute(sa.select(table.c.serialization).distinct()).scalars())
    return {"formats": sorted(str(f) for f in formats)}


def retention() -> dict[str, Any]:
    """Activity and runs past their workspace's retention go, newer stay; old workflows go.

    Purges every workspace: in a batch, run it last.
    """
    from dbos import DBOS

    from koppel.core.activity.models import Activity, Run
    from koppel.sync import engine, units
    from koppel.sync import retention as keeper
    from tests.sync.workflows import count_once

    now = datetime.now(UTC)
    short, long = integration("short", retention_days=1), integration("long", retention_days=30)
    for iid in (short, long):
        for age in (0, 2, 20, 40):
            key = f"age-{age}"
            units.record_outcome(iid, "order", key, "sent")
            Activity.objects.filter(integration_id=iid, key=key).update(updated_at=now - timedelta(days=age))
            run = units.start_run(iid, "orders")
            units.finish_run(run, {"sent": 1})
            Run.objects.filter(pk=run).update(finished_at=now - timedelta(days=age))
    launch("batch")
    units.start_unit(count_once, short, "kept").get_result(polling_interval_sec=POLL)
    purged_now = keeper.purge(now)
    kept = {iid: sorted(Activity.objects.filter(integration_id=iid).values_list("key", flat=True))
            for iid in (short, long)}
    runs = {iid: Run.objects.filter(integration_id=iid).count() for iid in (short, long)}
    mine = units.unit_id("test", short, "")
    workflows_now = len(DBOS.list_workflows(workflow_id_prefix=mine))
    purged_later = keeper.purge(now + timedelta(days=31))
    workflows_later = len(DBOS.list_workflows(workflow_id_prefix=mine))
    units.start_unit(count_once, short, "late").get_result(polling_interval_sec=POLL)
    engine.shutdown()  # `koppel purge` runs without an engine: it purges through a DBOS client
    purged_offline = keeper.purge(now + timedelta(days=31))
    return {"purged_now": vars(purged_now), "kept_short": kept[short], "kept_long": kept[long],
            "runs_short": runs[short], "runs_long": runs[long], "workflows_now": workflows_now,
            "purged_later": vars(purged_later), "workflows_later": workflows_later,
            "purged_offline": vars(purged_offline)}


# ---- the runner, with the throw-away flow of tests/sync/toy_flow.py ----------------------------

def toy_integration(settings: str) -> dict[str, Any]:
    """The integration `toy` with these toy settings (JSON, stored as given); the keys listed under
    "linked" are linked beforehand without activity, as a crash of an older version left them."""
    from koppel.core.activity.models import Link
    from koppel.core.integrations.models import Integration

    wanted = json.loads(settings)
    found = Integration.objects.select_related("shop", "books").get(pk=integration("toy"))
    found.shop.credentials = {"token": "t", "partner_token": "p"}
    found.books.credentials = {"client_id": "c", "client_secret": "s"}
    found.shop.save()
    found.books.save()
    for key in wanted.pop("linked", []):
        Link.objects.create(integration=found, entity="thing", source_key=key, target_key=f"R{key}")
    Integration.objects.filter(pk=found.pk).update(flows={"toy": wanted})
    return {"integration_id": found.pk}


def toy_sync() -> dict[str, Any]:
    """What `koppel sync toy --integration toy` does, in an engine that would wait an hour for a
    silent executor: work a dead process left is taken over because its lock is free, or not at all."""
    from dbos import DBOS

    from koppel.sync import engine, runner

    running = engine.launch(executor_id=engine.one_off_executor_id("sync-toy"),
                            options=replace(FAST, executor_timeout=3600.0))
    summary = runner.run_flow("toy", "toy")
    units = DBOS.list_workflows(workflow_id_prefix="toy:", load_input=False, load_output=False)
    return {**summary.as_json(), "executor": running.executor_id, "pid": os.getpid(),
            "units": {unit.workflow_id.rsplit(":", 1)[1]: unit.executor_id for unit in units}}


def toy_state() -> dict[str, Any]:
    """What the database and the remote system hold of the toy flow."""
    from koppel.core.activity.models import Activity, Link, Run
    from tests.sync.workflows import traces

    return {
        "links": sorted(Link.objects.filter(entity="thing").values_list("source_key", flat=True)),
        "activity": {a.key: [a.outcome, a.reason] for a in Activity.objects.filter(entity="thing")},
        "runs": list(Run.objects.filter(flow="toy").order_by("pk").values("status", "error", "counts")),
        "writes": [line.split(":")[1:] for line in traces() if line.startswith("write:")],
    }


BATCH: dict[str, Callable[[], dict[str, Any]]] = {
    "units_records": units_records, "links": links, "cursors": cursors,
    "idempotent_start": idempotent_start, "partitions": partitions, "schedules": schedules,
    "scheduler_thread": scheduler_thread, "serialization": serialization, "retention": retention,
}


def batch() -> dict[str, Any]:
    """The scenarios that need no process of their own, in one process (each costs seconds)."""
    return {name: scenario() for name, scenario in BATCH.items()}


def run(name: str, *args: str) -> dict[str, Any]:
    prepare()
    try:
        scenarios: dict[str, Callable[..., dict[str, Any]]] = {
            "batch": batch, "crash_worker": crash_worker, "toy_integration": toy_integration,
            "toy_sync": toy_sync, "toy_state": toy_state}
        return scenarios[name](*args)
    finally:
        from koppel.sync import engine

        if engine.is_running():
            engine.shutdown()


def child(env: dict[str, str], log: str, result: str, name: str, *args: str) -> None:
    """Run a scenario in a freshly forked child, with this environment, logging to `log`."""
    from koppel.settings import get_settings

    for key in [key for key in os.environ if key.startswith("KOPPEL_")]:
        del os.environ[key]
    os.environ.update(env)
    get_settings.cache_clear()
    with open(log, "a") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    Path(result).write_text(json.dumps(run(name, *args), default=repr))


def main() -> None:
    name, *args = sys.argv[1:]
    print("RESULT " + json.dumps(run(name, *args), default=repr), flush=True)


if __name__ == "__main__":
    main()
