"""`python -m koppel.connectors.mijnwebwinkel.sandbox [--port N] [--seed N] [--articles N] [--orders N]`:
run the sandbox in the foreground and print how to reach it (what `koppel sandbox` calls)."""

from __future__ import annotations

import argparse
import time

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SeedSizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="MijnWebwinkel sandbox on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8481)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--categories", type=int, default=15)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--token", default=None)
    parser.add_argument("--partner-token", default=None)
    args = parser.parse_args(argv)
    sandbox = MijnWebwinkelSandbox(
        seed=args.seed,
        sizes=SeedSizes(args.categories, args.articles, args.orders),
        token=args.token,
        partner_token=args.partner_token,
    )
    info = sandbox.start(port=args.port)
    print(f"MijnWebwinkel sandbox on {info.url}")
    print(f"  token={info.token}")
    print(f"  partner_token={info.partner_token}")
    print(f"  try: curl '{info.url}/v1/orders?limit=2&token={info.token}&partner_token={info.partner_token}'")
    print(f"  admin: {info.admin_url}/state")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sandbox.stop()


if __name__ == "__main__":
    main()
