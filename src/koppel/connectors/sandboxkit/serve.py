"""Run an ASGI app (a sandbox) with uvicorn in a background thread on 127.0.0.1, for tests, demo and bench."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from koppel.connectors.sandboxkit.faults import quiet_injected_drops


@dataclass
class RunningServer:
    """A server started by `serve_in_thread`; `stop()` shuts it down and waits for the thread."""

    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0,
                    startup_timeout: float = 10.0) -> RunningServer:
    """Start `app` on host:port (0 picks a free port) and return once it accepts connections."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("sandboxes listen on the loopback interface only")
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    quiet_injected_drops()
    thread = threading.Thread(target=server.run, name=f"sandbox:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"sandbox on {host}:{port} did not start")
        time.sleep(0.01)
    return RunningServer(host=host, port=port, server=server, thread=thread)
