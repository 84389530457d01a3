"""`python -m koppel.connectors.accountview.sandbox [--port N] [--seed N] [--size N] [--json] …`: the sandbox in
the foreground, on the sandbox kit's runner (`--help` lists every option)."""

from __future__ import annotations

import argparse

from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.sandboxkit import runner


def own_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=50, help="articles, debtors and documents to seed")


def build(args: argparse.Namespace) -> AccountViewSandbox:
    return AccountViewSandbox(seed=args.seed, size=args.size)


def main(argv: list[str] | None = None) -> None:
    runner.main("accountview", build, port=0, own_arguments=own_arguments, argv=argv)


if __name__ == "__main__":
    main()
