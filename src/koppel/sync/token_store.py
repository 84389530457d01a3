"""AccountView's OAuth tokens kept in the connection's encrypted credentials, the production
`TokenStore`. Refresh tokens rotate, so a refresh is serialised per connection across threads and
processes, and `save` commits the new token set at once: a process killed right after has stored it.

The lock is not a database transaction (its commit would be the save's, at the end of the refresh, so a
kill in between lost the rotated token): on PostgreSQL it is a session advisory lock, on SQLite (one
machine) an OS file lock beside the database. Both vanish with a killed process.
"""

from __future__ import annotations

import fcntl
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import close_old_connections, connection, transaction

from koppel.connectors.accountview.oauth import TokenSet

TOKENS = "tokens"  # credentials key of the current token set
ADVISORY_NAMESPACE = 0x4B4F  # "KO": keeps our advisory-lock keys apart from anyone else's
_process_locks: defaultdict[int, threading.RLock] = defaultdict(threading.RLock)
_guard = threading.Lock()
_holding = threading.local()  # a thread holding a database lock keeps its connection open


class ConnectionTokenStore:
    """Tokens of one AccountView connection. A bare `refresh_token` in the credentials (as `koppel
    integration apply` stores it) counts as an expired token set: the first call refreshes it."""

    def __init__(self, connection_id: int) -> None:
        self.connection_id = connection_id

    def load(self) -> TokenSet | None:
        from koppel.core.integrations.models import Connection

        try:
            credentials = Connection.objects.get(pk=self.connection_id).credentials
        finally:
            _release()
        if credentials.get(TOKENS):
            return TokenSet.model_validate(credentials[TOKENS])
        if credentials.get("refresh_token"):
            return TokenSet(access_token="", refresh_token=credentials["refresh_token"], expires_at=0)
        return None

    def save(self, tokens: TokenSet) -> None:
        """Committed when this returns (never inside a caller's transaction, which could still roll back)."""
        from koppel.core.integrations.models import Connection

        if connection.in_atomic_block:
            raise RuntimeError("save AccountView tokens outside any transaction: it must commit at once")
        try:
            with transaction.atomic():
                row = Connection.objects.select_for_update().get(pk=self.connection_id)
                credentials = row.credentials
                credentials[TOKENS] = tokens.model_dump(mode="json")
                credentials["refresh_token"] = tokens.refresh_token
                row.credentials = credentials
                row.save(update_fields=["secrets_encrypted", "updated_at"])
        finally:
            _release()

    @contextmanager
    def refresh_lock(self) -> Iterator[None]:
        with _guard:
            lock = _process_locks[self.connection_id]
        with lock:
            _holding.depth = getattr(_holding, "depth", 0) + 1
            try:
                with _database_lock(self.connection_id):
                    yield
            finally:
                _holding.depth -= 1
                _release()


@contextmanager
def _database_lock(connection_id: int) -> Iterator[None]:
    """Excludes every other process refreshing this connection's tokens."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [ADVISORY_NAMESPACE, connection_id])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_NAMESPACE, connection_id])
        return
    if connection.is_in_memory_db():  # one process only: the thread lock is enough
        yield
        return
    database = Path(str(connection.settings_dict["NAME"]))
    with open(database.with_name(f"{database.name}.tokens-{connection_id}.lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _release() -> None:
    """Worker threads must not keep connections open (SQLite locks, PostgreSQL slots), except while they
    hold an advisory lock, which lives as long as the connection."""
    if not connection.in_atomic_block and not getattr(_holding, "depth", 0):
        close_old_connections()
