"""The privacy page's erasure runs on a worker, end to end against the engine's real system database, on SQLite
and on PostgreSQL.

A first child process leaves what a real one would: units of work and alert-notice workflows whose stored values
quote a customer's address (finished, and one still running), in two workspaces, with the activity log and the
alerts naming it too; then it stops, long ago as far as the next one can tell. A second child asks for the
erasure through the page with no worker running (the page answers at once: requested, queued, waiting for a
worker; nothing erased yet, the address nowhere in the system database), then starts a worker and follows the
page until it says done with the counts. Afterwards the address is gone from the workspace's activity, alerts
and every table of the system database (alert notices included), but for the unfinished unit; the erasure's own
workflow row holds neither the address nor the sealed request; another workspace keeps its data and gets 404 for
the erasure; and a request a worker can't read fails with that reason, its input forgotten all the same.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOS, SetWorkflowID

from koppel.sync import units
from tests.flows.scenarios import spawn
from tests.postgres import PostgresServer

ADDRESS = "jan@example.nl"
SAID = f"AccountView refused the debtor: the e-mail address {ADDRESS} is in use"
FOLLOWED = re.compile(r'hx-get="([^"]+/privacy/erasures/[^"]+/)"')
SEALED = re.compile(r"gAAAA[A-Za-z0-9_\-=]+")  # a Fernet token


@units.step(name="erasurewait.debtor")
def debtor_for(email: str) -> str:
    return f"debtor 1001 made for {email}"


@units.unit_of_work("erasurewait", name="order")
def waiting_order(integration_id: int, key: str, email: str, wait: float) -> dict[str, Any]:
    """A unit still running (a durable sleep) whose step's stored output quotes the address; a worker that takes
    it over replays the step and sleeps on."""
    made = debtor_for(email)
    DBOS.sleep(wait)
    return {"key": key, "outcome": "sent", "reason": made}


@DBOS.workflow(name="erasuretest.notice")
def notice(told: str) -> dict[str, str]:
    """Stands in for an alert notice's delivery: its stored input quotes a parked record's reason (the worst case)."""
    return {"told": told}


def prepare() -> dict[str, Any]:
    """Workspaces een (two integrations) and twee, each with activity, an alert and engine work naming the address."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from koppel.alerts import delivery, raising
    from koppel.core.accounts.models import Membership, Workspace
    from koppel.core.activity.models import Activity, Executor
    from koppel.core.alerts.models import Kind, Notice
    from koppel.core.integrations.models import Connection, Integration
    from koppel.sync import engine
    from tests.sync.engine_children import FLOW, order
    from tests.sync.scenarios import FAST

    call_command("migrate", interactive=False, verbosity=0)
    made: dict[str, int] = {}
    for workspace_name, owner, integrations in (("een", "olga", ["een-a", "een-b"]), ("twee", "sam", ["twee-a"])):
        workspace = Workspace.objects.create(name=workspace_name)
        made[workspace_name] = workspace.pk
        user = get_user_model().objects.create_user(owner, f"{owner}@example.nl", "pw")
        Membership.objects.create(workspace=workspace, user=user, role="owner")
        shop = Connection.objects.create(workspace=workspace, name="shop", system="mijnwebwinkel")
        books = Connection.objects.create(workspace=workspace, name="books", system="accountview",
                                          settings={"company_id": "1"})
        for name in integrations:
            made[name] = Integration.objects.create(workspace=workspace, name=name, shop=shop, books=books).pk
    now = timezone.now()
    for integration, key, email in (("een-a", "1001", ADDRESS), ("een-b", "1002", ADDRESS.upper()),
                                    ("een-a", "1003", "piet@example.nl"), ("twee-a", "2001", ADDRESS)):
        Activity.objects.create(integration_id=made[integration], entity="order", key=key, outcome="needs_attention",
                                reason=f"order {key}: {SAID.replace(ADDRESS, email)}",
                                payload_in={"number": key, "customer": {"email": email}}, created_at=now,
                                updated_at=now)
    notices = {}
    for workspace_name, integration in (("een", "een-a"), ("twee", "twee-a")):
        facts = {"integration": integration, "count": 1, "groups": [[SAID, 1, {"text": SAID}]]}
        [notices[workspace_name]] = raising.raise_alert(Kind.PARKED, f"parked:{made[integration]}",
                                                         workspace_id=made[workspace_name],
                                                         integration_id=made[integration], facts=facts, update=True)
    Notice.objects.update(done_at=now)  # told: nobody sends them again

    engine.launch(executor_id="prepare", options=FAST, packages=[])
    for integration, key, email in (("een-a", "1", ADDRESS), ("een-b", "2", "Jan@Example.NL"),
                                    ("een-a", "3", "piet@example.nl"), ("twee-a", "4", ADDRESS)):
        units.start_unit(order, made[integration], key, email).get_result(polling_interval_sec=0.05)
    for notice_id in notices.values():
        with SetWorkflowID(delivery.workflow_id(notice_id)):
            DBOS.start_workflow(notice, SAID).get_result()
    running = units.start_unit(waiting_order, made["een-a"], "5", ADDRESS, 600.0)
    deadline = time.monotonic() + 30
    while len(DBOS.list_workflow_steps(running.workflow_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # its steps done, it sleeps: running, with the address stored
    engine.shutdown()
    Executor.objects.update(last_seen_at=now - timezone.timedelta(hours=1))  # this worker stopped long ago
    return {"made": made, "notices": {name: delivery.workflow_id(pk) for name, pk in notices.items()},
            "running": running.workflow_id, "unit": units.unit_id(FLOW, made["een-b"], "2")}


def erase_by_the_page(een: int, twee: int) -> dict[str, Any]:
    """Ask for the erasure as olga on the privacy page, then start a worker and follow the page until it ends."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    from koppel.core.activity.models import Activity, RecordAction
    from koppel.core.alerts.models import Alert, Notice
    from koppel.settings import get_settings
    from koppel.sync import engine, erasure, sync_now
    from tests.sync.engine_children import search
    from tests.sync.scenarios import FAST

    setup_test_environment()
    olga, sam = Client(), Client()
    olga.force_login(get_user_model().objects.get(username="olga"))
    sam.force_login(get_user_model().objects.get(username="sam"))
    url = engine.system_database_url(get_settings())

    asked = olga.post(f"/records/w/{een}/privacy/erase/", {"email": "Jan@Example.nl"}).content.decode()
    follow = FOLLOWED.search(asked)
    assert follow is not None, asked
    erasure_id = follow[1].rstrip("/").rsplit("/", 1)[1]
    workflow = erasure.workflow_prefix(een) + erasure_id
    queued = {"asked": asked, "stored": stored(url, workflow), "found": search(url, ADDRESS),
              "activity": list(Activity.objects.filter(key="1001").values_list("payload_in", flat=True))}
    sealed = SEALED.search(str(queued["stored"]))
    assert sealed is not None, queued["stored"]

    engine.launch(executor_id="worker", options=FAST, packages=[])
    pages = [follow_the_page(olga, follow[1])]
    unreadable = sync_now.client().enqueue({  # a request sealed with keys this worker does not have
        "workflow_name": erasure.WORKFLOW, "queue_name": engine.RUN_QUEUE, "queue_partition_key": f"erasure:{een}",
        "workflow_id": erasure.workflow_prefix(een) + "20261130T000000.000000Z-abcdef",
        "app_version": get_settings().application_version, "application_name": engine.APP_NAME,
        "authenticated_user": "olga"}, een, "gAAAAnot-a-token-of-ours", "olga").get_workflow_id()
    pages.append(follow_the_page(olga, follow[1].replace(erasure_id, unreadable.rsplit(":", 1)[1])))
    engine.shutdown()
    return {
        "queued": queued, "pages": pages, "sealed": sealed[0], "after": statuses(url),
        "found": search(url, ADDRESS), "sealed_found": search(url, sealed[0]),
        "stored": stored(url, workflow), "unreadable_stored": stored(url, unreadable),
        "activity": {key: [outcome, reason, payload] for key, outcome, reason, payload in Activity.objects.values_list(
            "key", "outcome", "reason", "payload_in")},
        "alerts": {str(alert.workspace_id): alert.facts for alert in Alert.objects.all()},
        "notices": [n.facts for n in Notice.objects.filter(alert__workspace_id=een)],
        "actions": list(RecordAction.objects.filter(kind="erase").values_list("by", "detail")),
        "stranger": [sam.get(f"/records/w/{twee}/privacy/erasures/{erasure_id}/",
                             headers={"HX-Request": "true"}).status_code,
                     sam.get(follow[1], headers={"HX-Request": "true"}).status_code],
    }


def follow_the_page(client: Any, url: str) -> str:
    """Poll the erasure's fragment as the page does, until it stops asking (done or failed)."""
    deadline = time.monotonic() + 90
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    while "hx-get=" in fragment:
        assert time.monotonic() < deadline, fragment
        time.sleep(0.2)
        fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    return fragment


def statuses(url: str) -> dict[str, str]:
    with system_database(url) as (connection, schema):
        return dict(connection.execute(sa.text(f"SELECT workflow_uuid, status FROM {schema}workflow_status")).all())


def stored(url: str, workflow: str) -> dict[str, Any]:
    """What the system database keeps of a workflow: its status row and its input row."""
    with system_database(url) as (connection, schema):
        status = connection.execute(sa.text(
            f"SELECT status, inputs, output, error, deduplication_id FROM {schema}workflow_status "
            "WHERE workflow_uuid = :w"), {"w": workflow}).mappings().first()
        inputs = connection.execute(sa.text(f"SELECT inputs FROM {schema}workflow_input WHERE workflow_uuid = :w"),
                                    {"w": workflow}).scalar()
    return {**dict(status or {}), "input_row": inputs}


@contextmanager
def system_database(url: str) -> Iterator[tuple[sa.Connection, str]]:
    """A connection to the engine's system database, and the prefix of its tables (DBOS's schema on PostgreSQL)."""
    database = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with database.connect() as connection:
            yield connection, "dbos." if connection.dialect.name == "postgresql" else ""
    finally:
        database.dispose()


SCENARIOS = {"prepare": prepare, "erase_by_the_page": erase_by_the_page}


def erase_in_children(tmp_path: Path, database_url: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    env = {"KOPPEL_DATA_DIR": str(tmp_path / "var"), "KOPPEL_LOG_LEVEL": "WARNING"}
    if database_url:
        env["KOPPEL_DATABASE_URL"] = database_url  # the engine's system database beside it, on the same server
    prepared = spawn(env, tmp_path, "prepare", scenarios=__name__).wait(timeout=120)
    made = prepared["made"]
    return prepared, spawn(env, tmp_path, "erase_by_the_page", made["een"], made["twee"], scenarios=__name__).wait(180)


@pytest.mark.slow  # two child processes with the engine
def test_the_page_queues_the_erasure_a_worker_runs_it_and_the_address_is_kept_nowhere(tmp_path: Path) -> None:
    check(*erase_in_children(tmp_path))


@pytest.mark.slow
def test_the_same_on_postgres(tmp_path: Path, postgres_server: PostgresServer) -> None:
    check(*erase_in_children(tmp_path, postgres_server.create_database()))


def check(prepared: dict[str, Any], outcome: dict[str, Any]) -> None:
    made = prepared["made"]
    queued = outcome["queued"]
    assert "Erasure of Jan@Example.nl requested." in queued["asked"]
    assert 'data-state="queued"' in queued["asked"] and "No worker is running" in queued["asked"]
    assert queued["activity"] == [{"number": "1001", "customer": {"email": ADDRESS}}]  # nothing erased yet
    assert queued["stored"]["status"] == "ENQUEUED" and "jan@" not in str(queued["stored"]).lower()
    assert queued["stored"]["deduplication_id"]  # a keyed hash while it waits …
    assert not any(workflow.startswith("erasure:") for _, workflow in queued["found"])

    done, failed = outcome["pages"]
    assert 'data-state="done"' in done, done
    assert "Erased: 2 records, 2 with data, 2 reasons, 0 run errors, 2 alerts." in done, done
    assert "In the workers' stored work: 3 tasks" in done, done  # units 1 and 2, and een's notice
    assert "1 unfinished task that names the address was left alone" in done, done
    assert outcome["after"][prepared["running"]] == "PENDING"  # taken over by the worker, and still sleeping

    # Left in the system database: the unit still running, and the other workspace's unit and notice.
    made_twee = f"erasuretest:{made['twee-a']}:4"
    assert {workflow for _, workflow in outcome["found"]} == {prepared["running"], made_twee,
                                                               prepared["notices"]["twee"]}, outcome["found"]
    assert outcome["sealed_found"] == []  # the sealed request is gone from every table
    kept = outcome["stored"]
    assert kept["status"] == "SUCCESS" and kept["deduplication_id"] is None, kept  # … cleared when it ended
    assert not SEALED.search(str(kept)) and "jan@" not in str(kept).lower(), kept

    activity = outcome["activity"]
    assert activity["1001"][2] is None and activity["1002"][2] is None
    assert "[erased]" in activity["1001"][1] and "jan@" not in activity["1002"][1].lower()
    assert activity["1003"][2] == {"number": "1003", "customer": {"email": "piet@example.nl"}}
    assert activity["2001"][2] == {"number": "2001", "customer": {"email": ADDRESS}}  # another workspace's
    assert "jan@" not in str(outcome["alerts"][str(made["een"])]).lower()
    assert "jan@" not in str(outcome["notices"]).lower() and "[erased]" in str(outcome["notices"])
    assert ADDRESS in str(outcome["alerts"][str(made["twee"])])
    assert outcome["actions"] and all("jan@" not in detail.lower() for _, detail in outcome["actions"])
    assert outcome["stranger"] == [404, 404]

    assert 'data-state="failed"' in failed and "can&#x27;t be read with this worker&#x27;s encryption keys" in failed
    assert outcome["unreadable_stored"]["status"] == "ERROR"
    assert "not-a-token" not in str(outcome["unreadable_stored"])  # forgotten although it failed
