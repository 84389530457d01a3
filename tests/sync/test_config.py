"""How the engine is configured from the settings, and the slot arithmetic of the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dbos import DBOSPortableJSONSerializer

from koppel.settings import get_settings
from koppel.sync.engine import dbos_config, system_database_url
from koppel.sync.schedules import slot_start, slot_workflow_id


def test_system_database_is_sqlite_in_the_data_dir_by_default(koppel_data_dir: Path) -> None:
    assert system_database_url(get_settings()) == f"sqlite:///{(koppel_data_dir / 'dbos.sqlite').resolve()}"


def test_system_database_sits_beside_a_postgresql_database(koppel_data_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_DATABASE_URL", "postgresql://koppel:s%40cret@db.internal:5433/koppel")
    get_settings.cache_clear()
    assert system_database_url(get_settings()) == "postgresql://koppel:s%40cret@db.internal:5433/koppel_dbos"
    monkeypatch.setenv("KOPPEL_SYSTEM_DATABASE_URL", "postgresql://dbos@elsewhere/state")
    get_settings.cache_clear()
    assert system_database_url(get_settings()) == "postgresql://dbos@elsewhere/state"


def test_workflow_data_is_json_and_ids_come_from_the_settings(koppel_data_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_APPLICATION_VERSION", "koppel-7")
    get_settings.cache_clear()
    config = dbos_config(get_settings(), "worker-3")
    assert isinstance(config["serializer"], DBOSPortableJSONSerializer)
    assert config["serializer"].serialize({"order": 7}) == '{"order":7}'
    assert (config["executor_id"], config["application_version"]) == ("worker-3", "koppel-7")


def test_slots_are_counted_from_the_epoch() -> None:
    at = datetime(2026, 11, 26, 10, 7, 42, tzinfo=UTC)
    assert slot_start(at, 60) == datetime(2026, 11, 26, 10, 7, tzinfo=UTC)
    assert slot_start(at, 300) == datetime(2026, 11, 26, 10, 5, tzinfo=UTC)
    assert slot_workflow_id("orders", 3, slot_start(at, 60)) == "run:orders:3:20261126T100700Z"
