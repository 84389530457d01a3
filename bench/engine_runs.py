"""The engine's own record of the latest flow run, for the benches that run real `koppel sync` processes
(bench/engine.py, bench/stock.py): the run's workflow and its units, read from DBOS's system database."""

from __future__ import annotations

import statistics
from typing import Any


def latest_run_and_units() -> tuple[Any, list[Any]]:
    """The newest run workflow and the unit workflows it started (DBOS WorkflowStatus objects)."""
    from dbos import DBOSClient, DBOSPortableJSONSerializer

    from koppel.settings import get_settings
    from koppel.sync import engine

    client = DBOSClient(system_database_url=engine.system_database_url(get_settings()),
                        serializer=DBOSPortableJSONSerializer(), application_name=engine.APP_NAME)
    try:
        runs = client.list_workflows(queue_name=engine.RUN_QUEUE, sort_desc=True, limit=1,
                                     load_input=False, load_output=False)
        units = client.list_workflows(parent_workflow_id=runs[0].workflow_id, load_input=False,
                                      load_output=False)
    finally:
        client.destroy()
    return runs[0], units


def unit_medians(units: list[Any]) -> dict[str, float]:
    """Medians over units: waiting in the queue, then running (seconds)."""
    waits = [(u.dequeued_at - u.created_at) / 1000 for u in units if u.dequeued_at and u.created_at]
    spans = [(u.completed_at - u.dequeued_at) / 1000 for u in units if u.completed_at and u.dequeued_at]
    return {"unit queued, median (s)": statistics.median(waits) if waits else 0.0,
            "unit running, median (s)": statistics.median(spans) if spans else 0.0}
