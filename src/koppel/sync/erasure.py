"""The right to erasure, run by a worker, and in the engine's own store.

In the background: the privacy page asks for an erasure (`request`); a worker runs it as a DBOS workflow on
the run queue (one at a time per workspace) and the page follows its state (`state_of`, `recent`), the way sync
now queues a run. The address must not be kept by asking for its erasure, so it never reaches a store in clear:
- the workflow's input is the address encrypted with Koppel's keys (`koppel.secrets`, never in a database),
  bound to the workspace; the worker decrypts it, erases, and then overwrites that input in its own workflow
  row with "" (`_forget_the_request`), also when the erasure failed. What stays is the workspace, who asked,
  when, and the counts; a failure's message has the address taken out before DBOS stores it;
- two clicks at once queue one erasure through a deduplication id that is a keyed hash (HMAC with the
  dashboard's secret key) of workspace and address, which DBOS clears when the workflow ends;
- the workflow id, the RecordAction entries and the logs name no address.

In the engine's store: DBOS keeps each workflow's inputs and output and each step's output or error in its system
database (SQLite or PostgreSQL, `engine.system_database_url`). Koppel passes keys and ids there, not customer
data, but a reason or an error can quote a customer's e-mail address.

`erase_from_engine` (called where the activity log is erased, `record_actions.erase_customer`) replaces the
address by "[erased]" in every value DBOS stored for the workspace's finished workflows (its integrations' units
and runs, and the delivery workflows of its alerts' notices): their outcomes, keys and the rest stay readable,
and the runner still knows what a finished unit did (deleting them would make a --full run redo them).
Workflows still queued or running are left alone: their stored inputs and step results are what a recovery
replays, and changing them could change what they do. They are counted, so the person can erase again once they
finished (retention deletes finished workflows in time anyway).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, EnqueueOptions
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import RecordAction
from koppel.core.alerts.models import Notice
from koppel.secrets import SecretsError, Vault
from koppel.settings import get_settings
from koppel.sync import engine, sync_now

log = logging.getLogger(__name__)

ERASED = "[erased]"
SCHEMA = "dbos"  # DBOS's system schema on PostgreSQL (engine.dbos_config names no other)
# The tables where DBOS keeps values, and their columns that hold them (the rest are ids, names and times).
STORED_VALUES = {
    "workflow_status": ("inputs", "output", "error"),
    "workflow_input": ("inputs",),
    "workflow_output": ("output", "error"),
    "operation_outputs": ("output", "error"),
    "workflow_events": ("value",),
    "workflow_events_history": ("value",),
    "streams": ("value",),
}


@dataclass(frozen=True)
class EngineErased:
    """What an erasure changed in the engine's store."""

    workflows: int  # finished workflows that named the address
    values: int  # stored values (inputs, outputs, step results, errors) the address was removed from
    running: int  # unfinished workflows that name it, left alone


def erase_from_engine(workspace: Workspace, email: str, by: str) -> EngineErased:
    """Remove `email` (in any letter case) from what DBOS stored for the workspace's finished workflows; the
    activity log's erasure entries get one beside them, with the counts and never the address."""
    integrations = list(workspace.integrations.values_list("pk", flat=True))
    erased = scrub(email, integrations, notice_workflows(workspace))
    detail = (f"a customer's data erased by e-mail from the engine's stored workflow data: {erased.workflows} "
              f"workflows, {erased.values} values; {erased.running} unfinished workflows left alone")
    for integration_id in integrations:
        RecordAction.objects.create(integration_id=integration_id, kind=RecordAction.Kind.ERASE, by=by,
                                    at=timezone.now(), detail=detail)
    return erased


def notice_workflows(workspace: Workspace) -> set[str]:
    """The ids of the delivery workflows of the workspace's alert notices (`alert-notice:<notice>`): a notice of
    parked records quotes their reasons, and a failed delivery's error can quote the message."""
    from koppel.alerts.delivery import workflow_id

    return {workflow_id(pk) for pk in Notice.objects.filter(alert__workspace=workspace).values_list("pk", flat=True)}


