"""Flow tests run the flow in this process against both sandboxes over real HTTP; the sandboxes are
started once per module and reset to their seed before every test. The engine tests (test_engine.py) fork
their children from a server that imported the scenarios once; only they start it (`_fork_server`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.flows.world import World, restore, snapshot, start_world
from tests.sync.forks import start_fork_server


@pytest.fixture(scope="session")
def _fork_server() -> None:
    start_fork_server(["tests.flows.scenarios"])


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[World, dict]]:
    world = start_world()
    yield world, snapshot(world)
    world.stop()


@pytest.fixture
def world(seeded: tuple[World, dict]) -> World:
    world, saved = seeded
    restore(world, saved)
    return world
