"""A rate limit per remote account that holds across worker processes: the turns are handed out by one row
per account in PostgreSQL, so several workers together never exceed the rate one worker may use.

The row holds the account's next free moment (GCRA's "theoretical arrival time"); each call takes a turn
with one atomic UPDATE, using the database's clock, and sleeps until its turn comes. Not pyrate-limiter's
PostgresBucket: that one locks a table per account with NOWAIT (under contention a call is refused instead
of queued), keeps a row per call and needs a background thread to delete them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg

from koppel.errors import RetryableError
from koppel.reasons import reason

TABLE = "koppel_rate_limit"
_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    account text PRIMARY KEY,
    next_free timestamptz NOT NULL
)"""
_TAKE_TURN = f"""
UPDATE {TABLE} SET next_free = GREATEST(next_free, clock_timestamp()) + make_interval(secs => %(interval)s)
WHERE account = %(account)s
RETURNING EXTRACT(EPOCH FROM (next_free - clock_timestamp()))::float8
"""
_DATABASE_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)
_LOCK_ID = 0x6B6F70  # one advisory lock id for creating the table, the same in every process


class PostgresRateLimiter:
    """At most `rate_per_second` calls to `account`, in bursts of up to `burst`, across all processes
    sharing the database at `dsn` (a `postgresql://` URL) or the connections `connect()` returns.

    Each instance keeps one autocommit connection (opened on first use, reopened once if it broke);
    instances in one process may share the row and need not share the object."""

    def __init__(
        self,
        dsn: str | None = None,
        *,
        account: str,
        rate_per_second: float,
        burst: int = 1,
        connect: Callable[[], psycopg.Connection] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if (dsn is None) == (connect is None):
            raise ValueError("give a dsn or a connect function")
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.account = account
        self.interval = 1.0 / rate_per_second
        self.tolerance = (max(1, burst) - 1) * self.interval  # how far ahead of schedule a burst may run
        self._connect = connect or (lambda: psycopg.connect(dsn or "", autocommit=True))
        self._sleep = sleep
        self._connection: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        self._sleep(self.take_turn())

    def take_turn(self) -> float:
        """Book the account's next turn; the seconds to wait until it (0 when it is now)."""
        with self._lock:
            try:
                ahead = self._take_turn()
            except _DATABASE_ERRORS as first:
                self.close()
                try:
                    ahead = self._take_turn()
                except _DATABASE_ERRORS as exc:
                    self.close()
                    raise RetryableError(
                        reason("the rate limiter's database is unreachable: {error}", error=exc)) from first
        return max(0.0, ahead - self.interval - self.tolerance)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _take_turn(self) -> float:
        connection = self._open()
        row = connection.execute(_TAKE_TURN, {"interval": self.interval, "account": self.account}).fetchone()
        if row is None:  # the row is gone (table emptied by hand): make it again
            connection.execute(f"INSERT INTO {TABLE} VALUES (%s, '-infinity') ON CONFLICT DO NOTHING", [self.account])
            row = connection.execute(_TAKE_TURN, {"interval": self.interval, "account": self.account}).fetchone()
        assert row is not None
        return float(row[0])

    def _open(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            connection = self._connect()
            connection.autocommit = True
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ID])  # CREATE … IF NOT EXISTS races
                connection.execute(_CREATE)
            connection.execute(f"INSERT INTO {TABLE} VALUES (%s, '-infinity') ON CONFLICT DO NOTHING", [self.account])
            self._connection = connection
        return self._connection

