"""Prometheus metrics for operators.

Counted in the process that makes the calls (`koppel run`, a worker): API calls per system and outcome
(through `MeteredTransport`, which the engine's clients send through) and the seconds spent waiting for
a rate limit (`timed`, `TimedPostgresRateLimiter`). Read from the database at each scrape, so right
whichever process serves /metrics: runs, records by outcome, run durations, open alerts, broken
connections, paused integrations, failing channels, and the engine's queue depth when the engine runs in
this process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from koppel.connectors.http.postgres_rate_limit import PostgresRateLimiter
from koppel.connectors.http.rate_limit import NO_LIMIT, RateLimiter

API_CALLS = Counter("koppel_api_calls", "calls to a remote system, by outcome", ["system", "outcome"])
RATE_LIMIT_WAIT = Counter("koppel_rate_limit_wait_seconds", "time spent waiting for a rate limit", ["system"])
DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, float("inf"))


def outcome_of(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "client_error" if status >= 400 else "ok"


class MeteredTransport(httpx.BaseTransport):
    """Counts every call of a client, by system and outcome (transport errors too), and passes it on."""

    def __init__(self, system: str, inner: httpx.BaseTransport | None = None) -> None:
        self.system = system
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError:
            API_CALLS.labels(self.system, "transport_error").inc()
            raise
        API_CALLS.labels(self.system, outcome_of(response.status_code)).inc()
        return response

    def close(self) -> None:
        self.inner.close()


def _timed(system: str, wait: Callable[[], None]) -> None:
    started = time.monotonic()
    wait()
    RATE_LIMIT_WAIT.labels(system).inc(time.monotonic() - started)


class TimedLimiter:
    """A process rate limiter whose waits are counted per system."""

    def __init__(self, system: str, inner: RateLimiter) -> None:
        self.system = system
        self.inner = inner

    def wait(self) -> None:
        _timed(self.system, self.inner.wait)


def timed(system: str, limiter: RateLimiter) -> RateLimiter:
    """The limiter with its waits counted (no limit stays no limit: nothing to wait for)."""
    return limiter if limiter is NO_LIMIT else TimedLimiter(system, limiter)


class TimedPostgresRateLimiter(PostgresRateLimiter):
    """The workers' shared limit in PostgreSQL, its waits counted per system."""

    def __init__(self, system: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.system = system

    def wait(self) -> None:
        _timed(self.system, super().wait)


class DatabaseCollector(Collector):
    """What the database says at the moment of the scrape."""

    def collect(self) -> Iterator[Metric]:
        from django.db import close_old_connections
        from django.db.models import Count
        from django.utils import timezone

        from koppel.core.activity.models import Activity, Run
        from koppel.core.alerts.models import Alert, Channel
        from koppel.core.integrations.models import Connection, Integration

        try:
            runs = GaugeMetricFamily("koppel_runs", "runs kept, by flow and status", labels=["flow", "status"])
            for row in Run.objects.values("flow", "status").annotate(n=Count("pk")):
                runs.add_metric([row["flow"], row["status"]], row["n"])
            yield runs
            records = GaugeMetricFamily("koppel_records", "records by their latest outcome",
                                        labels=["integration", "entity", "outcome"])
            for row in Activity.objects.values("integration__name", "entity", "outcome").annotate(n=Count("pk")):
                records.add_metric([row["integration__name"], row["entity"], row["outcome"]], row["n"])
            yield records
            yield _durations(Run.objects.filter(finished_at__gte=timezone.now() - timedelta(days=1))
                             .values_list("flow", "started_at", "finished_at"))
            alerts = GaugeMetricFamily("koppel_alerts_open", "open alerts by kind", labels=["kind"])
            for row in Alert.objects.filter(resolved_at__isnull=True).values("kind").annotate(n=Count("pk")):
                alerts.add_metric([row["kind"]], row["n"])
            yield alerts
            broken = GaugeMetricFamily("koppel_connections_broken", "broken connections", labels=["system"])
            for row in Connection.objects.exclude(broken_reason="").values("system").annotate(n=Count("pk")):
                broken.add_metric([row["system"]], row["n"])
            yield broken
            yield GaugeMetricFamily("koppel_integrations_paused", "paused integrations",
                                    value=Integration.objects.exclude(paused_reason="").count())
            yield GaugeMetricFamily("koppel_alert_channels_failing", "alert channels whose deliveries fail",
                                    value=Channel.objects.filter(failing_since__isnull=False).count())
            depth = queue_depth()
            if depth is not None:
                yield GaugeMetricFamily("koppel_queue_depth", "units of work waiting in the engine's queues",
                                        value=depth)
        finally:
            close_old_connections()


def _durations(rows: Any) -> HistogramMetricFamily:
    """Run durations of the last day per flow, as a histogram."""
    family = HistogramMetricFamily("koppel_run_duration_seconds", "duration of the runs finished in the last day",
                                   labels=["flow"])
    per_flow: dict[str, list[float]] = {}
    for flow, started, finished in rows:
        per_flow.setdefault(flow, []).append((finished - started).total_seconds())
    for flow, seconds in sorted(per_flow.items()):
        buckets = [(str(bound), sum(1 for s in seconds if s <= bound)) for bound in DURATION_BUCKETS]
        family.add_metric([flow], [(b if b != "inf" else "+Inf", n) for b, n in buckets], sum(seconds))
    return family


def queue_depth() -> int | None:
    """Units of work waiting, when the engine runs in this process (else None: another process knows)."""
    from koppel.sync import engine

    if not engine.is_running():
        return None
    from dbos import DBOS

    return len(DBOS.list_workflows(status="ENQUEUED", load_input=False, load_output=False))


_registered = threading.Lock()
_collector: DatabaseCollector | None = None


def registry() -> Any:
    """The process's registry, with the database collector registered once."""
    global _collector
    with _registered:
        if _collector is None:
            _collector = DatabaseCollector()
            REGISTRY.register(_collector)
    return REGISTRY
