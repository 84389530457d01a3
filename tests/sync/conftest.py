"""Engine tests run their scenarios (tests/sync/scenarios.py) in child processes, once on SQLite
and once on the PostgreSQL server of the test session.

Children are forked from a multiprocessing fork server that imported the scenarios (DBOS,
SQLAlchemy, Django's ORM) once: a child then starts in a fraction of the seconds a fresh
interpreter needs. Each child configures Django and DBOS from its own environment.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import PostgresServer
from tests.sync import scenarios
from tests.sync.forks import start_fork_server

_forks = multiprocessing.get_context("forkserver")


@pytest.fixture(scope="session", autouse=True)
def _fork_server() -> None:
    start_fork_server(["tests.sync.scenarios", "tests.sync.workflows", "tests.sync.toy_flow"])


@dataclass
class Child:
    process: Any  # multiprocessing's Process of the forkserver context
    result: Path
    log: Path


@dataclass
class Backend:
    """Where one test's engine keeps its data, and how to run scenarios against it."""

    name: str
    env: dict[str, str]
    trace: Path
    logs: Path

    def traces(self) -> list[str]:
        return self.trace.read_text().splitlines() if self.trace.exists() else []

    def spawn(self, scenario: str, *args: str) -> Child:
        stem = self.logs / f"{scenario}-{'-'.join(args)}-{time.monotonic_ns()}"
        child = Child(process=None, result=stem.with_suffix(".json"), log=stem.with_suffix(".log"))
        child.process = _forks.Process(target=scenarios.child, daemon=False,
                                       args=(self.env, str(child.log), str(child.result), scenario, *args))
        child.process.start()
        return child

    def result(self, child: Child, timeout: float = 90) -> dict[str, Any]:
        child.process.join(timeout)
        if child.process.is_alive():
            child.process.kill()
            child.process.join()
        if child.process.exitcode != 0 or not child.result.exists():
            logs = "\n".join(f"== {path.name}\n{path.read_text()[-3000:]}"
                             for path in sorted(self.logs.glob("*.log")))
            pytest.fail(f"scenario failed (exit code {child.process.exitcode}):\n{logs}")
        return json.loads(child.result.read_text())  # type: ignore[no-any-return]

    def run(self, scenario: str, *args: str, timeout: float = 90) -> dict[str, Any]:
        return self.result(self.spawn(scenario, *args), timeout)

    def wait_for(self, event: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while event not in self.traces():
            if time.monotonic() > deadline:
                pytest.fail(f"no {event!r} within {timeout}s; traces: {self.traces()}")
            time.sleep(0.05)


def kill(child: Child) -> None:
    """SIGKILL: no clean-up, no goodbye, like a machine that loses power."""
    child.process.kill()
    child.process.join()


def make_backend(name: str, directory: Path, postgres: Callable[[], PostgresServer]) -> Backend:
    directory.mkdir(parents=True, exist_ok=True)
    env = {"KOPPEL_DATA_DIR": str(directory / "var"), "KOPPEL_TEST_TRACE": str(directory / "trace"),
           "KOPPEL_TEST_REMOTE": str(directory / "remote"), "KOPPEL_LOG_LEVEL": "WARNING"}
    if name == "postgres":
        env["KOPPEL_DATABASE_URL"] = postgres().create_database()
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    return Backend(name=name, env=env, trace=directory / "trace", logs=logs)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh database for this test, on SQLite and then on PostgreSQL."""
    yield make_backend(request.param, tmp_path, lambda: request.getfixturevalue("postgres_server"))
