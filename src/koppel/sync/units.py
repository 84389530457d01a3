"""The small typed API flows use to be durable: declare flow runs, units of work and steps; start
them with deterministic ids; record each record's outcome; read and advance cursors; look up and
write links; open and close runs. Flows never touch SQL, the ORM or DBOS directly.

Reads and writes here are DBOS steps when called from a workflow, so a resumed workflow sees what
it saw before and does not write twice; called from inside a step, or outside any workflow, they
are plain calls. Workflow and step arguments and results are stored (as JSON) by DBOS: pass ids
and keys, never customer data.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Concatenate, ParamSpec, TypeVar

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID, WorkflowHandle
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from koppel.errors import KoppelError, Outcome, RetryableError
from koppel.reasons import as_args
from koppel.sync import changes
from koppel.sync.engine import FINISHED, RUN_QUEUE, UNIT_QUEUE
from koppel.sync.links import Link, run_status

P = ParamSpec("P")
R = TypeVar("R")
Unit = Callable[Concatenate[int, str, P], R]      # (integration_id, key, …ids) → result
FlowRun = Callable[[int, bool], dict[str, Any]]   # (integration_id, full) → counts per outcome, …


# ---- declaring and starting work -------------------------------------------------------------

_unit_flows: dict[Callable[..., Any], str] = {}
_flow_runs: dict[str, FlowRun] = {}


def unit_of_work(flow: str, name: str | None = None) -> Callable[[Unit[P, R]], Unit[P, R]]:
    """Declare a unit-of-work workflow of `flow`, taking (integration_id, key, …ids).

    Its workflow name (`flow.name`) is stored with each workflow for recovery: keep it stable.
    """
    def declare(fn: Unit[P, R]) -> Unit[P, R]:
        workflow = DBOS.workflow(name=f"{flow}.{name or fn.__name__}")(fn)
        _unit_flows[workflow] = flow
        return workflow
    return declare


def flow_run(flow: str) -> Callable[[FlowRun], FlowRun]:
    """Declare the workflow that runs `flow` once for an integration: (integration_id, full) → a
    JSON summary (counts per outcome, and whatever else the flow reports).

    The scheduler and `koppel sync` start it by flow name; the function opens and closes its Run.
    """
    def declare(fn: FlowRun) -> FlowRun:
        workflow = DBOS.workflow(name=run_workflow_name(flow))(fn)
        _flow_runs[flow] = workflow
        return workflow
    return declare


def step(*, retries: int = 0, interval_seconds: float = 1.0, backoff_rate: float = 2.0,
         name: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a step: its result is checkpointed, so a resumed workflow does not run it again.

    A step may run more than once if its process dies mid-way: steps that write remotely look for
    their own earlier success first. `retries` retries `RetryableError` only, with backoff; other
    errors (needs attention, broken connection) are not retried.
    """
    def declare(fn: Callable[P, R]) -> Callable[P, R]:
        return DBOS.step(name=name or f"{fn.__module__}.{fn.__qualname__}", retries_allowed=retries > 0,
                         max_attempts=retries + 1, interval_seconds=interval_seconds,
                         backoff_rate=backoff_rate,
                         should_retry=lambda error: isinstance(error, RetryableError))(fn)
    return declare


def flows() -> list[str]:
    """Names of the flows whose run workflow is declared (imported) in this process."""
    return sorted(_flow_runs)


def unit_id(flow: str, integration_id: int, key: str) -> str:
    """The workflow id of one unit of work, e.g. `orders:3:100234`: the same record, the same id."""
    return f"{flow}:{integration_id}:{key}"


def run_id_prefix(flow: str, integration_id: int) -> str:
    return f"run:{flow}:{integration_id}:"


def run_workflow_name(flow: str) -> str:
    """The DBOS name of a flow's run workflow, e.g. `orders.run` (stored with each run: keep it stable)."""
    return f"{flow}.run"


def run_partition(flow: str, integration_id: int) -> str:
    """The partition of the run queue a flow's runs for an integration wait in: one runs at a time."""
    return f"{integration_id}:{flow}"


def new_run_id(flow: str, integration_id: int) -> str:
    """A fresh workflow id for a run started now (by a person or a command, not the scheduler's slot)."""
    return f"{run_id_prefix(flow, integration_id)}{timezone.now():%Y%m%dT%H%M%S.%fZ}"


def start_unit(unit: Unit[P, R], integration_id: int, key: str,
               *args: P.args, **kwargs: P.kwargs) -> WorkflowHandle[R]:
    """Queue one unit of work on its integration's partition; starting it again returns the first.

    Works from a workflow (the start is recorded: a resumed run does not start it twice) and from
    plain code.
    """
    with SetWorkflowID(_unit_id_of(unit, integration_id, key)), \
            SetEnqueueOptions(queue_partition_key=str(integration_id)):
        return DBOS.enqueue_workflow(UNIT_QUEUE, unit, integration_id, key, *args, **kwargs)


