"""Sync now, from a process that runs no engine (the dashboard): a run of a flow is queued for the workers,
exactly as the scheduler queues one, and followed from the database; the web never runs a flow itself.

The run is enqueued through a DBOS client, which only writes the queued workflow into the system database:
a running worker (`koppel worker`, `koppel run`, or a one-off `koppel sync`) picks it up; with none running
it waits in the queue until one starts. One run per integration and flow: a click while one is queued or
going follows that run, and two clicks at once queue one run (a deduplication id on the queue).

Progress is read from Koppel's database, never from a worker's memory: the runner stores a run's total on
its Run when it has listed the records (`counts["total"]`), and what is done is counted from the activity
rows the run has written (one indexed COUNT per look, no write per record added).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from dbos import DBOS, DBOSClient, DBOSPortableJSONSerializer, EnqueueOptions
from django.db.models import Count
from django.utils import timezone

from koppel.core.activity.models import Activity, Executor, RecordAction, Run
from koppel.settings import get_settings
from koppel.sync import engine, units

log = logging.getLogger(__name__)

WAITING = ["ENQUEUED", "PENDING", "DELAYED"]   # DBOS statuses of a run not finished yet
RUN_ENTITY = "run"  # RecordAction.entity of a sync now started by a person (Kind.SYNC): a run, not a record
FULL = "full resync"  # how its detail ends for a full resync ("sync now" otherwise)


@dataclass(frozen=True)
class Started:
    """The run a click on sync now follows; `new`: this click queued it (else one was queued or going)."""

    workflow_id: str
    new: bool


@dataclass
class RunProgress:
    """Where a run stands, as the dashboard shows it.

    `state`: queued (waiting for a worker, or for the flow's previous run), starting (a worker took it and
    is listing the records), running, finished, or unreadable (the queue can't be reached now; asked again
    at the next look); `total` is None until the records are listed.
    """

    workflow_id: str
    state: str
    run: Run | None = None
    total: int | None = None
    done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state == "finished"


# ---- the client ------------------------------------------------------------------------------------

_clients: dict[str, DBOSClient] = {}
_clients_lock = threading.Lock()


def client() -> DBOSClient:
    """This process's DBOS client of the configured system database, made on first use. The system
    database is created or upgraded first (as a worker's launch does), so a dashboard started before any
    worker can queue a run all the same."""
    url = engine.system_database_url(get_settings())
    with _clients_lock:
        found = _clients.get(url)
        if found is None:
            try:
                DBOS.migrate(url)
            except Exception:  # e.g. no right to create it: a worker made it, or the client says why
                log.warning("could not create or upgrade the DBOS system database", exc_info=True)
            found = _clients[url] = DBOSClient(system_database_url=url, serializer=DBOSPortableJSONSerializer(),
                                               application_name=engine.APP_NAME)
        return found


# ---- starting --------------------------------------------------------------------------------------


def active_runs(integration_id: int, flows: list[str]) -> dict[str, str]:
    """Per flow, the workflow id of its oldest run for the integration that is queued or going (one read)."""
    if not flows:
        return {}
    prefixes = {units.run_id_prefix(flow, integration_id): flow for flow in flows}
    found: dict[str, str] = {}
    for status in client().list_workflows(workflow_id_prefix=list(prefixes), status=WAITING,
                                          load_input=False, load_output=False):
        flow = next(flow for prefix, flow in prefixes.items() if status.workflow_id.startswith(prefix))
        found.setdefault(flow, status.workflow_id)
    return found


def start(flow: str, integration_id: int, *, full: bool = False, by: str) -> Started:
    """Queue a run of `flow` for the integration (everything again with `full`), or follow the one queued
    or going. A run this call queued is written down with who asked for it."""
    going = active_runs(integration_id, [flow]).get(flow)
    if going:
        return Started(going, new=False)
    workflow_id = units.new_run_id(flow, integration_id)
    options: EnqueueOptions = {
        "workflow_name": units.run_workflow_name(flow),
        "queue_name": engine.RUN_QUEUE,
        "workflow_id": workflow_id,
        "queue_partition_key": units.run_partition(flow, integration_id),
        "app_version": get_settings().application_version,
        "application_name": engine.APP_NAME,
        # Two clicks at once: the second gets the first's run (released when it finishes).
        "deduplication_id": f"sync-now:{integration_id}:{flow}",
        "duplication_policy": "return-existing",
        "authenticated_user": by,
    }
    queued = client().enqueue(options, integration_id, full).get_workflow_id()
    if queued != workflow_id:
        return Started(queued, new=False)
    RecordAction.objects.create(integration_id=integration_id, entity=RUN_ENTITY, key=workflow_id,
                                kind=RecordAction.Kind.SYNC, by=by, detail=f"{flow}: {FULL if full else 'sync now'}",
                                at=timezone.now())
    return Started(workflow_id, new=True)


def started_by(integration_id: int, workflow_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Who started which of these runs from the dashboard, and how: workflow id → (user, detail)."""
    entries = RecordAction.objects.filter(integration_id=integration_id, entity=RUN_ENTITY,
                                          kind=RecordAction.Kind.SYNC, key__in=[w for w in workflow_ids if w])
    return {entry.key: (entry.by, entry.detail) for entry in entries}


def workers_running() -> bool:
    """Whether an engine of this version runs somewhere (it beat within an executor's timeout), so a
    queued run starts: a worker, `koppel run`, or a one-off command working the queue meanwhile."""
    if engine.is_running():
        return True
    since = timezone.now() - timedelta(seconds=engine.EngineOptions().executor_timeout)
    return Executor.objects.filter(last_seen_at__gte=since,
                                   application_version=get_settings().application_version).exists()


# ---- following -------------------------------------------------------------------------------------


def progress(integration_id: int, flow: str, workflow_id: str) -> RunProgress | None:
    """Where the run `workflow_id` stands (None: there is no such run of this flow and integration).

    Costs one read of the Run, and while it runs one COUNT of its activity and one read of its workflow's
    status (or one read of the queue before a worker opened the Run)."""
    if not workflow_id.startswith(units.run_id_prefix(flow, integration_id)):
        return None
    run = Run.objects.filter(integration_id=integration_id, flow=flow, workflow_id=workflow_id).order_by("-pk").first()
    if run is not None and run.finished_at is not None:
        counts = {k: int(v) for k, v in (run.counts or {}).items() if k != "total"}
        return RunProgress(workflow_id, "finished", run, sum(counts.values()), sum(counts.values()), counts,
                           run.error)
    if run is not None:
        counts = dict(Activity.objects.filter(run=run).values_list("outcome").annotate(n=Count("pk")))
        total = (run.counts or {}).get("total")
        state = "running" if total is not None else "starting"
        ended = _ended(workflow_id)
        if ended is not None:  # the workflow ended without closing its Run (cancelled, or it kept crashing)
            return RunProgress(workflow_id, "finished", run, total, sum(counts.values()), counts, ended)
        return RunProgress(workflow_id, state, run, total, sum(counts.values()), counts)
    return _before_the_run(workflow_id)


def _ended(workflow_id: str) -> str | None:
    """Why the workflow of a Run still open ended, or None while it goes (one read by its id)."""
    try:
        found: list[Any] = client().list_workflows(workflow_ids=[workflow_id], load_input=False, load_output=False)
    except Exception:  # the queue can't be reached: the Run says it goes, and the next look asks again
        log.warning("could not read the status of workflow %s", workflow_id, exc_info=True)
        return None
    if not found or found[0].status not in engine.FINISHED:
        return None
    # Read again: the run closes its Run just before its workflow ends.
    if Run.objects.filter(workflow_id=workflow_id, finished_at__isnull=False).exists():
        return None
    return str(found[0].error or f"the run stopped ({found[0].status.lower()}) before it could finish")


def _before_the_run(workflow_id: str) -> RunProgress | None:
    """A run no worker has opened yet: queued, just taken, or ended before it could open its Run."""
    try:
        found: list[Any] = client().list_workflows(workflow_ids=[workflow_id], load_input=False, load_output=False)
    except Exception:
        log.warning("could not read the status of workflow %s", workflow_id, exc_info=True)
        return RunProgress(workflow_id, "unreadable")
    if not found:
        return None
    status = found[0]
    if status.status in ("ENQUEUED", "DELAYED"):
        return RunProgress(workflow_id, "queued")
    if status.status == "PENDING":
        return RunProgress(workflow_id, "starting")
    return RunProgress(workflow_id, "finished", error=str(status.error or ""))
