"""`python -m koppel.connectors.mijnwebwinkel.sandbox [--port N] [--seed N] [--orders N] [--json] …`: the
sandbox in the foreground, on the sandbox kit's runner (`--help` lists every option)."""

from __future__ import annotations

import argparse

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SeedSizes
from koppel.connectors.sandboxkit import runner


def own_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--categories", type=int, default=15)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument(
        "--variant-groups", action="store_true", help="the catalogue's variant groups as one article each"
    )
    parser.add_argument("--token", default=None)
    parser.add_argument("--partner-token", default=None)


def build(args: argparse.Namespace) -> MijnWebwinkelSandbox:
    return MijnWebwinkelSandbox(
        seed=args.seed,
        sizes=SeedSizes(args.categories, args.articles, args.orders, variant_groups=args.variant_groups),
        token=args.token,
        partner_token=args.partner_token,
    )


def main(argv: list[str] | None = None) -> None:
    runner.main("mijnwebwinkel", build, port=8481, own_arguments=own_arguments, argv=argv)


if __name__ == "__main__":
    main()
