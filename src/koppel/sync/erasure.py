"""The right to erasure in the engine's own store. DBOS keeps each workflow's inputs and output and each step's
output or error in its system database (SQLite or PostgreSQL, `engine.system_database_url`). Koppel passes
keys and ids there, not customer data, but a reason or an error can quote a customer's e-mail address.

`erase_from_engine` (called where the activity log is erased, `record_actions.erase_customer`) replaces the
address by "[erased]" in every value DBOS stored for the workspace's finished workflows: their outcomes, keys
and the rest stay readable, and the runner still knows what a finished unit did (deleting them would make a
--full run redo them). Workflows still queued or running are left alone: their stored inputs and step
results are what a recovery replays, and changing them could change what they do. They are counted, so the
person can erase again once they finished (retention deletes finished workflows in time anyway).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from django.utils import timezone

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import RecordAction
from koppel.settings import get_settings
from koppel.sync import engine

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
    erased = scrub(email, integrations) if integrations else EngineErased(0, 0, 0)
    detail = (f"a customer's data erased by e-mail from the engine's stored workflow data: {erased.workflows} "
              f"workflows, {erased.values} values; {erased.running} unfinished workflows left alone")
    for integration_id in integrations:
        RecordAction.objects.create(integration_id=integration_id, kind=RecordAction.Kind.ERASE, by=by,
                                    at=timezone.now(), detail=detail)
    return erased


def scrub(email: str, integration_ids: list[int]) -> EngineErased:
    """Replace `email` in the stored values of these integrations' finished workflows (their units
    `<flow>:<integration>:<key>` and runs `run:<flow>:<integration>:…`)."""
    ours = re.compile(rf"^(?:run:)?[^:]+:(?:{'|'.join(str(i) for i in integration_ids)}):")
    address = re.compile(re.escape(email), re.IGNORECASE)
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", email) + "%"
    scrubbed: set[str] = set()
    running: set[str] = set()
    values = 0
    with _system_database() as database:
        if database is None:
            return EngineErased(0, 0, 0)
        with database.begin() as connection:
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
                    .where(sa.or_(*(column.ilike(pattern, escape="\\") for column in present))))
                for row in found:
                    workflow = row._mapping[table.c.workflow_uuid]
                    if not ours.match(workflow):
                        continue
                    if row._mapping[status.c.status] not in (*engine.FINISHED, None):  # None: its status is gone
                        running.add(workflow)
                        continue
                    changed = {c.name: address.sub(ERASED, row._mapping[c]) for c in present
                               if row._mapping[c] and address.search(row._mapping[c])}
                    connection.execute(sa.update(table).where(*(k == row._mapping[k] for k in keys)).values(changed))
                    values += len(changed)
                    scrubbed.add(workflow)
    return EngineErased(workflows=len(scrubbed), values=values, running=len(running))


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
