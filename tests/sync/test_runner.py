"""The one runner, driving a throw-away flow (tests/sync/toy_flow.py) in child processes, on SQLite and
on PostgreSQL: a process killed right after a remote write, the next `koppel sync` taking its work
over at once, unexpected errors, links left without activity, invalid settings."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest

from tests.sync.conftest import Backend


def toy(backend: Backend, **settings: Any) -> int:
    return int(backend.run("toy_integration", json.dumps(settings))["integration_id"])


def outcomes(summary: dict[str, Any]) -> dict[str, str]:
    return {r["key"]: r["outcome"] for r in summary["records"]}


@pytest.mark.slow
def test_a_sync_killed_after_a_remote_write_is_finished_by_the_next_exactly_once(backend: Backend) -> None:
    toy(backend, records=8, pause=0.2, die_after_write="3")
    doomed = backend.spawn("toy_sync")
    doomed.process.join(60)
    assert doomed.process.exitcode == -signal.SIGKILL
    killed = backend.run("toy_state")
    assert ["3", str(doomed.process.pid)] in killed["writes"]
    # The record's link and its activity are one transaction: the kill left neither.
    assert "3" not in killed["links"] and "3" not in killed["activity"]
    assert [run["status"] for run in killed["runs"]] == ["running"]

    # The next sync's engine would wait an hour for a silent executor: it finishes only by taking the
    # dead process's work over at once.
    resumed = backend.run("toy_sync")
    assert outcomes(resumed) == {str(n): "skipped" if n == 3 else "sent" for n in range(1, 9)}
    assert next(r for r in resumed["records"] if r["key"] == "3")["reason"] == "found in the remote system"
    assert resumed["counts"]["sent"] == 7 and resumed["error"] == ""
    left_by_the_dead = [key for key, executor in resumed["units"].items() if executor == resumed["executor"]]
    assert {"3", "4", "5", "6", "7", "8"} <= set(left_by_the_dead)

    final = backend.run("toy_state")
    written = [key for key, _ in final["writes"]]
    assert sorted(written, key=int) == [str(n) for n in range(1, 9)]  # each record written once
    assert {key for key, pid in final["writes"] if pid == str(resumed["pid"])} >= {"4", "5", "6", "7", "8"}
    assert final["links"] == sorted(str(n) for n in range(1, 9))
    assert final["activity"]["3"] == ["skipped", "found in the remote system"]
    assert set(final["activity"]) == set(final["links"])
    (run,) = final["runs"]
    assert run["status"] == "succeeded" and run["counts"]["sent"] == 7 and run["counts"]["skipped"] == 1


@pytest.mark.slow  # three engine processes (Django, DBOS, a fresh database): ~9 s of CPU
def test_an_unexpected_error_parks_its_record_and_a_link_without_activity_is_healed(backend: Backend) -> None:
    toy(backend, records=4, explode=["2"], linked=["3"])
    summary = backend.run("toy_sync")
    assert outcomes(summary) == {"1": "sent", "2": "needs_attention", "3": "skipped", "4": "sent"}
    parked = next(r for r in summary["records"] if r["key"] == "2")
    assert "InvalidOperation" in parked["reason"] and "parked" in parked["reason"]
    state = backend.run("toy_state")
    assert state["activity"]["2"][0] == "needs_attention"
    assert state["activity"]["3"] == ["skipped", "linked before"]  # healed: the link had no activity
    assert [key for key, _ in state["writes"]] == ["1", "4"]
    (run,) = state["runs"]
    assert run["status"] == "partial" and run["counts"]["needs_attention"] == 1 and run["error"] == ""


@pytest.mark.slow  # three engine processes, as above
def test_invalid_settings_fail_the_run_naming_the_setting(backend: Backend) -> None:
    toy(backend, records=0)
    summary = backend.run("toy_sync")
    assert summary["records"] == [] and "records" in summary["error"]
    assert "greater than or equal to 1" in summary["error"] and "value 0" in summary["error"]
    (run,) = backend.run("toy_state")["runs"]
    assert run["status"] == "failed" and run["error"] == summary["error"]
