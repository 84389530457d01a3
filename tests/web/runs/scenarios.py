"""A worker for the sync now tests, in a child from the session's fork server (tests/flows/scenarios.py
spawns it): the engine of a `koppel worker`, without the scheduler, until the test drops a stop file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.flows.scenarios import FAST


def worker(executor_id: str, stop_file: str) -> dict[str, Any]:
    from koppel.sync import engine

    engine.launch(executor_id=executor_id, options=FAST)
    while not Path(stop_file).exists():
        time.sleep(0.1)
    engine.shutdown()
    return {}


SCENARIOS = {"worker": worker}