def _unit_id_of(unit: Callable[..., Any], integration_id: int, key: str) -> str:
    flow = _unit_flows.get(unit)
    if flow is None:
        raise ValueError(f"{getattr(unit, '__name__', unit)!r} is not declared with @unit_of_work")
    return unit_id(flow, integration_id, key)


def restart_unit(unit: Unit[P, R], integration_id: int, key: str,
                 *args: P.args, **kwargs: P.kwargs) -> WorkflowHandle[R]:
    """Run a unit of work again although it ran before: a person's retry, or a record whose last
    outcome was retry. A unit still queued or running is left alone and returned."""
    workflow_id = _unit_id_of(unit, integration_id, key)
    status = DBOS.get_workflow_status(workflow_id)
    if status is not None and status.status not in FINISHED:
        return DBOS.retrieve_workflow(workflow_id)
    if status is not None:
        DBOS.delete_workflow(workflow_id)
    return start_unit(unit, integration_id, key, *args, **kwargs)


def start_flow_run(flow: str, integration_id: int, *, full: bool = False,
                   workflow_id: str | None = None) -> WorkflowHandle[dict[str, Any]]:
    """Queue a run of `flow` for an integration; one run per (integration, flow) runs at a time.

    `workflow_id` must start with `run_id_prefix(flow, integration_id)`; the scheduler gives one per
    time slot, so two schedulers start each slot once.
    """
    workflow = _flow_runs.get(flow)
    if workflow is None:
        raise LookupError(f"no flow {flow!r} is declared; known: {', '.join(flows()) or 'none'}")
    prefix = run_id_prefix(flow, integration_id)
    workflow_id = workflow_id or new_run_id(flow, integration_id)
    if not workflow_id.startswith(prefix):
        raise ValueError(f"workflow id {workflow_id!r} must start with {prefix!r}")
    with SetWorkflowID(workflow_id), SetEnqueueOptions(queue_partition_key=run_partition(flow, integration_id)):
        return DBOS.enqueue_workflow(RUN_QUEUE, workflow, integration_id, full)


def run_active(flow: str, integration_id: int) -> bool:
    """Whether a run of `flow` for the integration is queued or running."""
    return active_run(flow, integration_id) is not None


def active_run(flow: str, integration_id: int) -> str | None:
    """The workflow id of the oldest run of `flow` for the integration that is queued or running."""
    found = DBOS.list_workflows(workflow_id_prefix=run_id_prefix(flow, integration_id),
                                status=["ENQUEUED", "PENDING", "DELAYED"],
                                load_input=False, load_output=False, limit=1)
    return found[0].workflow_id if found else None


# ---- database access ---------------------------------------------------------------------------

def _database_step(fn: Callable[P, R]) -> Callable[P, R]:
    """A step that uses the Django database from a DBOS worker thread, closing what it opened."""
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        finally:
            if not connection.in_atomic_block:
                close_old_connections()
    return DBOS.step(name=f"koppel.sync.{fn.__name__}")(wrapper)


# ---- runs --------------------------------------------------------------------------------------

@_database_step
def start_run(integration_id: int, flow: str) -> int:
    """Open a Run of `flow` for this workflow; returns its id."""
    from koppel.core.activity.models import Run

    run = Run.objects.create(integration_id=integration_id, flow=flow, workflow_id=DBOS.workflow_id or "",
                             started_at=timezone.now())
    return int(run.pk)


@_database_step
def announce_total(run_id: int, total: int) -> None:
    """Keep how many records a running run handles on its Run (`counts["total"]`), so other processes (the
    dashboard) show its progress; its counts per outcome replace it when the run closes."""
    from koppel.core.activity.models import Run

    Run.objects.filter(pk=run_id, finished_at__isnull=True).update(counts={"total": total})


@_database_step
def finish_run(run_id: int, counts: Mapping[str, int], error: str = "") -> str:
    """Close a Run with its counts per outcome; returns its status (failed, partial or succeeded). The API
    calls this process counted go to the daily totals now too (other processes add theirs within half a minute)."""
    from koppel.core.activity.models import Run
    from koppel.sync import api_usage

    status = run_status(dict(counts), error)
    Run.objects.filter(pk=run_id).update(status=status, counts=dict(counts), error=error, error_args=as_args(error),
                                         finished_at=timezone.now())
    api_usage.flush()
    return status


# ---- record outcomes ---------------------------------------------------------------------------

