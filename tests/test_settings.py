"""The data directory is private to Koppel's user: the directory 0700, every file in it 0600, including
files SQLite creates later (its WAL and SHM files) and files an older Koppel left readable to others."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from koppel.settings import get_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_and_what_is_created_in_it_later_are_private(koppel_data_dir: Path) -> None:
    os.umask(0o022)  # a usual login's umask: without ours, SQLite's files would be world-readable
    koppel_data_dir.mkdir(mode=0o755)
    readable = koppel_data_dir / "koppel.sqlite"
    readable.write_bytes(b"")
    readable.chmod(0o644)  # as an older Koppel left it: other local users read session keys, password hashes
    get_settings().ensure_data_dir()
    assert mode(koppel_data_dir) == 0o700 and mode(readable) == 0o600
    database = sqlite3.connect(koppel_data_dir / "later.sqlite")
    try:
        database.execute("PRAGMA journal_mode=WAL")
        database.execute("CREATE TABLE t (x)")
        database.execute("INSERT INTO t VALUES (1)")
        database.commit()
        created = sorted(p.name for p in koppel_data_dir.iterdir())
        assert created == ["koppel.sqlite", "later.sqlite", "later.sqlite-shm", "later.sqlite-wal"]
        assert {p.name: mode(p) for p in koppel_data_dir.iterdir()} == dict.fromkeys(created, 0o600)
    finally:
        database.close()
    (koppel_data_dir / "executors").mkdir()
    assert mode(koppel_data_dir / "executors") == 0o700
