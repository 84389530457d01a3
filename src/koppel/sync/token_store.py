"""AccountView's OAuth tokens kept in the connection's encrypted credentials, the production
`TokenStore`: refresh tokens rotate, so a refresh is serialised per connection across threads and
processes (a row lock on PostgreSQL, SQLite's IMMEDIATE write lock) and the new token set is
persisted, in the same transaction, before anyone uses it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connection, transaction

from koppel.connectors.accountview.oauth import TokenSet

TOKENS = "tokens"  # credentials key of the current token set
_process_locks: defaultdict[int, threading.RLock] = defaultdict(threading.RLock)
_guard = threading.Lock()


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
        from koppel.core.integrations.models import Connection

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
        from koppel.core.integrations.models import Connection

        with _guard:
            lock = _process_locks[self.connection_id]
        with lock:
            try:
                with transaction.atomic():
                    Connection.objects.select_for_update().filter(pk=self.connection_id).exists()
                    yield
            finally:
                _release()


def _release() -> None:
    """Worker threads must not keep connections open (SQLite locks, PostgreSQL slots)."""
    if not connection.in_atomic_block:
        close_old_connections()
