"""The right to erasure reaches the engine's system database: after erasing an address from a workspace, no
row of any table of DBOS's system database names it for that workspace's finished workflows, in any letter
case; a workflow still running keeps what its recovery needs; another customer's and another workspace's
rows stay; the finished workflows' results still read. On SQLite, and on PostgreSQL; and nothing to do (no
error) where no engine ever ran. A worker's erasure that fails says why without the address (DBOS stores it),
and refuses a request sealed for another workspace or with other keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from koppel.settings import get_settings
from koppel.sync import erasure
from tests.flows.scenarios import spawn
from tests.postgres import PostgresServer

SCENARIOS = "tests.sync.engine_children"


def erase_in_child(tmp_path: Path, database_url: str | None = None) -> dict[str, Any]:
    env = {"KOPPEL_DATA_DIR": str(tmp_path / "var"), "KOPPEL_LOG_LEVEL": "WARNING"}
    if database_url:
        env["KOPPEL_DATABASE_URL"] = database_url
    return spawn(env, tmp_path, "erase", "jan@example.nl", scenarios=SCENARIOS).wait(timeout=120)


def check(outcome: dict[str, Any]) -> None:
    made = outcome["integrations"]
    other_workspace = f"erasuretest:{made['twee-a']}:4"
    # Left: the other workspace's unit, and the unit still running (its input and its steps' results).
    assert {workflow for _, workflow in outcome["found"]} == {other_workspace, outcome["running"]}
    assert ("operation_outputs", outcome["running"]) in {tuple(row) for row in outcome["found"]}
    # Another customer of the same workspace keeps every row.
    piet = f"erasuretest:{made['een-a']}:3"
    assert {"workflow_input", "workflow_output", "operation_outputs"} <= {t for t, w in outcome["piet"] if w == piet}
    # A scrubbed workflow's result still reads, the address replaced.
    assert outcome["scrubbed_output"]["outcome"] == "sent"
    assert "[erased]" in outcome["scrubbed_output"]["reason"] and "1001" in outcome["scrubbed_output"]["reason"]
    assert any("[erased]" in step for step in outcome["scrubbed_steps"])
    # Counted like the rest of the erasure: units 1 and 2 (workspace een), each with input, output, two steps.
    engine_entries = [detail for _, detail in outcome["actions"] if "engine" in detail]
    assert len(engine_entries) == 2  # one per integration of the workspace
    assert "2 workflows" in engine_entries[0] and "1 unfinished workflows left alone" in engine_entries[0]
    assert all("jan@" not in detail.lower() for _, detail in outcome["actions"])


@pytest.mark.slow  # a child process with the engine
def test_erasure_removes_the_address_from_the_engines_stored_data_on_sqlite(tmp_path: Path) -> None:
    check(erase_in_child(tmp_path))


@pytest.mark.slow
def test_erasure_removes_the_address_from_the_engines_stored_data_on_postgres(
        tmp_path: Path, postgres_server: PostgresServer) -> None:
    check(erase_in_child(tmp_path, postgres_server.create_database()))


def test_without_a_system_database_there_is_nothing_to_erase(koppel_data_dir: Path) -> None:
    assert erasure.scrub("jan@example.nl", [1]) == erasure.EngineErased(0, 0, 0)  # no file yet
    koppel_data_dir.mkdir(parents=True, exist_ok=True)
    (koppel_data_dir / "dbos.sqlite").touch()  # a file DBOS never set up
    assert erasure.scrub("jan@example.nl", [1]) == erasure.EngineErased(0, 0, 0)


def test_without_a_system_database_on_postgres_there_is_nothing_to_erase(
        koppel_data_dir: Path, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_SYSTEM_DATABASE_URL", postgres_server.url("never_made_dbos"))
    get_settings.cache_clear()
    assert erasure.scrub("jan@example.nl", [1]) == erasure.EngineErased(0, 0, 0)


@pytest.mark.django_db
def test_a_failed_erasure_says_why_without_the_address(koppel_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from koppel.core.accounts.models import Workspace
    from koppel.secrets import Vault
    from koppel.sync import record_actions

    workspace = Workspace.objects.create(name="een")
    sealed = Vault.from_settings(get_settings()).encrypt({"workspace": workspace.pk, "email": "Jan@Example.nl"})

    def failing(workspace: Workspace, email: str, by: str) -> None:
        raise RuntimeError(f"could not update the activity of {email.lower()}")

    monkeypatch.setattr(record_actions, "erase_customer", failing)
    with pytest.raises(erasure.ErasureFailed) as failed:
        erasure._erase(workspace.pk, sealed, "olga")
    assert str(failed.value) == "RuntimeError: could not update the activity of [erased]"
    other = Workspace.objects.create(name="twee")  # a request replayed against another workspace is refused
    with pytest.raises(erasure.ErasureFailed, match="not made for this workspace"):
        erasure._erase(other.pk, sealed, "olga")
    with pytest.raises(erasure.ErasureFailed, match="encryption keys"):
        erasure._erase(workspace.pk, Fernet(Fernet.generate_key()).encrypt(b"{}").decode(), "olga")
