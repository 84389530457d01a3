"""/healthz, /readyz and /metrics, through Django's test client against the test database."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from koppel.alerts import metrics as metrics_module
from koppel.alerts.metrics import MeteredTransport
from koppel.alerts.settings import alert_settings
from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity, Run
from koppel.core.alerts.models import Alert
from koppel.core.integrations.models import Connection, Integration
from koppel.web import health

pytestmark = pytest.mark.django_db


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_healthz_answers_while_the_process_lives() -> None:
    answer = Client().get("/healthz")
    assert answer.status_code == 200 and answer.content == b"ok\n"


def test_readyz_checks_the_database_and_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    ready = Client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "database": "ok", "engine": "ok"}
    gone = create_engine("postgresql+psycopg://koppel@127.0.0.1:1/koppel_dbos", pool_pre_ping=True)
    monkeypatch.setattr(health, "_system_database", lambda: gone)  # the engine's database unreachable
    down = Client().get("/readyz")
    assert down.status_code == 503
    assert down.json()["ready"] is False and down.json()["database"] == "ok"
    assert "OperationalError" in down.json()["engine"]


def test_metrics_count_runs_records_durations_and_problems() -> None:
    workspace = Workspace.objects.create(name="metriek")
    shop = Connection.objects.create(workspace=workspace, name="s", system="mijnwebwinkel")
    books = Connection.objects.create(workspace=workspace, name="b", system="accountview",
                                      settings={"company_id": "1"}, broken_reason="invalid_grant")
    integration = Integration.objects.create(workspace=workspace, name="metriek-shop", shop=shop, books=books,
                                             paused_reason="Paused by Koppel: …")
    now = timezone.now()
    for seconds, status in ((3, "succeeded"), (40, "partial"), (2000, "failed")):
        Run.objects.create(integration=integration, flow="orders", status=status, started_at=now,
                           finished_at=now + timedelta(seconds=seconds))
    for n, outcome in enumerate(["sent", "sent", "needs_attention"]):
        Activity.objects.create(integration=integration, entity="order", key=str(n), outcome=outcome,
                                created_at=now, updated_at=now)
    Alert.objects.create(kind="broken_connection", key="broken_connection:1", opened_at=now)

    answer = Client().get("/metrics")
    assert answer.status_code == 200
    found = samples(answer.content.decode())
    assert found[("koppel_runs", (("flow", "orders"), ("status", "partial")))] == 1
    assert found[("koppel_records", (("entity", "order"), ("integration", "metriek-shop"), ("outcome", "sent")))] == 2
    assert found[("koppel_run_duration_seconds_bucket", (("flow", "orders"), ("le", "5.0")))] == 1
    assert found[("koppel_run_duration_seconds_bucket", (("flow", "orders"), ("le", "60.0")))] == 2
    assert found[("koppel_run_duration_seconds_count", (("flow", "orders"),))] == 3
    assert found[("koppel_alerts_open", (("kind", "broken_connection"),))] == 1
    assert found[("koppel_connections_broken", (("system", "accountview"),))] == 1
    assert found[("koppel_integrations_paused", ())] == 1


def test_api_calls_are_counted_by_system_and_outcome() -> None:
    answers = iter([200, 429, 503, 404])
    inner = httpx.MockTransport(lambda request: httpx.Response(next(answers)))
    with httpx.Client(transport=MeteredTransport("mijnwebwinkel", inner)) as client:
        before = samples(Client().get("/metrics").content.decode())
        for _ in range(4):
            client.get("http://127.0.0.1:9/orders")
    after = samples(Client().get("/metrics").content.decode())
    for outcome in ("ok", "rate_limited", "server_error", "client_error"):
        key = ("koppel_api_calls_total", (("outcome", outcome), ("system", "mijnwebwinkel")))
        assert after[key] - before.get(key, 0) == 1


def test_metrics_want_the_token_when_one_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_ALERTS_METRICS_TOKEN", "t0ken")
    alert_settings.cache_clear()
    try:
        assert Client().get("/metrics").status_code == 401
        assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
        assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t0ken").status_code == 200
    finally:
        alert_settings.cache_clear()


def test_the_queue_depth_is_left_out_where_no_engine_runs() -> None:
    assert metrics_module.queue_depth() is None
    assert "koppel_queue_depth" not in Client().get("/metrics").content.decode()


def test_without_a_token_metrics_answer_this_machine_and_operators_only(
    django_user_model: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KOPPEL_ALERTS_METRICS_TOKEN", raising=False)
    alert_settings.cache_clear()
    try:
        assert Client().get("/metrics").status_code == 200  # the test client is 127.0.0.1
        assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 401
        # a proxy on this machine passing on a stranger's request
        assert Client().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 401
        merchant = django_user_model.objects.create_user("merchant", password="a long password 1")
        signed_in = Client(REMOTE_ADDR="10.1.2.3")
        signed_in.force_login(merchant)
        assert signed_in.get("/metrics").status_code == 401
        operator = django_user_model.objects.create_superuser("operator", password="a long password 2")
        signed_in.force_login(operator)
        assert signed_in.get("/metrics").status_code == 200
    finally:
        alert_settings.cache_clear()
