"""`koppel run`, the embedded default: one process serving the web and running the engine, stopped by Ctrl-C."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.web.cli_runner import make_koppel
from tests.web.test_login_page import _free_port


def test_run_serves_the_web_and_the_engine_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    koppel = make_koppel(tmp_path, KOPPEL_EXECUTOR_ID="test-run-1")
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "koppel.cli", "run", "--port", str(port)], env=koppel.env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        status = None
        while status != 200:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "koppel run did not answer"
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/login/", timeout=1).status_code
            except httpx.TransportError:
                time.sleep(0.3)
        with sqlite3.connect(koppel.data_dir / "koppel.sqlite") as db:
            executors = [row[0] for row in db.execute("select executor_id from sync_executor")]
        assert executors == ["test-run-1"]
        assert (koppel.data_dir / "dbos.sqlite").exists()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
