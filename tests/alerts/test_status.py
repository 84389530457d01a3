"""`koppel status`: every integration's health in the terminal (and as JSON), exit 1 when one is broken."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone
from typer.testing import CliRunner

from koppel.alerts import connections
from koppel.alerts.status import summary
from koppel.cli import app
from koppel.core.activity.models import Activity, Executor, Run
from koppel.core.integrations.models import Integration, Schedule
from tests.alerts.conftest import Shop


def test_a_healthy_integration_then_parked_records_then_a_broken_connection(merchant: Shop) -> None:
    now = timezone.now()
    Schedule.objects.create(integration=merchant.integration, flow="orders", interval_seconds=60)
    Run.objects.create(integration=merchant.integration, flow="orders", status="succeeded", started_at=now,
                       finished_at=now)
    Executor.objects.create(executor_id="host-worker", application_version="v", started_at=now, last_seen_at=now)
    [item] = summary().integrations
    assert (item.state, item.parked, item.open_alerts) == ("ok", 0, [])
    assert item.connections == {"winkel": "ok", "boeken": "ok"}
    assert item.last_success == {"orders": now.isoformat()}
    assert summary().workers == {"host-worker": "alive"}

    Activity.objects.create(integration=merchant.integration, entity="order", key="1", outcome="needs_attention",
                            reason="VAT", created_at=now, updated_at=now)
    assert summary().integrations[0].state == "attention"

    connections.mark_broken(merchant.books, "AccountView refused the authorisation (invalid_grant)", now)
    [item] = summary(now + timedelta(minutes=5)).integrations
    assert item.state == "broken"
    assert item.connections["boeken"].startswith("broken: AccountView refused")
    assert item.open_alerts == ["broken_connection"]
    assert Integration.objects.get().paused_reason.startswith("Paused by Koppel")
    assert summary(now + timedelta(minutes=5)).workers == {"host-worker": f"silent since {now:%Y-%m-%d %H:%M} UTC"}


def test_the_command_prints_a_table_or_json_and_fails_while_broken(merchant: Shop) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["status"])
    assert shown.exit_code == 0, shown.output
    assert "bakkerij-shop" in shown.output and "ok" in shown.output
    connections.mark_broken(merchant.books, "AccountView refused the authorisation (invalid_grant)", timezone.now())
    as_json = runner.invoke(app, ["status", "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["integrations"][0]["state"] == "broken"
