"""Workflows the engine tests run in child processes; each leaves a trace in a file outside the
process (KOPPEL_TEST_TRACE), so a test can count what really ran, across crashes."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

from koppel.sync import units


def trace(event: str) -> None:
    with Path(os.environ["KOPPEL_TEST_TRACE"]).open("a") as handle:
        handle.write(event + "\n")


def traces() -> list[str]:
    path = Path(os.environ["KOPPEL_TEST_TRACE"])
    return path.read_text().splitlines() if path.exists() else []


@units.unit_of_work("test")
def count_once(integration_id: int, key: str) -> str:
    trace(f"ran:{key}")
    time.sleep(0.3)  # long enough for a second start to arrive while this one runs
    return f"done:{key}"


_running: Counter[int] = Counter()
peaks: Counter[int] = Counter()   # most units of one integration seen running at once (0: all)
_lock = threading.Lock()


@units.unit_of_work("test")
def busy(integration_id: int, key: str) -> None:
    with _lock:
        _running[integration_id] += 1
        peaks[integration_id] = max(peaks[integration_id], _running[integration_id])
        peaks[0] = max(peaks[0], sum(_running.values()))
    time.sleep(0.4)
    with _lock:
        _running[integration_id] -= 1


@units.step()
def step_one(key: str) -> str:
    trace(f"one:{key}")
    return "one"


@units.step()
def step_two(key: str) -> str:
    trace(f"two:start:{key}")
    if traces().count(f"two:start:{key}") == 1:
        time.sleep(300)  # the first attempt hangs here until the test kills its process
    trace(f"two:end:{key}")
    return "two"


@units.step()
def step_three(key: str) -> str:
    trace(f"three:{key}")
    return "three"


@units.unit_of_work("test")
def three_steps(integration_id: int, key: str) -> list[str]:
    return [step_one(key), step_two(key), step_three(key)]


@units.flow_run("tick")
def run_tick(integration_id: int, full: bool) -> dict[str, int]:
    run_id = units.start_run(integration_id, "tick")
    note_tick(integration_id)
    counts = {"sent": 1}
    units.finish_run(run_id, counts)
    return counts


@units.step()
def note_tick(integration_id: int) -> None:
    trace(f"tick:{integration_id}")
