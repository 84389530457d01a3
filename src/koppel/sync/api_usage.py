"""API calls and rate-limit waits per integration, system and day, for the insights.

Counted in memory by the process that makes the calls (the engine's clients send through `CountedTransport`
and wait through `CountedLimiter`), and added to the daily totals (`daily_totals`) now and then, never once
per call: every `FLUSH_SECONDS` by a thread beside the engine (and once more when it stops), and at the end
of each run this process closes. Every process adds to the same rows, so workers on several machines add up.

Per system and day: `calls` (every request sent, refused ones and transport errors too), `rate_limited`
(answers 429), `limiter_wait_s` (seconds waited on our own rate limiter before calls) and `retry_after_s`
(seconds the system asked us to wait with `Retry-After` on its 429s: the client sleeps that long, or the
durable layer tries again no sooner).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import date

import httpx
from django.db import connection
from django.utils import timezone

from koppel.connectors.http import parse_retry_after
from koppel.connectors.http.rate_limit import NO_LIMIT, RateLimiter
from koppel.sync import daily_totals, engine

log = logging.getLogger(__name__)

CALLS, RATE_LIMITED, LIMITER_WAIT, RETRY_AFTER = "calls", "rate_limited", "limiter_wait_s", "retry_after_s"
MEASURES = (CALLS, RATE_LIMITED, LIMITER_WAIT, RETRY_AFTER)
FLUSH_SECONDS = 30.0  # how much a process that dies unannounced may lose, at most

_pending: dict[tuple[int, date], dict[str, float]] = {}
_lock = threading.Lock()
_flusher_of: engine.Engine | None = None


def count(integration_id: int, system: str, **amounts: float) -> None:
    """Add to this process's counts of today, e.g. count(3, "accountview", calls=1, rate_limited=1)."""
    day = timezone.localdate()
    with _lock:
        totals = _pending.setdefault((integration_id, day), {})
        for name, amount in amounts.items():
            if amount:
                key = daily_totals.measure(name, system)
                totals[key] = totals.get(key, 0.0) + amount
    _start_flusher()


def flush() -> int:
    """Add what this process counted since the last flush to the daily totals; returns how many
    (integration, day) groups were written. Counts that could not be written are kept for the next flush."""
    from koppel.core.integrations.models import Integration

    with _lock:
        taken = dict(_pending)
        _pending.clear()
    if not taken:
        return 0
    try:
        known = set(Integration.objects.filter(pk__in={iid for iid, _ in taken}).values_list("pk", flat=True))
        for (integration_id, day), measures in taken.items():
            if integration_id in known:  # an integration deleted meanwhile takes its counts with it
                daily_totals.add(integration_id, day, measures)
    except Exception:
        log.warning("API usage counts could not be written; kept for the next try", exc_info=True)
        with _lock:
            for key, measures in taken.items():
                totals = _pending.setdefault(key, {})
                for name, amount in measures.items():
                    totals[name] = totals.get(name, 0.0) + amount
        return 0
    return len(taken)


def _start_flusher() -> None:
    """One flushing thread beside the engine of this process (none without an engine: runs in this
    process flush when they close)."""
    global _flusher_of
    if not engine.is_running():
        return
    running = engine.running()
    with _lock:
        if _flusher_of is running:
            return
        _flusher_of = running
    running.start_thread("koppel-api-usage", lambda: _flush_until_stopped(running))


def _flush_until_stopped(running: engine.Engine) -> None:
    while not running.stop.wait(FLUSH_SECONDS):
        _flush_and_close()
    _flush_and_close()  # what the last seconds counted, before the engine goes


def _flush_and_close() -> None:
    try:
        flush()
    finally:
        connection.close()  # this thread's own connection; it sleeps until the next flush


class CountedTransport(httpx.BaseTransport):
    """Counts an integration's calls to a system, its 429s and the `Retry-After` they asked, and passes
    each call on."""

    def __init__(self, integration_id: int, system: str, inner: httpx.BaseTransport) -> None:
        self.integration_id = integration_id
        self.system = system
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError:
            count(self.integration_id, self.system, calls=1)
            raise
        limited = response.status_code == 429
        asked = parse_retry_after(response.headers.get("retry-after")) if limited else None
        count(self.integration_id, self.system, calls=1, rate_limited=int(limited), retry_after_s=asked or 0.0)
        return response

    def close(self) -> None:
        self.inner.close()


class CountedLimiter:
    """A rate limiter whose waits are counted for an integration and system."""

    def __init__(self, integration_id: int, system: str, inner: RateLimiter) -> None:
        self.integration_id = integration_id
        self.system = system
        self.inner = inner

    def wait(self) -> None:
        started = time.monotonic()
        self.inner.wait()
        count(self.integration_id, self.system, limiter_wait_s=time.monotonic() - started)


def counted_transport(integration_id: int | None, system: str, inner: httpx.BaseTransport) -> httpx.BaseTransport:
    """`inner`, its calls counted for the integration (not counted for no integration: a connection check)."""
    return inner if integration_id is None else CountedTransport(integration_id, system, inner)


def counted_limiter(integration_id: int | None, system: str, inner: RateLimiter) -> RateLimiter:
    """`inner`, its waits counted for the integration (no limit stays no limit: nothing to wait for)."""
    return inner if integration_id is None or inner is NO_LIMIT else CountedLimiter(integration_id, system, inner)
