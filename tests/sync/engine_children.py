"""Scenarios that need an engine of their own, each in a child process (DBOS is configured once per process).

The right to erasure against the engine's real system database: units of work whose stored inputs, outputs,
step results and step errors quote customers' addresses, finished and still running, in two workspaces; then
the privacy page's erasure (`record_actions.erase_customer`) of one address in one workspace, and every text
of every table of the system database searched for it afterwards. And the API usage counted beside an
engine, flushed by its thread."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from dbos import DBOS

from koppel.errors import NeedsAttention
from koppel.sync import units

FLOW = "erasuretest"


@units.step(name=f"{FLOW}.debtor")
def debtor_for(email: str) -> str:
    return f"debtor 1001 made for {email}"


@units.step(name=f"{FLOW}.refused")
def refused(email: str) -> str:
    raise NeedsAttention(f"AccountView refused the debtor: the e-mail address {email} is in use")


@units.unit_of_work(FLOW, name="order")
def order(integration_id: int, key: str, email: str, wait: float = 0.0) -> dict[str, Any]:
    """What a unit keeps: its input (the address, as no real unit would: the worst case), a step's output
    and a step's error quoting it, and an output quoting it; `wait` keeps it running (a durable sleep)."""
    made = debtor_for(email)
    try:
        refused(email)
    except NeedsAttention as error:
        made += f"; {error}"
    if wait:
        DBOS.sleep(wait)
    return {"key": key, "outcome": "sent", "reason": made}


def erase(other_workspace_email: str) -> dict[str, Any]:
    """Workspace "een" (two integrations) and workspace "twee": units naming jan@example.nl and
    piet@example.nl; one of een's still running. Erase jan@ from een, then search the system database."""
    from django.core.management import call_command

    from koppel.core.accounts.models import Workspace
    from koppel.core.activity.models import RecordAction
    from koppel.core.integrations.models import Connection, Integration
    from koppel.settings import get_settings
    from koppel.sync import engine, record_actions
    from tests.sync.scenarios import FAST

    call_command("migrate", interactive=False, verbosity=0)
    made: dict[str, int] = {}
    for workspace_name, integrations in (("een", ["een-a", "een-b"]), ("twee", ["twee-a"])):
        workspace = Workspace.objects.create(name=workspace_name)
        shop = Connection.objects.create(workspace=workspace, name="shop", system="mijnwebwinkel")
        books = Connection.objects.create(workspace=workspace, name="books", system="accountview",
                                          settings={"company_id": "1"})
        for name in integrations:
            made[name] = Integration.objects.create(workspace=workspace, name=name, shop=shop, books=books).pk
    engine.launch(executor_id="erasure", options=FAST, packages=[])
    finished = [(made["een-a"], "1", "jan@example.nl"), (made["een-b"], "2", "Jan@Example.NL"),
                (made["een-a"], "3", "piet@example.nl"), (made["twee-a"], "4", other_workspace_email)]
    for integration_id, key, email in finished:
        units.start_unit(order, integration_id, key, email).get_result(polling_interval_sec=0.05)
    running = units.start_unit(order, made["een-a"], "5", "jan@example.nl", 600.0)
    deadline = time.monotonic() + 30
    while len(DBOS.list_workflow_steps(running.workflow_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # its steps done, it sleeps: running, with the address stored

    erased = record_actions.erase_customer(Workspace.objects.get(name="een"), "JAN@example.nl", "olga")
    found = search(engine.system_database_url(get_settings()), "jan@example.nl")
    piet = search(engine.system_database_url(get_settings()), "piet@example.nl")
    scrubbed = DBOS.retrieve_workflow(units.unit_id(FLOW, made["een-b"], "2")).get_result()
    steps = [step["output"] for step in DBOS.list_workflow_steps(units.unit_id(FLOW, made["een-a"], "1"))]
    engine.shutdown()
    return {
        "integrations": made, "running": running.workflow_id, "found": found, "piet": piet,
        "scrubbed_output": scrubbed, "scrubbed_steps": [str(s) for s in steps], "activity": vars(erased),
        "actions": list(RecordAction.objects.filter(kind="erase").order_by("pk").values_list(
            "integration__name", "detail")),
    }


def search(url: str, text: str) -> list[list[str]]:
    """(table, workflow id) of every row of the system database with `text` in any column, any letter case."""
    database = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    found: list[list[str]] = []
    try:
        with database.connect() as connection:
            schema = None if connection.dialect.name == "sqlite" else "dbos"
            metadata = sa.MetaData()
            metadata.reflect(connection, schema=schema)
            for table in metadata.tables.values():
                matches = sa.or_(*(sa.cast(column, sa.Text).ilike(f"%{text}%") for column in table.columns))
                for row in connection.execute(sa.select(table).where(matches)):
                    workflow = row._mapping.get("workflow_uuid") or row._mapping.get("destination_uuid") or "?"
                    found.append([table.name, str(workflow)])
    finally:
        database.dispose()
    return sorted(found)


def flush_beside_the_engine(flush_seconds: float) -> dict[str, Any]:
    """API calls counted in a process with an engine reach the daily totals without a run closing: within
    `flush_seconds` from the thread beside the engine, and what is left when the engine stops."""
    from django.core.management import call_command
    from django.utils import timezone

    from koppel.core.accounts.models import Workspace
    from koppel.core.activity.models import DailyTotal
    from koppel.core.integrations.models import Connection, Integration
    from koppel.sync import api_usage, engine
    from tests.sync.scenarios import FAST

    call_command("migrate", interactive=False, verbosity=0)
    workspace = Workspace.objects.create(name="een")
    shop = Connection.objects.create(workspace=workspace, name="shop", system="mijnwebwinkel")
    books = Connection.objects.create(workspace=workspace, name="books", system="accountview",
                                      settings={"company_id": "1"})
    integration_id = Integration.objects.create(workspace=workspace, name="een", shop=shop, books=books).pk
    api_usage.FLUSH_SECONDS = flush_seconds
    engine.launch(executor_id="flusher", options=FAST, packages=[])

    def calls() -> int:
        return int(sum(DailyTotal.objects.filter(integration_id=integration_id, day=timezone.localdate(),
                                                 measure="calls:accountview").values_list("value", flat=True)))

    api_usage.count(integration_id, "accountview", calls=2)
    deadline = time.monotonic() + 30
    while not calls() and time.monotonic() < deadline:
        time.sleep(0.05)
    periodic = calls()
    api_usage.count(integration_id, "accountview", calls=3)
    engine.shutdown()
    return {"periodic": periodic, "at_shutdown": calls()}


def totals_of(integration_id: int) -> dict[str, Any]:
    """The integration's daily totals, summed over the days (as text: JSON has no decimals)."""
    from koppel.core.activity.models import DailyTotal

    summed: dict[str, Any] = {}
    for measure, value in DailyTotal.objects.filter(integration_id=integration_id).values_list("measure", "value"):
        summed[measure] = summed.get(measure, 0) + value
    return {measure: str(value) for measure, value in summed.items()}


SCENARIOS = {"erase": erase, "flush_beside_the_engine": flush_beside_the_engine, "totals_of": totals_of}