@_database_step
def record_outcome(integration_id: int, entity: str, key: str, outcome: Outcome | str, *,
                   reason: str = "", target_key: str = "", payload_in: Any = None, payload_out: Any = None,
                   run_id: int | None = None, link: bool = False, earlier_stands: bool = False,
                   measures: Mapping[str, Decimal] | None = None) -> int:
    """Remember what happened to one record: its latest outcome, with tries counted.

    `link`: link the record to `target_key` in the same transaction (a link already there stands),
    so a crash leaves both or neither. `earlier_stands`: write only when the record has no outcome
    yet (a link whose activity is missing is healed). `measures` are added to the integration's daily
    totals (`daily_totals`) once per record: when this call links it and it was never sent before (not on
    a retry, a step run again, or a resync after its link was forgotten). Payloads are dropped when the workspace keeps
    metadata only. A `reason` made with `koppel.reasons` keeps its translatable form in `reason_args`.
    Returns the attempts so far.
    """
    from koppel.core.activity.models import Activity
    from koppel.core.activity.models import Link as LinkRow
    from koppel.core.integrations.models import Integration

    if Integration.objects.filter(pk=integration_id, workspace__metadata_only=True).exists():
        payload_in = payload_out = None
    now = timezone.now()
    fields = {"outcome": Outcome(outcome).value, "reason": str(reason), "reason_args": as_args(reason),
              "target_key": target_key,
              "payload_in": payload_in, "payload_out": payload_out, "run_id": run_id, "updated_at": now}
    where = {"integration_id": integration_id, "entity": entity, "key": key}
    with transaction.atomic():
        earlier = Activity.objects.filter(**where)
        previous = earlier.values("outcome", "payload_out", "changes", "updated_at", "attempts").first()
        if link:
            try:
                with transaction.atomic():
                    LinkRow.objects.create(integration_id=integration_id, entity=entity, source_key=key,
                                           target_key=target_key)
            except IntegrityError:
                pass  # linked already (by an earlier try, or another worker): that link stands
            else:
                if measures and (previous is None or previous["outcome"] != Outcome.SENT.value):
                    from koppel.sync import daily_totals

                    daily_totals.add(integration_id, timezone.localdate(now), measures)
        if earlier_stands and previous is not None:
            return int(previous["attempts"])
        fields["changes"] = changes.kept_with(  # what changed since the last send (for the record's page)
            previous, Outcome(outcome) == Outcome.SENT, payload_out, now)
        if not earlier.update(attempts=F("attempts") + 1, **fields):
            try:
                with transaction.atomic():
                    Activity.objects.create(**where, **fields, attempts=1, created_at=now)
            except IntegrityError:  # recorded concurrently: count this try on that row
                Activity.objects.filter(**where).update(attempts=F("attempts") + 1, **fields)
        return int(Activity.objects.filter(**where).values_list("attempts", flat=True).get())


@_database_step
def read_outcome(integration_id: int, entity: str, key: str) -> str | None:
    """The latest outcome recorded for a record, or None if it was never tried."""
    from koppel.core.activity.models import Activity

    return Activity.objects.filter(integration_id=integration_id, entity=entity, key=key).values_list(
        "outcome", flat=True).first()


def record_error(integration_id: int, entity: str, key: str, error: KoppelError, *,
                 payload_in: Any = None, payload_out: Any = None, run_id: int | None = None) -> int:
    """Record a record that could not go, with the error's outcome and message as the reason."""
    return record_outcome(integration_id, entity, key, error.outcome, reason=str(error),
                          payload_in=payload_in, payload_out=payload_out, run_id=run_id)


# ---- cursors -----------------------------------------------------------------------------------

def _cursor_order(value: str) -> tuple[int, Any]:
    """How cursor values compare: as integers, else as timestamps, else as text."""
    try:
        return (0, int(value))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (1, moment if moment.tzinfo else timezone.make_aware(moment, UTC))
    except ValueError:
        return (2, value)


@_database_step
def read_cursor(integration_id: int, name: str) -> str | None:
    """Where the last run of this cursor got to, or None before the first."""
    from koppel.core.activity.models import Cursor

    return Cursor.objects.filter(integration_id=integration_id, name=name).values_list(
        "value", flat=True).first()


@_database_step
def advance_cursor(integration_id: int, name: str, value: str) -> str:
    """Move the cursor to `value` if that is further; never back. Returns the stored value.

    Advance only to what was processed: everything up to `value` must have an outcome recorded.
    """
    from koppel.core.activity.models import Cursor

    for _ in range(2):  # the second pass follows a concurrent first write
        try:
            with transaction.atomic():
                cursor, created = Cursor.objects.select_for_update().get_or_create(
                    integration_id=integration_id, name=name, defaults={"value": value})
                if not created and _cursor_order(value) > _cursor_order(cursor.value):
                    cursor.value = value
                    cursor.save(update_fields=["value", "updated_at"])
                return str(cursor.value)
        except IntegrityError:
            continue
    raise RuntimeError(f"cursor {name!r} of integration {integration_id} could not be written")


