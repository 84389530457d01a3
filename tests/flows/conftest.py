"""Flow tests run the flow in this process against both sandboxes over real HTTP; the sandboxes are
started once per module and reset to their seed before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.flows.world import World, restore, snapshot, start_world


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
