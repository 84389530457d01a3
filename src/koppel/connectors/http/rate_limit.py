"""Client-side rate limiting per remote account: every call waits for its turn first.

A remote API limits per account (a store, an OAuth client), not per client object, so all clients of one
account share one limiter. `process_rate_limiter` shares it within this process (pyrate-limiter's token
bucket); `PostgresRateLimiter` (in `postgres_rate_limit`) shares it across worker processes and machines.
A client takes any `RateLimiter`, so the engine decides which one without the connector knowing the database.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Protocol

from pyrate_limiter import Limiter, Rate, StateBucket, TokenBucket


class RateLimiter(Protocol):
    def wait(self) -> None:
        """Block until one more call to the account is allowed."""


class _NoLimit:
    def wait(self) -> None:
        return None


NO_LIMIT: RateLimiter = _NoLimit()


def account_key(*identity: str) -> str:
    """A short stable name for one remote account (e.g. base URL and token), without keeping the secret
    readable in memory or in a database row."""
    return hashlib.sha256("|".join(part.rstrip("/") for part in identity).encode()).hexdigest()[:16]


class ProcessRateLimiter:
    """At most `rate_per_second` calls per account in this process, in bursts of up to `burst`."""

    def __init__(self, limiter: Limiter, account: str) -> None:
        self._limiter = limiter
        self._account = account

    def wait(self) -> None:
        self._limiter.try_acquire(self._account, blocking=True)


_limiters: dict[tuple[str, float, int], Limiter] = {}
_lock = threading.Lock()


def process_rate_limiter(account: str, rate_per_second: float | None, burst: int = 1) -> RateLimiter:
    """The limiter every client of `account` in this process shares at this rate; NO_LIMIT when None."""
    if not rate_per_second:
        return NO_LIMIT
    burst = max(1, burst)
    with _lock:
        limiter = _limiters.get((account, rate_per_second, burst))
        if limiter is None:
            interval_ms = max(1, round(1000 / rate_per_second))
            limiter = Limiter(StateBucket([Rate(1, interval_ms, burst=burst)], algorithm=TokenBucket()), buffer_ms=0)
            _limiters[(account, rate_per_second, burst)] = limiter
    return ProcessRateLimiter(limiter, account)
