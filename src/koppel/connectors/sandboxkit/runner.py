"""The one runner behind `python -m koppel.connectors.<system>.sandbox` and `koppel sandbox`: start on
127.0.0.1, say how to reach each sandbox (text, or one JSON line for scripts), run until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from koppel.connectors.sandboxkit.faults import Faults
from koppel.connectors.sandboxkit.limits import Limits


class RunnableSandbox(Protocol):
    faults: Faults
    limits: Limits

    def start(self, port: int = 0) -> Any: ...

    def stop(self) -> None: ...

    def describe(self) -> dict[str, Any]:
        """URL, credentials, admin URL and fault seed: what a script needs to use the sandbox."""
        ...


def add_arguments(parser: argparse.ArgumentParser, *, port: int) -> None:
    """The options every sandbox takes."""
    parser.add_argument("--port", type=int, default=port, help="0: any free port")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data")
    parser.add_argument("--fault-seed", type=int, default=None, help="seed of the fault draws (default: random)")
    parser.add_argument("--rate-limit", type=float, default=None, help="calls per second before 429 (default: off)")
    parser.add_argument("--json", action="store_true", help="print one JSON line with URLs and credentials")


def configure(sandbox: RunnableSandbox, *, fault_seed: int | None, rate_limit: float | None) -> None:
    sandbox.faults.reseed(fault_seed)
    sandbox.limits.set_rate_limit(rate_limit)


def description_text(described: Mapping[str, Mapping[str, Any]]) -> str:
    lines = []
    for name, facts in described.items():
        lines.append(f"{name} sandbox")
        lines += [f"  {key:<14} {value}" for key, value in facts.items()]
    return "\n".join(lines)


def run_until_stopped(sandboxes: Mapping[str, RunnableSandbox], *, as_json: bool,
                      show: Callable[[Mapping[str, Mapping[str, Any]]], None] | None = None) -> None:
    """Print the started sandboxes' descriptions, then wait for Ctrl-C or SIGTERM and stop them."""
    stopped = threading.Event()
    try:
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        described = {name: box.describe() for name, box in sandboxes.items()}
        if as_json:
            print(json.dumps(described), flush=True)
        elif show is not None:
            show(described)
        else:
            print(description_text(described), flush=True)
        while not stopped.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for box in sandboxes.values():
            box.stop()


def main(name: str, build: Callable[[argparse.Namespace], RunnableSandbox], *, port: int,
         own_arguments: Callable[[argparse.ArgumentParser], None], argv: list[str] | None = None) -> None:
    """`python -m` entry point of one sandbox: `build(args)` makes it, the runner does the rest."""
    parser = argparse.ArgumentParser(description=f"{name} sandbox on 127.0.0.1")
    add_arguments(parser, port=port)
    own_arguments(parser)
    args = parser.parse_args(argv)
    sandbox = build(args)
    configure(sandbox, fault_seed=args.fault_seed, rate_limit=args.rate_limit)
    sandbox.start(port=args.port)
    run_until_stopped({name: sandbox}, as_json=args.json)
