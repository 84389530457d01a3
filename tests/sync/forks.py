"""The fork server the engine tests start their child processes from: a fresh interpreter that
imported the scenarios' modules (DBOS, SQLAlchemy, …) once, and never configured Django, so each
child sets Django and DBOS up from its own environment, in a fraction of a fresh start's seconds."""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_fork_server(preload: list[str]) -> None:
    """Start this test session's fork server, preloading `preload`, unless it runs already."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    python_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), python_path]))
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if python_path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = python_path
