"""What both sandboxes share: running an ASGI app on 127.0.0.1, and run-time fault injection."""

from koppel.connectors.sandboxkit.faults import Fault, FaultMiddleware, Faults
from koppel.connectors.sandboxkit.serve import RunningServer, serve_in_thread

__all__ = ["Fault", "FaultMiddleware", "Faults", "RunningServer", "serve_in_thread"]
