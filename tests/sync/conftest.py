"""Engine tests run their scenarios (tests/sync/scenarios.py) in child processes, once on SQLite
and once on the PostgreSQL server of the test session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Backend:
    """Where one test's engine keeps its data, and how to run scenarios against it."""

    name: str
    env: dict[str, str]
    trace: Path
    logs: Path

    def traces(self) -> list[str]:
        return self.trace.read_text().splitlines() if self.trace.exists() else []

    def spawn(self, scenario: str, *args: str) -> subprocess.Popen[str]:
        log = (self.logs / f"{scenario}-{'-'.join(args)}-{time.monotonic_ns()}.log").open("w")
        return subprocess.Popen([sys.executable, "-m", "tests.sync.scenarios", scenario, *args], cwd=ROOT,
                                env=self.env, stdout=subprocess.PIPE, stderr=log, text=True)

    def result(self, process: subprocess.Popen[str], timeout: float = 90) -> dict:
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        if process.returncode != 0 or not lines:
            logs = "\n".join(path.read_text()[-3000:] for path in sorted(self.logs.iterdir()))
            pytest.fail(f"scenario failed ({process.returncode}):\n{out[-2000:]}\n{logs}")
        return json.loads(lines[-1].removeprefix("RESULT "))

    def run(self, scenario: str, *args: str, timeout: float = 90) -> dict:
        return self.result(self.spawn(scenario, *args), timeout)

    def wait_for(self, event: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while event not in self.traces():
            if time.monotonic() > deadline:
                pytest.fail(f"no {event!r} within {timeout}s; traces: {self.traces()}")
            time.sleep(0.05)


def kill(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()


def make_backend(name: str, directory: Path, postgres: Callable[[], PostgresServer]) -> Backend:
    directory.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOPPEL_")}
    env |= {"KOPPEL_DATA_DIR": str(directory / "var"), "KOPPEL_TEST_TRACE": str(directory / "trace"),
            "KOPPEL_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    if name == "postgres":
        env["KOPPEL_DATABASE_URL"] = postgres().create_database()
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    return Backend(name=name, env=env, trace=directory / "trace", logs=logs)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh database for this test, on SQLite and then on PostgreSQL."""
    yield make_backend(request.param, tmp_path, lambda: request.getfixturevalue("postgres_server"))

