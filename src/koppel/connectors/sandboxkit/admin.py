"""The admin surface both sandboxes share under `/_sandbox/`: quirks, faults and their seed, the server-side
rate limit and the call counter. Each sandbox adds its own routes (seed data, state, tokens) beside these."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from koppel.connectors.sandboxkit.faults import Fault, FaultMiddleware, Faults
from koppel.connectors.sandboxkit.limits import CallerKey, Limits, LimitsMiddleware

ADMIN = "/_sandbox"
ENDPOINTS = [
    "GET|PUT /_sandbox/quirks {name: bool}",
    "GET|POST|DELETE /_sandbox/faults",
    "GET|PUT /_sandbox/faults/seed {seed}",
    "GET|PUT /_sandbox/rate-limit {per_second, burst} or null",
    "GET|DELETE /_sandbox/calls",
]


class Switches(Protocol):
    def as_json(self) -> dict[str, bool]: ...

    def update(self, changes: dict[str, Any]) -> None: ...


@dataclass
class Controls:
    """What a sandbox lets a test or an operator change at run time, besides its data."""

    quirks: Switches
    faults: Faults
    limits: Limits

    def wrap(self, app: Any, caller: CallerKey) -> Any:
        """The API behind the call counter and rate limit, then fault injection (the admin surface is spared)."""
        return LimitsMiddleware(FaultMiddleware(app, self.faults, admin_prefix=ADMIN), self.limits, caller, ADMIN)

    def routes(self) -> list[Route]:
        return [
            Route(f"{ADMIN}/quirks", _endpoint(self._quirks), methods=["GET", "PUT", "POST"]),
            Route(f"{ADMIN}/faults", _endpoint(self._faults), methods=["GET", "POST", "DELETE"]),
            Route(f"{ADMIN}/faults/seed", _endpoint(self._fault_seed), methods=["GET", "PUT"]),
            Route(f"{ADMIN}/rate-limit", _endpoint(self._rate_limit), methods=["GET", "PUT"]),
            Route(f"{ADMIN}/calls", _endpoint(self._calls), methods=["GET", "DELETE"]),
        ]

    async def _quirks(self, request: Request, body: Any) -> Any:
        if request.method != "GET":
            self.quirks.update(body or {})
        return self.quirks.as_json()

    async def _faults(self, request: Request, body: Any) -> Any:
        if request.method == "POST":
            self.faults.add(Fault(**(body or {})))
        elif request.method == "DELETE":
            self.faults.clear()
        return self.faults.as_json()

    async def _fault_seed(self, request: Request, body: Any) -> Any:
        if request.method == "PUT":
            self.faults.reseed(None if not body or body.get("seed") is None else int(body["seed"]))
        return {"seed": self.faults.seed}

    async def _rate_limit(self, request: Request, body: Any) -> Any:
        if request.method == "PUT":
            self.limits.set_rate_limit(
                None if not body else float(body["per_second"]), int((body or {}).get("burst", 5))
            )
        return self.limits.rate_limit_json()

    async def _calls(self, request: Request, body: Any) -> Any:
        if request.method == "DELETE":
            self.limits.reset_calls()
        return self.limits.calls_json()


def _endpoint(handler: Callable[[Request, Any], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            raw = await request.body()
            result = await handler(request, json.loads(raw) if raw.strip() else None)
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(result)

    return endpoint
