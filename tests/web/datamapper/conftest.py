"""Both sandboxes with a few orders, for the datamapper's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.flows.world import World, start_world


@pytest.fixture
def world() -> Iterator[World]:
    world = start_world(orders=4, articles=20)
    yield world
    world.stop()
