"""The sync now tests start workers from the session's fork server (tests/sync/forks.py)."""

from __future__ import annotations

import pytest

from tests.sync.forks import start_fork_server


@pytest.fixture(scope="session")
def fork_server() -> None:
    start_fork_server(["tests.flows.scenarios", "tests.web.runs.scenarios"])
