"""Alerts on the real engine, in child processes forked from the test session's fork server (as the flow
tests do, tests/flows/scenarios.py): the sandboxes, the SMTP server and the webhook receiver keep running
in the test process, a child sets up Django and DBOS from its own environment, does its steps (scheduler
ticks, monitor ticks, a reconnect, …) and writes what the database then holds as its JSON result.

The scheduler and the monitor are ticked by hand here, not by their threads, so a test decides exactly
when runs start and checks run.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.flows import scenarios as flow_scenarios
from tests.flows.scenarios import FAST, Child, make_integration


def spawn(env: dict[str, str], directory: Path, name: str, *args: Any) -> Child:
    return flow_scenarios.spawn(env, directory, name, *args, scenarios=__name__)


# ---- scenarios -----------------------------------------------------------------------------------------


def set_up(shop: dict[str, str], books: dict[str, Any], orders: dict[str, Any], channels: list[dict[str, Any]],
           policy: dict[str, Any]) -> dict[str, Any]:
    """The flow tests' integration (migrated, connections encrypted), polled every second, with these
    alert channels and policy."""
    from koppel.core.alerts.models import AlertPolicy, Channel
    from koppel.core.integrations.models import Integration, Schedule

    made = make_integration("bakkerij", shop, books, orders)
    integration = Integration.objects.get(pk=made["integration_id"])
    Schedule.objects.create(integration=integration, flow="orders", interval_seconds=1)
    AlertPolicy.objects.create(workspace=integration.workspace, **policy)
    for spec in channels:
        channel = Channel(workspace=integration.workspace, via=spec["via"], target=spec["target"],
                          kinds=spec.get("kinds", []))
        channel.secret = spec.get("secret", "")
        channel.save()
    return {**made, "books_id": integration.books_id, "workspace_id": integration.workspace_id}


def steps(executor_id: str, integration_id: int, *actions: str) -> dict[str, Any]:
    """Launch the engine and do `actions` in order: "tick" (the scheduler, waiting for the runs it
    started), "monitor" (the monitor's checks and sends), "monitor+<minutes>" (the same, the clock
    that many minutes ahead), "reconnect" (AccountView's grant again, as the web's Reconnect does),
    "break" (the books connection found broken, as a run that met a revoked grant finds it), "touch"
    (the books connection saved by a person).
    Waits for every notice to be sent, then reports what the database holds."""
    from dbos import DBOS
    from django.utils import timezone

    from koppel.alerts import monitor
    from koppel.alerts.delivery import dispatch
    from koppel.sync import engine, schedules

    engine.launch(executor_id=executor_id, options=FAST)
    started: list[str] = []
    for action in actions:
        if action == "tick":
            time.sleep(1.05)  # a new time slot of the one-second schedule
            ids = schedules.tick()
            started += ids
            for workflow_id in ids:
                DBOS.retrieve_workflow(workflow_id).get_result()
        elif action.startswith("monitor"):
            minutes = float(action.partition("+")[2] or 0)
            monitor.tick(timezone.now() + timedelta(minutes=minutes))
        elif action == "reconnect":
            reconnect(integration_id)
        elif action == "break":
            dispatch(break_books(integration_id))
        elif action == "touch":  # a person saves the books connection (new rights, a new key …)
            from koppel.core.integrations.models import Connection, Integration

            Connection.objects.get(pk=Integration.objects.get(pk=integration_id).books_id).save()
        _wait_for_notices()
    engine.shutdown()
    return {"started": started, **state(integration_id)}


def reconnect(integration_id: int) -> None:
    import httpx

    from koppel.core.integrations.models import Integration
    from koppel.sync.grants import finish_grant_from_url, start_grant

    books_id = Integration.objects.get(pk=integration_id).books_id
    grant = start_grant(books_id, "http://127.0.0.1/callback")
    answer = httpx.get(grant.url, follow_redirects=False)  # the sandbox's consent page approves at once
    finish_grant_from_url(answer.headers["location"])


def _wait_for_notices(timeout: float = 60) -> None:
    from koppel.core.alerts.models import Notice

    deadline = time.monotonic() + timeout
    while Notice.objects.filter(done_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def state(integration_id: int) -> dict[str, Any]:
    from koppel.core.activity.models import Activity, Run
    from koppel.core.alerts.models import Alert, Delivery, Notice
    from koppel.core.integrations.models import Integration
    from koppel.sync.links import PARKED

    integration = Integration.objects.select_related("books").get(pk=integration_id)
    return {
        "paused_reason": integration.paused_reason,
        "broken_reason": integration.books.broken_reason,
        "runs": list(Run.objects.filter(integration=integration).order_by("pk").values_list("status", flat=True)),
        "parked": Activity.objects.filter(integration=integration, outcome__in=PARKED).count(),
        "sent": sorted(Activity.objects.filter(integration=integration, outcome="sent").values_list("key", flat=True)),
        "alerts": list(Alert.objects.order_by("pk").values("kind", "key", "resolved_at", "facts")),
        "notices": list(Notice.objects.order_by("pk").values_list("event", "done_at")),
        "deliveries": list(Delivery.objects.order_by("pk").values_list("status", "attempts", "last_error")),
    }


def break_books(integration_id: int) -> list[int]:
    from django.utils import timezone

    from koppel.alerts import connections
    from koppel.core.integrations.models import Integration

    books = Integration.objects.select_related("books").get(pk=integration_id).books
    return connections.mark_broken(books, "AccountView refused the authorisation (invalid_grant)", timezone.now())


def decide_and_die(integration_id: int, dispatch: bool) -> dict[str, Any]:
    """Decide an alert (the connection broken) and die before its mail goes: SIGKILL right after the
    decision committed, or right after its delivery workflow was started."""
    from koppel.alerts.delivery import dispatch as start
    from koppel.sync import engine

    if dispatch:
        engine.launch(executor_id="doomed", options=FAST)
    notices = break_books(integration_id)
    if dispatch:
        start(notices)
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


SCENARIOS = {"set_up": set_up, "steps": steps, "decide_and_die": decide_and_die, "state": state}
