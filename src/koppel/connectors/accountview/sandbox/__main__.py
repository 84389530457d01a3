"""`python -m koppel.connectors.accountview.sandbox [--port N] [--seed N] [--size N]`: run the sandbox by hand
and print the credentials (the `koppel sandbox` command starts the same `AccountViewSandbox`)."""

from __future__ import annotations

import argparse
import time

from koppel.connectors.accountview.sandbox import AccountViewSandbox


def main() -> None:
    parser = argparse.ArgumentParser(description="AccountView.net sandbox")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=int, default=50)
    args = parser.parse_args()
    sandbox = AccountViewSandbox(seed=args.seed, size=args.size)
    info = sandbox.start(port=args.port)
    print(
        f"AccountView sandbox  {info.url}\n  client id      {info.client_id}\n  client secret  "
        f"{info.client_secret}\n  company id     {info.company_id} ({info.company_code})\n"
        f"  admin          {info.url}/_sandbox/"
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sandbox.stop()


if __name__ == "__main__":
    main()
