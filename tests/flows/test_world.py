"""The flow tests' world resets the sandboxes between tests: a listing read after `restore` answers from the
seeded rows, not from what an earlier test changed and read (the AccountView sandbox keeps a listing's keys per
version of its rows)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.flows.world import World, restore

LATER = datetime(2100, 1, 1)


def changed_since_later(world: World) -> list[str]:
    return [article.code for article in world.books.iter_articles(LATER)]


def test_a_listing_after_restore_is_of_the_seed_not_of_an_earlier_tests_edit(
        seeded: tuple[World, dict[str, Any]]) -> None:
    world, saved = seeded
    restore(world, saved)
    assert changed_since_later(world) == []
    state = world.books_sandbox.state
    code = sorted(state.tables["ARTICLE"])[0]
    with state.lock:  # an earlier test changes an article the way tests do, and lists what changed
        state.tables["ARTICLE"][code]["CNG_DATE"] = (LATER + timedelta(days=1)).isoformat()
        state.changed()
    assert changed_since_later(world) == [code]

    restore(world, saved)
    assert changed_since_later(world) == []
