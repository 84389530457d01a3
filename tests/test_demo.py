"""`koppel demo` end to end, as `make demo` runs it: sandboxes, integration, orders flow, summary."""

from __future__ import annotations

import re
import shlex
import subprocess
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
    hint = re.search(r"^  (KOPPEL_DATA_DIR=.*createuser NAME --workspace demo)$", out, flags=re.M)
    assert hint, out
    created = run_as_printed(hint.group(1).replace("NAME", "ann"), koppel.env)
    assert created.returncode == 0 and "created user ann, owner of workspace demo" in created.stdout, created.stderr
    assert koppel.python("from koppel.core.accounts.models import Membership\n"
                         "print(list(Membership.objects.values_list('user__username', 'workspace__name')))"
                         ).strip() == "[('ann', 'demo')]"


def run_as_printed(line: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A printed `NAME=value … command` line, run as a shell would, in another terminal (other environment)."""
    words = shlex.split(line)
    assignments = {}
    while "=" in words[0] and not words[0].startswith("/"):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    other_terminal = {k: v for k, v in env.items() if k != "KOPPEL_DATA_DIR"}
    return subprocess.run(words, env={**other_terminal, **assignments, "KOPPEL_NEW_PASSWORD": "kast-Wolk-7-fiets"},
                          text=True, capture_output=True, timeout=120)