def scrub(email: str, integration_ids: list[int], notices: set[str] | None = None) -> EngineErased:
    """Replace `email` in the stored values of these integrations' finished workflows (their units
    `<flow>:<integration>:<key>` and runs `run:<flow>:<integration>:…`) and of these alert-notice workflows."""
    if not integration_ids and not notices:
        return EngineErased(0, 0, 0)
    units = re.compile(rf"^(?:run:)?[^:]+:(?:{'|'.join(str(i) for i in integration_ids) or '-'}):")

    def ours(workflow: str) -> bool:
        return bool(units.match(workflow)) or workflow in (notices or ())

    address = re.compile(re.escape(email), re.IGNORECASE)
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", email) + "%"
    scrubbed: set[str] = set()
    running: set[str] = set()
    updates: list[tuple[sa.Table, dict[str, Any], dict[str, Any], dict[str, str]]] = []
    with _system_database() as database:
        if database is None:
            return EngineErased(0, 0, 0)
        # First every read, outside a transaction, then the writes in one short one: on SQLite (no WAL) a read held
        # open through the writes would keep the workers' own writes waiting for as long as the scan takes.
        with database.connect() as connection:
            tables = _tables(connection)
            if "workflow_status" not in tables:  # a system database DBOS never set up
                return EngineErased(0, 0, 0)
            status = tables["workflow_status"].alias("status_of")  # a workflow's status, beside each stored value
            for name, columns in STORED_VALUES.items():
                table = tables.get(name)
                if table is None:
                    continue
                present = [table.c[c] for c in columns if c in table.c]
                keys = list(table.primary_key.columns)
                if not present or not keys or "workflow_uuid" not in table.c:
                    continue
                found = connection.execute(
                    sa.select(*keys, *(c for c in [table.c.workflow_uuid] if c not in keys), *present, status.c.status)
                    .select_from(table.outerjoin(status, status.c.workflow_uuid == table.c.workflow_uuid))
                    .where(sa.or_(*(column.ilike(pattern, escape="\\") for column in present)))).all()
                connection.rollback()  # end the read (SQLite: its shared lock) before the next one
                for row in found:
                    workflow = row._mapping[table.c.workflow_uuid]
                    if not ours(workflow):
                        continue
                    if row._mapping[status.c.status] not in (*engine.FINISHED, None):  # None: its status is gone
                        running.add(workflow)
                        continue
                    was = {c.name: row._mapping[c] for c in present
                           if row._mapping[c] and address.search(row._mapping[c])}
                    updates.append((table, {k.name: row._mapping[k] for k in keys}, was,
                                    {column: address.sub(ERASED, value) for column, value in was.items()}))
                    scrubbed.add(workflow)
        with database.begin() as connection:
            for table, key, was, erased in updates:
                # Only a value still as it was read (a finished workflow's values don't change: this is a guard).
                connection.execute(sa.update(table).where(
                    *(table.c[k] == v for k, v in key.items()), *(table.c[c] == v for c, v in was.items()))
                    .values(erased))
    return EngineErased(workflows=len(scrubbed), values=sum(len(was) for _, _, was, _ in updates),
                        running=len(running))


@contextmanager
def _system_database() -> Iterator[sa.Engine | None]:
    """The engine's system database (None when none was made yet)."""
    url = sa.make_url(engine.system_database_url(get_settings()))
    if url.drivername.startswith("sqlite"):
        if not url.database or not Path(url.database).exists():
            yield None
            return
        database = sa.create_engine(url, connect_args={"timeout": 30})  # DBOS may be writing: wait for it
    else:
        database = sa.create_engine(url.set(drivername="postgresql+psycopg"))
        try:
            database.connect().close()
        except sa.exc.OperationalError as error:
            database.dispose()
            if "does not exist" not in str(error):
                raise
            yield None  # no engine ran against this server yet: nothing stored
            return
    try:
        yield database
    finally:
        database.dispose()