# ---- links -------------------------------------------------------------------------------------

def _link(row: dict[str, str] | None) -> Link | None:
    return Link(**row) if row else None


_LINK_FIELDS = ("entity", "source_key", "target_key", "payload_hash")


@_database_step
def _find_link(integration_id: int, entity: str, by: str, value: str) -> dict[str, str] | None:
    from koppel.core.activity.models import Link as LinkRow

    return LinkRow.objects.filter(integration_id=integration_id, entity=entity, **{by: value}).order_by(
        "pk").values(*_LINK_FIELDS).first()


def find_link(integration_id: int, entity: str, source_key: str) -> Link | None:
    """The link of a source record (e.g. an MWW order number), if it was linked before."""
    return _link(_find_link(integration_id, entity, "source_key", source_key))


@_database_step
def linked_keys(integration_id: int, entity: str, source_keys: list[str]) -> list[str]:
    """Which of these source records are linked already, in one query per thousand keys."""
    from koppel.core.activity.models import Link as LinkRow

    found: list[str] = []
    for start in range(0, len(source_keys), 1000):
        chunk = source_keys[start:start + 1000]
        found += LinkRow.objects.filter(integration_id=integration_id, entity=entity,
                                        source_key__in=chunk).values_list("source_key", flat=True)
    return found


@_database_step
def _find_links(integration_id: int, entities: list[str], source_keys: list[str]) -> list[list[str]]:
    from koppel.core.activity.models import Link as LinkRow

    found: list[list[str]] = []
    for start in range(0, len(source_keys), 1000):
        found += map(list, LinkRow.objects.filter(
            integration_id=integration_id, entity__in=entities, source_key__in=source_keys[start:start + 1000],
        ).values_list(*_LINK_FIELDS))
    return found


def find_links(integration_id: int, entities: Sequence[str], source_keys: list[str]) -> list[Link]:
    """The links of these source records in any of these entities, one query per thousand keys."""
    return [Link(*row) for row in _find_links(integration_id, list(entities), source_keys)]


@_database_step
def remember_links(integration_id: int, links: list[Link]) -> None:
    """Link each source record to its target with its payload hash, one statement per thousand; an
    existing link's target and hash are replaced."""
    from koppel.core.activity.models import Link as LinkRow

    rows = [LinkRow(integration_id=integration_id, entity=link.entity, source_key=link.source_key,
                    target_key=link.target_key, payload_hash=link.payload_hash) for link in links]
    LinkRow.objects.bulk_create(rows, batch_size=1000, update_conflicts=True,
                                unique_fields=["integration", "entity", "source_key"],
                                update_fields=["target_key", "payload_hash", "updated_at"])


def find_link_by_target(integration_id: int, entity: str, target_key: str) -> Link | None:
    """The link of a target record (e.g. an AV debtor number), if one points to it."""
    return _link(_find_link(integration_id, entity, "target_key", target_key))


@_database_step
def _write_link(integration_id: int, entity: str, source_key: str, target_key: str,
                payload_hash: str) -> dict[str, str]:
    from koppel.core.activity.models import Link as LinkRow

    where = {"integration_id": integration_id, "entity": entity, "source_key": source_key}
    try:
        with transaction.atomic():
            LinkRow.objects.create(**where, target_key=target_key, payload_hash=payload_hash)
    except IntegrityError:
        pass  # someone linked it first: theirs stands
    return dict(LinkRow.objects.filter(**where).values(*_LINK_FIELDS).get())


def write_link(integration_id: int, entity: str, source_key: str, target_key: str,
               payload_hash: str = "") -> Link:
    """Link a source record to the target record made for it; if it was linked already (perhaps
    at this very moment by another worker), that link stands and is returned instead."""
    row = _write_link(integration_id, entity, source_key, target_key, payload_hash)
    return Link(**row)


@_database_step
def remember_sent(integration_id: int, entity: str, source_key: str, payload_hash: str) -> None:
    """Store the hash of what was last sent for a linked record, to skip unchanged records later."""
    from koppel.core.activity.models import Link as LinkRow

    LinkRow.objects.filter(integration_id=integration_id, entity=entity, source_key=source_key).update(
        payload_hash=payload_hash, updated_at=timezone.now())


@_database_step
def forget_link(integration_id: int, entity: str, source_key: str) -> bool:
    """Drop a link, so the record is matched and sent again on its next sync."""
    from koppel.core.activity.models import Link as LinkRow

    deleted, _ = LinkRow.objects.filter(integration_id=integration_id, entity=entity,
                                        source_key=source_key).delete()
    return deleted > 0
