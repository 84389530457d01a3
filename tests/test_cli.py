"""The `koppel` command: what the commands print and return, checked in this process against the test
database, and once end to end as a user runs them, each command in a real subprocess."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli_runner import invoke, make_koppel
from tests.core.integrations.test_apply import GOOD, SECRETS


@pytest.fixture
def integration_file(tmp_path: Path, koppel_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ACME_MWW_TOKEN", "store-Tk81xQ-secret")
    path = tmp_path / "integration.toml"
    path.write_text(GOOD)
    return path


@pytest.mark.django_db
def test_apply_says_what_it_changed_and_then_that_nothing_changed(integration_file: Path) -> None:
    first = invoke("integration", "apply", str(integration_file))
    assert first.exit_code == 0
    assert "created integration acme-shop" in first.stdout and "created connection books" in first.stdout
    again = invoke("integration", "apply", str(integration_file))
    assert (again.exit_code, again.stdout.strip()) == (0, "nothing to change")
    listed = json.loads(invoke("integration", "list", "--json").stdout)
    assert listed == [{"name": "acme-shop", "workspace": "acme", "shop": "shop", "books": "books", "enabled": True,
                       "flows": ["orders"]}]
    assert not [s for s in SECRETS if s in first.stdout + again.stdout]


@pytest.mark.django_db
def test_a_refused_file_exits_1_and_names_the_field_on_stderr(integration_file: Path) -> None:
    integration_file.write_text(GOOD.replace('write_as = "invoice"', 'write_as = "fax"'))
    refused = invoke("integration", "apply", str(integration_file))
    assert refused.exit_code == 1
    assert "integration.flows.orders.write_as" in refused.stderr and refused.stdout == ""


@pytest.mark.django_db
def test_activity_of_an_unknown_integration_is_empty() -> None:
    shown = invoke("activity", "--integration", "nobody", "--json")
    assert (shown.exit_code, json.loads(shown.stdout)) == (0, [])


@pytest.mark.slow
def test_a_fresh_data_dir_set_up_by_the_commands(tmp_path: Path) -> None:
    """migrate, integration apply, integration list and rotate-keys, each as its own process."""
    koppel = make_koppel(tmp_path, ACME_MWW_TOKEN="store-Tk81xQ-secret")
    path = tmp_path / "integration.toml"
    path.write_text(GOOD)
    koppel("migrate")
    applied = koppel("integration", "apply", str(path))
    assert "created integration acme-shop" in applied.stdout
    listed = json.loads(koppel("integration", "list", "--json").stdout)
    assert [i["name"] for i in listed] == ["acme-shop"]
    rotated = koppel("rotate-keys")
    assert "re-encrypted 2 connection(s) under a new key" in rotated.stdout
    with sqlite3.connect(koppel.data_dir / "koppel.sqlite") as db:
        dump = "\n".join(db.iterdump())
    assert "acme-shop" in dump and not [s for s in SECRETS if s in dump]
    consoles = applied.stdout + applied.stderr + rotated.stdout + rotated.stderr
    assert not [s for s in SECRETS if s in consoles]
