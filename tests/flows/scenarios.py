"""The orders flow on the real engine, in child processes (from the session's fork server,
tests/sync/forks.py): the sandboxes keep running in the test process (threads serving HTTP), so a
child can be SIGKILLed and another started, and the test checks what AccountView holds afterwards.

A child gets its environment (KOPPEL_DATA_DIR, KOPPEL_DATABASE_URL …), sets up Django and DBOS from
it, runs one scenario and writes its JSON result to a file.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koppel.errors import Outcome
from koppel.sync.engine import EngineOptions

FAST = EngineOptions(
    polling_interval=0.1,
    heartbeat_interval=0.3,
    executor_timeout=2.0,
    unit_concurrency=4,
    unit_rate_limit=200,
    worker_concurrency=8,
)
_forks = multiprocessing.get_context("forkserver")
OUTCOMES = [o.value for o in Outcome]


@dataclass
class Child:
    process: Any
    result: Path
    log: Path

    def wait(self, timeout: float = 120) -> dict[str, Any]:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        if self.process.exitcode != 0 or not self.result.exists():
            raise AssertionError(f"scenario failed ({self.process.exitcode}):\n{self.log.read_text()[-4000:]}")
        return json.loads(self.result.read_text())  # type: ignore[no-any-return]

    def kill(self) -> None:
        self.process.kill()
        self.process.join()


def spawn(env: dict[str, str], directory: Path, name: str, *args: Any, scenarios: str = __name__) -> Child:
    """Run the scenario `name` of the module `scenarios` (its SCENARIOS table) in a forked child."""
    stem = directory / f"{name}-{time.monotonic_ns()}"
    child = Child(None, stem.with_suffix(".json"), stem.with_suffix(".log"))
    child.process = _forks.Process(target=_child,
                                   args=(env, str(child.log), str(child.result), scenarios, name, *args))
    child.process.start()
    return child


def _child(env: dict[str, str], log: str, result: str, scenarios: str, name: str, *args: Any) -> None:
    from koppel.settings import get_settings

    for key in [key for key in os.environ if key.startswith("KOPPEL_")]:
        del os.environ[key]
    os.environ.update(env)
    get_settings.cache_clear()
    with open(log, "a") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    from koppel.core import setup

    setup()
    outcome = importlib.import_module(scenarios).SCENARIOS[name](*args)
    Path(result).write_text(json.dumps(outcome, default=repr))
    os._exit(0)  # leave at once: the engine's threads are shut down, nothing else to wait for


# ---- scenarios -----------------------------------------------------------------------------------------


def make_integration(name: str, shop: dict[str, str], books: dict[str, Any], orders: dict[str, Any]) -> dict:
    """Migrate, then store the connections (secrets encrypted) and the integration."""
    from django.core.management import call_command

    from koppel.core.accounts.models import Workspace
    from koppel.core.integrations.models import Connection, Integration

    call_command("migrate", interactive=False, verbosity=0)
    workspace, _ = Workspace.objects.get_or_create(name="flows")
    mww = Connection(
        workspace=workspace,
        name="shop",
        system="mijnwebwinkel",
        settings={"base_url": shop["url"], "rate_per_second": 1000},
    )
    mww.credentials = {"token": shop["token"], "partner_token": shop["partner_token"]}
    mww.save()
    av = Connection(
        workspace=workspace,
        name="books",
        system="accountview",
        settings={"base_url": books["url"], "company_id": books["company_id"], "rate_per_second": 1000},
    )
    av.credentials = {
        "client_id": books["client_id"],
        "client_secret": books["client_secret"],
        "tokens": books["tokens"],
    }
    av.save()
    integration = Integration.objects.create(
        workspace=workspace, name=name, shop=mww, books=av, flows={"orders": orders}
    )
    return {"integration_id": integration.pk}


def worker(executor_id: str, integration_id: int, run_id: str, full: bool = False) -> dict[str, Any]:
    """A worker that starts (or, restarted, resumes) the run `run_id` and waits for it."""
    from koppel.sync import engine, units

    engine.launch(executor_id=executor_id, options=FAST)
    prefix = units.run_id_prefix("orders", integration_id)
    outcome = units.start_flow_run("orders", integration_id, full=full, workflow_id=prefix + run_id).get_result()
    engine.shutdown()
    records = outcome.get("records", [])
    counts = {o: sum(1 for r in records if r["outcome"] == o) for o in OUTCOMES}
    return {"counts": counts, "records": records, "error": outcome.get("error", "")}


def sync_command(name: str, full: bool = False) -> dict[str, Any]:
    """What `koppel sync orders --integration NAME` does: `run_flow`, with progress."""
    from koppel.sync.runner import run_flow

    events: list[list[int]] = []
    summary = run_flow("orders", name, full=full, progress=lambda e: events.append([e.done, e.total]))
    return {**summary.as_json(), "progress": events}


def retry_command(name: str, *numbers: str) -> dict[str, Any]:
    """What `koppel retry orders NUMBER… --integration NAME` does."""
    from koppel.sync.runner import retry_flow

    return retry_flow("orders", name, list(numbers)).as_json()


def activity(integration_id: int) -> dict[str, Any]:
    """What the database remembers of the integration's runs."""
    from koppel.core.activity.models import Activity, Link, Run
    from koppel.core.integrations.models import Integration

    rows = Activity.objects.filter(integration_id=integration_id, entity="order")
    sent = rows.filter(outcome="sent").values_list("payload_out", flat=True).first()
    return {
        "activity": {row.key: [row.outcome, row.attempts, row.reason] for row in rows},
        "sent_payload": sent,
        "links": sorted(
            Link.objects.filter(integration_id=integration_id, entity="order").values_list("source_key", flat=True)
        ),
        "runs": list(Run.objects.filter(integration_id=integration_id).order_by("pk").values_list("status", flat=True)),
        "refresh_token": Integration.objects.get(pk=integration_id).books.credentials.get("refresh_token", ""),
    }


SCENARIOS = {
    "make_integration": make_integration,
    "worker": worker,
    "sync_command": sync_command,
    "retry_command": retry_command,
    "activity": activity,
}
