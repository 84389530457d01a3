"""`koppel sandbox --json`: one JSON line with each sandbox's URL and credentials, enough for a script to
call both; the process stops on SIGTERM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.oauth import MemoryTokenStore


def test_koppel_sandbox_json_prints_urls_and_credentials(tmp_path: Path) -> None:
    env = {**os.environ, "KOPPEL_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "koppel.cli", "sandbox", "--json", "--shop-port", "0", "--books-port", "0",
               "--orders", "3", "--articles", "3", "--fault-seed", "42"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        described = json.loads(process.stdout.readline())
        shop, books = described["mijnwebwinkel"], described["accountview"]
        assert shop["fault_seed"] == books["fault_seed"] == 42
        orders = httpx.get(f"{shop['url']}/v1/orders", params={"token": shop["token"],
                                                              "partner_token": shop["partner_token"]})
        assert orders.status_code == 200 and len(orders.json()) == 3
        with AccountViewClient(books["url"], client_id=books["client_id"], client_secret=books["client_secret"],
                               token_store=MemoryTokenStore(), company_id=books["company_id"]) as client:
            redirect = books["redirect_uri_example"]
            url, _ = client.authorize_url(redirect)
            approved = urlparse(client.http.get(url).headers["location"])  # the sandbox approves at once
            client.exchange_code(parse_qs(approved.query)["code"][0], redirect)
            assert [c.code for c in client.companies()] == [books["company_code"]]
        assert httpx.get(f"{books['admin_url']}/state").json()["fault_seed"] == 42
        assert httpx.get(f"{shop['admin_url']}/calls").json()["total"] == 1
    finally:
        process.terminate()
        process.wait(timeout=30)
