"""The products flow in child processes (tests/flows/scenarios.py's `spawn`), on the database's links: the
sandboxes keep running in the test process, each child is a worker on its own machine."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def make_category(integration_id: int, key: str, barrier: str) -> dict[str, Any]:
    """Read the catalogue, say so and wait for the go (files in `barrier`), then sync one unit, as a worker
    would."""
    from koppel.flows.products import ProductsFlow
    from koppel.flows.products_settings import ProductsSettings
    from koppel.sync.clients import integration_clients
    from koppel.sync.links import EngineLinks

    wiring = integration_clients(integration_id)
    flow = ProductsFlow(wiring.shop, wiring.books, ProductsSettings(), EngineLinks(integration_id))
    flow.fetch(None)
    (Path(barrier) / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while not (Path(barrier) / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    record = flow.sync(key)
    return {"outcome": record.outcome.value, "reason": str(record.reason), "target": record.target_key}


SCENARIOS = {"make_category": make_category}
