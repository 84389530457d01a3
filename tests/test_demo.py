"""`koppel demo` end to end, as `make demo` runs it: sandboxes, integration, orders flow, summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_runner import make_koppel


@pytest.mark.slow
def test_demo_sends_orders_parks_the_problem_ones_and_writes_nothing_twice(tmp_path: Path) -> None:
    koppel = make_koppel(tmp_path, COLUMNS="200")
    result = koppel("demo", "--no-serve", "--orders", "30")
    out = result.stdout
    first = re.search(r"demo-shop: (\d+) sent, (\d+) skipped, (\d+) parked", out)
    assert first, out
    sent, skipped, parked = map(int, first.groups())
    assert sent >= 5 and skipped == 0 and parked == 3
    for reason in ("no customer e-mail", "no article with SKU (article code) ONBEKEND-404", "tolerance"):
        assert reason in out
    again = re.search(r"Second run over all orders \(--full\): (\d+) sent, (\d+) skipped, (\d+) parked", out)
    assert again, out
    assert again.groups() == ("0", str(sent), "3")
    integration_file = (koppel.data_dir / "demo-integration.toml").read_text()
    store_token = re.search(r'token = "(st_[^"]+)"', integration_file)
    assert store_token, integration_file
    assert store_token.group(1) not in out + result.stderr  # tokens never reach the console
