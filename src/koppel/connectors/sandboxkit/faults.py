"""Run-time fault injection for the sandboxes, as ASGI middleware.

A `Fault` applies to requests whose method and path match; it fires with a probability `rate`
(or for the next `count` matching requests). Kinds:
- latency: sleep `seconds` before handling;
- http_status: answer `status` (429 with `Retry-After`, 500, 503…) without handling;
- timeout: sleep `seconds` (longer than a client's timeout) and then answer 504;
- drop_after_commit: handle the request (the write is committed) and then cut the connection
  mid-body, so the client never sees the answer;
- malformed: handle the request and answer a truncated JSON body with status 200.
Which requests a fault hits is drawn from a seeded generator: each sandbox draws a fresh seed unless one is
given, and says which, so a run that found something can be repeated with the same draws.

An injected fault logs one line (`sandbox.fault`), not a traceback: a chaos run must not bury real problems.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

FaultKind = Literal["latency", "http_status", "timeout", "drop_after_commit", "malformed"]
log = structlog.get_logger("koppel.sandbox")


class InjectedDrop(ConnectionAbortedError):
    """Raised to make the server cut a connection on purpose; `quiet_injected_drops` keeps it out of logs."""


class _QuietInjectedDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedDrop))


def quiet_injected_drops() -> None:
    """uvicorn logs an app's exception with its traceback: not for a drop we injected (already logged)."""
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietInjectedDrops) for f in server_log.filters):
        server_log.addFilter(_QuietInjectedDrops())


@dataclass
class Fault:
    kind: FaultKind
    path: str = "*"                 # fnmatch pattern on the request path, e.g. "/v1/orders*"
    method: str = "*"               # "GET", "POST", … or "*"
    rate: float = 1.0               # probability per matching request
    count: int | None = None        # fire at most this many times (None: unlimited)
    status: int = 503
    seconds: float = 0.0
    retry_after: str | None = None  # value of the Retry-After header for http_status faults
    body: str = ""                  # body for http_status faults
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self.path)


@dataclass
class Faults:
    """The fault table of one sandbox; thread-safe, changeable while the sandbox runs. `seed=None` draws one."""

    seed: int | None = None
    items: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.reseed(self.seed)

    def reseed(self, seed: int | None = None) -> int:
        """Start the draws again from `seed` (None: a fresh random one); returns the seed in use."""
        self.seed = secrets.randbelow(2**31) if seed is None else seed
        self._random = random.Random(self.seed)
        return self.seed

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.items.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.items.clear()

    def pick(self, method: str, path: str) -> list[Fault]:
        chosen = []
        with self._lock:
            for fault in self.items:
                if not fault.matches(method, path):
                    continue
                if fault.count is not None and fault.fired >= fault.count:
                    continue
                if self._random.random() < fault.rate:
                    fault.fired += 1
                    chosen.append(fault)
        return chosen

    def as_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(vars(f)) for f in self.items]


class FaultMiddleware:
    """ASGI middleware applying `faults` to every request whose path does not start with `admin_prefix`."""

    def __init__(self, app: Any, faults: Faults, admin_prefix: str = "/_sandbox") -> None:
        self.app = app
        self.faults = faults
        self.admin_prefix = admin_prefix

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.admin_prefix):
            await self.app(scope, receive, send)
            return
        chosen = self.faults.pick(scope["method"], scope["path"])
        for fault in chosen:
            log.info("sandbox.fault", kind=fault.kind, method=scope["method"], path=scope["path"])
        for fault in chosen:
            if fault.kind == "latency":
                await asyncio.sleep(fault.seconds)
        for fault in chosen:
            if fault.kind == "http_status":
                await _answer(send, fault.status, fault.body or '{"error": "injected fault"}',
                              {"retry-after": fault.retry_after} if fault.retry_after else {})
                return
            if fault.kind == "timeout":
                await asyncio.sleep(fault.seconds or 30)
                await _answer(send, 504, '{"error": "gateway timeout"}', {})
                return
        after = next((f for f in chosen if f.kind in ("drop_after_commit", "malformed")), None)
        if after is None:
            await self.app(scope, receive, send)
            return
        await self._handle_then_spoil(scope, receive, send, after)

    async def _handle_then_spoil(self, scope: dict[str, Any], receive: Any, send: Any, fault: Fault) -> None:
        captured: list[dict[str, Any]] = []

        async def capture(message: dict[str, Any]) -> None:
            captured.append(message)

        await self.app(scope, receive, capture)
        if fault.kind == "malformed":
            await _answer(send, 200, '{"broken": [1, 2', {})
            return
        # Promise a body longer than what we send, then fail: the server closes the connection
        # and the client sees an incomplete response although the write was committed.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"id":', "more_body": True})
        raise InjectedDrop("sandbox fault: connection dropped after commit")


async def _answer(send: Any, status: int, body: str, headers: dict[str, str]) -> None:
    raw = body.encode()
    header_list = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    header_list += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": header_list})
    await send({"type": "http.response.body", "body": raw})