def _tables(connection: sa.Connection) -> dict[str, sa.Table]:
    schema = None if connection.dialect.name == "sqlite" else SCHEMA
    metadata = sa.MetaData()
    present = set(sa.inspect(connection).get_table_names(schema=schema))
    metadata.reflect(connection, schema=schema, only=[name for name in STORED_VALUES if name in present])
    return {table.name: table for table in metadata.tables.values()}


# ---- in the background -----------------------------------------------------------------------------

WORKFLOW = "koppel.erase_customer"  # the DBOS name of the erasure workflow (stored with each: keep it stable)
ID_PATTERN = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{6}$")  # an erasure's own part of its workflow id
WAITING = ["ENQUEUED", "DELAYED"]


class ErasureFailed(Exception):
    """An erasure could not complete; its message never holds the address (DBOS stores it)."""


@dataclass(frozen=True)
class Requested:
    """The erasure a click follows (`erasure`: its part of the workflow id); `new`: this click queued it."""

    erasure: str
    new: bool


@dataclass(frozen=True)
class ErasureState:
    """Where an erasure stands: queued (waiting for a worker), running, done (with `counts`), failed (with
    `error`), or unreadable (the queue can't be reached now; asked again at the next look)."""

    erasure: str
    state: str
    requested_at: datetime | None = None
    by: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


def workflow_prefix(workspace_id: int) -> str:
    return f"erasure:{workspace_id}:"


def request(workspace: Workspace, email: str, by: str) -> Requested:
    """Queue the erasure of this address from the workspace for a worker, or follow the one of the same address
    queued or going (see the module's docstring for how the address is kept out of every store)."""
    from koppel.sync.record_actions import EMAIL

    email = email.strip()
    if not EMAIL.match(email):
        raise ValueError("not an e-mail address")
    sealed = Vault.from_settings(get_settings()).encrypt({"workspace": workspace.pk, "email": email})
    erasure = f"{timezone.now():%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(3)}"
    options: EnqueueOptions = {
        "workflow_name": WORKFLOW,
        "queue_name": engine.RUN_QUEUE,
        "workflow_id": workflow_prefix(workspace.pk) + erasure,
        "queue_partition_key": f"erasure:{workspace.pk}",  # one erasure of a workspace at a time
        "app_version": get_settings().application_version,
        "application_name": engine.APP_NAME,
        "deduplication_id": "erasure:" + salted_hmac("koppel.erasure", f"{workspace.pk}:{email.lower()}",
                                                     algorithm="sha256").hexdigest(),
        "duplication_policy": "return-existing",
        "authenticated_user": by,
    }
    queued = sync_now.client().enqueue(options, workspace.pk, sealed, by).get_workflow_id()
    return Requested(queued.removeprefix(workflow_prefix(workspace.pk)), new=queued == options["workflow_id"])


def state_of(workspace_id: int, erasure: str) -> ErasureState | None:
    """Where the workspace's erasure `erasure` stands (None: the workspace has no such erasure). One read."""
    if not ID_PATTERN.match(erasure):
        return None
    try:
        found = sync_now.client().list_workflows(workflow_ids=[workflow_prefix(workspace_id) + erasure],
                                                 load_input=False, load_output=True)
    except Exception:  # the page keeps asking
        log.warning("could not read the state of erasure %s", erasure, exc_info=True)
        return ErasureState(erasure, "unreadable")
    return _state(workspace_id, found[0]) if found else None


def recent(workspace_id: int, limit: int = 5) -> list[ErasureState]:
    """The workspace's latest erasures, newest first (the engine keeps them until retention purges them)."""
    found = sync_now.client().list_workflows(workflow_id_prefix=workflow_prefix(workspace_id), sort_desc=True,
                                             limit=limit, load_input=False, load_output=True)
    return [_state(workspace_id, status) for status in found]


