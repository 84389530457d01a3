"""Koppel running for real for the sync now tests, its workers started from the session's fork server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.forks import start_fork_server
from tests.web.runs.site import Site, running_site


@pytest.fixture(scope="session")
def fork_server() -> None:
    start_fork_server(["tests.flows.scenarios", "tests.web.runs.scenarios"])


@pytest.fixture
def site(tmp_path: Path, fork_server: None) -> Iterator[Site]:
    yield from running_site(tmp_path)


@pytest.fixture
def embedded_site(tmp_path: Path, fork_server: None) -> Iterator[Site]:
    yield from running_site(tmp_path, "run")
