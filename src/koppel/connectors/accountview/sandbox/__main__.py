"""`python -m koppel.connectors.accountview.sandbox [--port N] [--seed N] [--size N] [--json] …`: the sandbox in
the foreground, on the sandbox kit's runner (`--help` lists every option)."""

from __future__ import annotations

import argparse

from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.sandboxkit import runner


def own_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=50, help="articles, debtors and documents to seed")
    parser.add_argument("--deliver-every", type=float, default=None, metavar="SECONDS",
                        help="deliver the oldest open sales order every SECONDS (default: never)")


def build(args: argparse.Namespace) -> AccountViewSandbox:
    sandbox = AccountViewSandbox(seed=args.seed, size=args.size)
    sandbox.auto_deliver(args.deliver_every)
    return sandbox


def main(argv: list[str] | None = None) -> None:
    runner.main("accountview", build, port=0, own_arguments=own_arguments, argv=argv)


if __name__ == "__main__":
    main()
