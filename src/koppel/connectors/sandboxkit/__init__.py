"""What both sandboxes share: running an ASGI app on 127.0.0.1, fault injection with a settable seed, a
server-side rate limit and call counter, the quirk-switch base, the common admin surface and the runner."""

from koppel.connectors.sandboxkit.admin import ADMIN, Controls
from koppel.connectors.sandboxkit.faults import Fault, FaultMiddleware, Faults
from koppel.connectors.sandboxkit.limits import Limits, RateLimit
from koppel.connectors.sandboxkit.quirks import QuirkSwitches
from koppel.connectors.sandboxkit.serve import RunningServer, serve_in_thread

__all__ = [
    "ADMIN",
    "Controls",
    "Fault",
    "FaultMiddleware",
    "Faults",
    "Limits",
    "QuirkSwitches",
    "RateLimit",
    "RunningServer",
    "serve_in_thread",
]
