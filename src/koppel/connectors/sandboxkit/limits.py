"""A sandbox's server-side rate limit and call counter, as ASGI middleware in front of the API.

The rate limit is a token bucket per caller (a key the sandbox derives from the request's credentials):
over it, the sandbox answers 429 with `Retry-After`, as the real APIs do. The call counter counts every API
request that arrived (refused ones too) by method and path, so a benchmark reads what the remote saw
instead of metering its own client.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger("koppel.sandbox")
CallerKey = Callable[[dict[str, Any]], str]


@dataclass
class RateLimit:
    """`per_second` calls per caller, in bursts of up to `burst`."""

    per_second: float
    burst: int = 5
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    def take(self, caller: str, now: float) -> float:
        """0 when the call may go, else the seconds until it may."""
        tokens, last = self._buckets.get(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens >= 1:
            self._buckets[caller] = (tokens - 1, now)
            return 0.0
        self._buckets[caller] = (tokens, now)
        return (1 - tokens) / self.per_second

    def as_json(self) -> dict[str, float]:
        return {"per_second": self.per_second, "burst": self.burst}


class Limits:
    """The rate limit (None: off) and the call counts of one sandbox; thread-safe."""

    def __init__(self) -> None:
        self.rate_limit: RateLimit | None = None
        self.calls: Counter[str] = Counter()
        self.refused = 0
        self._lock = threading.Lock()

    def set_rate_limit(self, per_second: float | None, burst: int = 5) -> None:
        with self._lock:
            self.rate_limit = None if not per_second else RateLimit(float(per_second), max(1, int(burst)))

    def admit(self, caller: str, method: str, path: str) -> float:
        """Count the call; 0 when it may go, else the seconds the caller must wait."""
        with self._lock:
            self.calls[f"{method} {path}"] += 1
            wait = 0.0 if self.rate_limit is None else self.rate_limit.take(caller, time.monotonic())
            self.refused += wait > 0
            return wait

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()
            self.refused = 0

    def calls_json(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self.calls.values()), "refused": self.refused, "by_route": dict(self.calls)}

    def rate_limit_json(self) -> dict[str, float] | None:
        with self._lock:
            return None if self.rate_limit is None else self.rate_limit.as_json()


class LimitsMiddleware:
    """Counts every request outside `admin_prefix` and answers 429 + `Retry-After` over the rate limit."""

    def __init__(self, app: Any, limits: Limits, caller: CallerKey, admin_prefix: str = "/_sandbox") -> None:
        self.app = app
        self.limits = limits
        self.caller = caller
        self.admin_prefix = admin_prefix

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.admin_prefix):
            await self.app(scope, receive, send)
            return
        wait = self.limits.admit(self.caller(scope), scope["method"], scope["path"])
        if not wait:
            await self.app(scope, receive, send)
            return
        log.debug("sandbox.rate_limited", path=scope["path"], wait=round(wait, 3))
        body = b'{"code": 429, "message": "Too many requests", "description": "Rate limit exceeded"}'
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(max(1, math.ceil(wait))).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})