def _state(workspace_id: int, status: Any) -> ErasureState:
    erasure = status.workflow_id.removeprefix(workflow_prefix(workspace_id))
    requested_at = (datetime.fromtimestamp(status.created_at / 1000, tz=timezone.get_current_timezone())
                    if status.created_at else None)
    said: dict[str, Any] = {"requested_at": requested_at, "by": status.authenticated_user or ""}
    if status.status in WAITING:
        return ErasureState(erasure, "queued", **said)
    if status.status == "PENDING":
        return ErasureState(erasure, "running", **said)
    if status.status == "SUCCESS":
        return ErasureState(erasure, "done", counts=dict(status.output or {}), **said)
    return ErasureState(erasure, "failed", error=str(status.error or status.status.lower()), **said)


@DBOS.workflow(name=WORKFLOW)
def erase_in_background(workspace_id: int, sealed: str, by: str) -> dict[str, int]:
    """Erase the address sealed in `sealed` from the workspace; then forget the request (even when it failed)."""
    try:
        return _erase(workspace_id, sealed, by)
    except Exception as failure:  # after its last try: say why that one failed (DBOS's own message says "retries")
        tries = getattr(failure, "errors", None)
        raise ErasureFailed(str(tries[-1] if isinstance(tries, list) and tries else failure)) from None
    finally:
        _forget_the_request(sealed)


def _database(fn: Callable[..., Any]) -> Callable[..., Any]:
    def closing(*args: Any) -> Any:
        try:
            return fn(*args)
        finally:
            if not connection.in_atomic_block:
                close_old_connections()  # a DBOS worker thread: close what it opened
    closing.__name__ = closing.__qualname__ = fn.__name__
    return closing


# Tried again after a passing failure (a busy SQLite, a dropped PostgreSQL connection): it is safe to repeat.
@DBOS.step(name="koppel.erasure.erase", retries_allowed=True, max_attempts=3, interval_seconds=1.0, backoff_rate=2.0)
@_database
def _erase(workspace_id: int, sealed: str, by: str) -> dict[str, int]:
    """The erasure itself (record_actions.erase_customer); returns its counts, which name no address."""
    from koppel.sync import record_actions

    try:
        asked = Vault.from_settings(get_settings()).decrypt(sealed)
    except SecretsError:
        # Shown to the merchant: the fix (web and workers with the same KOPPEL_ENCRYPTION_KEYS) in plain words.
        raise ErasureFailed("the request can't be read with this worker's encryption keys: whoever runs Koppel must "
                            "give the workers the same keys as the dashboard; then ask again") from None
    if asked.get("workspace") != workspace_id or not asked.get("email"):
        raise ErasureFailed("the request was not made for this workspace")
    email = str(asked["email"])
    try:
        erased = record_actions.erase_customer(Workspace.objects.get(pk=workspace_id), email, by)
    except Exception as error:  # its message may quote the address: DBOS would store it
        said = re.sub(re.escape(email), ERASED, f"{type(error).__name__}: {error}", flags=re.IGNORECASE)
        raise ErasureFailed(said) from None
    return {"records": erased.records, "payloads": erased.payloads, "reasons": erased.reasons, "runs": erased.runs,
            "alerts": erased.alerts, "workflows": erased.engine.workflows, "values": erased.engine.values,
            "unfinished": erased.engine.running}


@DBOS.step(name="koppel.erasure.forget_the_request", retries_allowed=True, max_attempts=3, interval_seconds=1.0)
def _forget_the_request(sealed: str) -> None:
    """Overwrite the sealed address in this workflow's stored input. A recovery after this replays the recorded
    steps, so what it reads in its place does not matter."""
    workflow = DBOS.workflow_id or ""
    with _system_database() as database:
        if database is None or not sealed:
            return
        with database.begin() as connection:
            tables = _tables(connection)
            for name in ("workflow_status", "workflow_input"):
                table = tables.get(name)
                if table is None or "inputs" not in table.c:
                    continue
                connection.execute(sa.update(table).where(table.c.workflow_uuid == workflow).values(
                    inputs=sa.func.replace(table.c.inputs, sealed, "")))
