"""Token stores: the file store survives a reload and its lock excludes a second holder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from koppel.connectors.accountview.oauth import FileTokenStore, MemoryTokenStore, TokenSet

TOKENS = TokenSet(access_token="a", refresh_token="r", expires_at=time.time() + 100)


def test_file_store_round_trip(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    assert store.load() is None
    store.save(TOKENS)
    assert FileTokenStore(tmp_path / "t.json").load() == TOKENS
    assert (tmp_path / "t.json").stat().st_mode & 0o077 == 0


def test_file_lock_excludes_another_holder(tmp_path: Path) -> None:
    first, second = FileTokenStore(tmp_path / "t.json"), FileTokenStore(tmp_path / "t.json")
    order: list[str] = []

    def other() -> None:
        with second.refresh_lock():
            order.append("second")

    with first.refresh_lock():
        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.1)
        order.append("first")
    thread.join()
    assert order == ["first", "second"]


def test_memory_store() -> None:
    store = MemoryTokenStore()
    with store.refresh_lock():
        store.save(TOKENS)
    now = TOKENS.expires_at - 100
    assert store.load() == TOKENS
    assert TOKENS.expires_within(200, now=now) and not TOKENS.expires_within(50, now=now)


def test_a_refresh_answer_without_refresh_token_keeps_the_old_one() -> None:
    body = {"access_token": "new-access", "token_type": "bearer"}
    tokens = TokenSet.from_response(body, now=1000.0, lifetime=900, refresh_token="still-valid")
    assert tokens.refresh_token == "still-valid" and tokens.access_token == "new-access"
    assert tokens.expires_at == 1900.0  # no expires_in: the profile's token lifetime counts
    rotated = TokenSet.from_response({**body, "refresh_token": "rotated", "expires_in": 60}, now=1000.0)
    assert rotated.refresh_token == "rotated" and rotated.expires_at == 1060.0
