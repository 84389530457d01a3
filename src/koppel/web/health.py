"""Endpoints for operators and their load balancers: /healthz (the process answers), /readyz (the database
and the engine's system database answer) and /metrics (Prometheus; see koppel.alerts.metrics). /metrics
names integrations: with `KOPPEL_ALERTS_METRICS_TOKEN` set it wants `Authorization: Bearer <token>`;
without, it answers only superusers and clients on this machine that are no proxy."""

from __future__ import annotations

import hmac
from functools import cache
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import create_engine, text

from koppel.alerts.metrics import registry
from koppel.alerts.settings import alert_settings
from koppel.settings import get_settings
from koppel.sync.engine import system_database_url


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")


@cache
def _system_database() -> Any:
    return create_engine(system_database_url(get_settings()), pool_pre_ping=True, pool_size=1)


def _check(probe: Any) -> str:
    try:
        probe()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "ok"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _engine() -> None:
    with _system_database().connect() as conn:
        conn.execute(text("SELECT 1"))


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check(_database), "engine": _check(_engine)}
    ready = all(outcome == "ok" for outcome in checks.values())
    return JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = alert_settings().metrics_token.get_secret_value()
    given = request.headers.get("Authorization", "")
    if token and not hmac.compare_digest(given, f"Bearer {token}"):
        return HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
    if not token and not (request.user.is_superuser or _from_this_machine(request)):
        # the metrics name every workspace's integrations: without a token, operators and this machine only
        return HttpResponse("set KOPPEL_ALERTS_METRICS_TOKEN to scrape from elsewhere\n", status=401,
                            content_type="text/plain")
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


urlpatterns: list[URLPattern] = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
]


def _from_this_machine(request: HttpRequest) -> bool:
    """A client on this machine that is not a proxy passing on someone else's request."""
    forwarded = any(h in request.headers for h in ("X-Forwarded-For", "X-Real-Ip", "Forwarded"))
    return request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1") and not forwarded
