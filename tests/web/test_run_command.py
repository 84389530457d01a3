"""`koppel run`, the embedded default: one process serving the web and running the engine, stopped by Ctrl-C."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli_runner import make_koppel


@pytest.mark.slow
def test_run_serves_the_web_and_the_engine_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    koppel = make_koppel(tmp_path, KOPPEL_EXECUTOR_ID="test-run-1")
    server = koppel.serve("run")
    try:
        with sqlite3.connect(koppel.data_dir / "koppel.sqlite") as db:
            executors = [row[0] for row in db.execute("select executor_id from sync_executor")]
        assert executors == ["test-run-1"]
        assert (koppel.data_dir / "dbos.sqlite").exists()
    finally:
        exit_code = server.stop()
    assert exit_code == 0, server.output()
