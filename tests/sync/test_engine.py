"""The durable engine on SQLite and on PostgreSQL: idempotent starts, outcomes, links, cursors,
schedules, retention, and recovery after a worker is killed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.postgres import PostgresServer
from tests.sync.conftest import Backend, kill, make_backend


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def batch(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The in-process scenarios, run once per backend in one child process (each start costs seconds)."""
    backend = make_backend(request.param, tmp_path_factory.mktemp(f"batch-{request.param}"),
                           lambda: request.getfixturevalue("postgres_server"))
    return backend.run("batch")


def test_starting_the_same_unit_twice_runs_it_once(batch: dict[str, Any]) -> None:
    started = batch["idempotent_start"]
    assert started["ids"] == [started["ids"][0]] * 3
    assert started["ids"][0].startswith("test:") and started["ids"][0].endswith(":order-1")
    assert started["results"] == ["done:order-1"] * 3
    assert started["traces"] == ["ran:order-1"]
    assert started["retried"] == ["done:order-1", ["ran:order-1", "ran:order-1"]]


def test_each_integration_is_a_partition_with_its_own_concurrency(batch: dict[str, Any]) -> None:
    peaks = batch["partitions"]
    assert (peaks["first"], peaks["second"]) == (2, 2)   # unit_concurrency=2 per integration
    assert peaks["together"] > 2                          # the partitions run side by side


def test_workflow_data_is_stored_as_json_never_pickled(batch: dict[str, Any]) -> None:
    assert batch["serialization"]["formats"] == ["portable_json"]


def test_outcomes_count_attempts_and_respect_metadata_only(batch: dict[str, Any]) -> None:
    records = batch["units_records"]
    assert records["full"] | {"integration_id": 0} == {
        "integration_id": 0, "outcome": "needs_attention", "reason": "article X unknown", "attempts": 2,
        "payload_in": {"n": 1}, "payload_out": {"ORD_NR": 1}}
    assert records["bare"]["payload_in"] is None and records["bare"]["payload_out"] is None
    assert records["bare"]["reason"] == "article X unknown" and records["bare"]["attempts"] == 2
    assert records["statuses"] == ["succeeded", "partial", "failed"]
    assert records["runs"] == 3
    assert records["outcomes"] == ["needs_attention", None]


def test_one_link_wins_when_many_write_at_once(batch: dict[str, Any]) -> None:
    links = batch["links"]
    assert links["rows"] == 1
    assert links["targets"] == [links["winner"]]  # every writer got the one link that stands
    assert links["by_target"] == "1001"
    assert links["hash"] == "abc"
    assert links["missing"] is None
    assert links["forgot"] is True and links["after"] is None


def test_cursors_never_move_backwards(batch: dict[str, Any]) -> None:
    cursors = batch["cursors"]
    assert cursors["first"] is None
    assert cursors["steps"] == ["5", "5", "10", "10"]
    # 12:00+01:00 is 11:00 UTC: later than 10:00 UTC, earlier than 11:30 UTC; naive times are UTC.
    assert cursors["stamps"] == ["2026-11-26T10:00:00+00:00", "2026-11-26T10:00:00+00:00",
                                 "2026-11-26T12:00:00+01:00", "2026-11-26T11:30:00Z",
                                 "2026-11-26T11:45:00", "2026-11-26T11:45:00"]
    assert cursors["race"] == "7"
    assert cursors["concurrent_errors"] == []


def test_schedule_edits_apply_at_the_next_tick(batch: dict[str, Any]) -> None:
    schedules = batch["schedules"]
    first = schedules["first"]
    assert sorted(map(len, first)) in ([0, 1], [1, 1])  # two schedulers at once …
    assert len({w for started in first for w in started}) == 1  # … start one run
    assert schedules["same_slot"] == []
    assert len(schedules["faster"]) == 1 and len(schedules["next_slot"]) == 1
    assert schedules["disabled"] == []
    assert schedules["ticks"] == 3
    assert schedules["active"] is False


def test_a_workers_scheduler_starts_a_run_in_each_slot(batch: dict[str, Any]) -> None:
    assert batch["scheduler_thread"]["ticks"] >= 2


def test_retention_deletes_what_is_older_and_keeps_what_is_newer(batch: dict[str, Any]) -> None:
    kept = batch["retention"]
    assert kept["kept_short"] == ["age-0"]                      # retention 1 day
    assert kept["kept_long"] == ["age-0", "age-2", "age-20"]    # retention 30 days
    assert (kept["runs_short"], kept["runs_long"]) == (1, 3)
    assert kept["workflows_now"] == 1 and kept["purged_now"]["workflows"] == 0
    assert kept["purged_later"]["workflows"] >= 1 and kept["workflows_later"] == 0
    assert kept["purged_offline"]["workflows"] == 1


@pytest.mark.slow
def test_killed_worker_resumes_its_workflow_without_repeating_finished_steps(backend: Backend) -> None:
    worker = backend.spawn("crash_worker", "worker-1", "order-9", "start")
    backend.wait_for("two:start:order-9")
    kill(worker)
    restarted = backend.run("crash_worker", "worker-1", "order-9", "wait")
    assert restarted == {"result": ["one", "two", "three"], "executor": "worker-1"}
    traces = backend.traces()
    assert traces.count("one:order-9") == 1          # finished before the kill: not run again
    assert traces.count("two:start:order-9") == 2    # killed mid-step: run again
    assert traces.count("two:end:order-9") == 1
    assert traces.count("three:order-9") == 1


@pytest.mark.slow
@pytest.mark.postgres
def test_survivor_takes_over_the_work_of_a_dead_worker(tmp_path: Path,
                                                       postgres_server: PostgresServer) -> None:
    backend = make_backend("postgres", tmp_path, lambda: postgres_server)
    doomed = backend.spawn("crash_worker", "doomed", "order-7", "start")
    backend.wait_for("two:start:order-7")
    survivor = backend.spawn("crash_worker", "survivor", "order-7", "wait")
    backend.wait_for("ready:survivor")
    kill(doomed)
    assert backend.result(survivor) == {"result": ["one", "two", "three"], "executor": "survivor"}
    traces = backend.traces()
    events = ("one", "two:start", "two:end", "three")
    assert [traces.count(f"{event}:order-7") for event in events] == [1, 2, 1, 1]
