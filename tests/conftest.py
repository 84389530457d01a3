"""Test-session setup shared by all of tests/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from koppel.settings import get_settings

pytest_plugins = ["tests.postgres"]


@pytest.fixture
def koppel_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data dir of this test's own (KOPPEL_DATA_DIR), with the settings read afresh."""
    data_dir = tmp_path / "var"
    monkeypatch.setenv("KOPPEL_DATA_DIR", str(data_dir))
    for name in ("KOPPEL_DATABASE_URL", "KOPPEL_SYSTEM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()
