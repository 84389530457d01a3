"""Client-side rate limiting per store: MijnWebwinkel limits per partner and per store, with undocumented
numbers (NOTES §5.2), so all clients of one store in this process share one token bucket and wait for it."""

from __future__ import annotations

import hashlib
import threading

from pyrate_limiter import Limiter, Rate, StateBucket, TokenBucket

_limiters: dict[tuple[str, float, int], Limiter] = {}
_lock = threading.Lock()


def store_key(base_url: str, token: str) -> str:
    """A key naming one store without keeping its token in memory as a readable string."""
    return hashlib.sha256(f"{base_url.rstrip('/')}|{token}".encode()).hexdigest()[:16]


def limiter_for(key: str, rate_per_second: float, burst: int) -> Limiter:
    """The shared limiter of store `key` at this rate; created on first use."""
    with _lock:
        limiter = _limiters.get((key, rate_per_second, burst))
        if limiter is None:
            interval_ms = max(1, round(1000 / rate_per_second))
            rate = Rate(1, interval_ms, burst=max(1, burst))
            limiter = Limiter(StateBucket([rate], algorithm=TokenBucket()), buffer_ms=0)
            _limiters[(key, rate_per_second, burst)] = limiter
        return limiter


class StoreRateLimiter:
    """Blocks until the store's bucket allows one more call; disabled when `rate_per_second` is None."""

    def __init__(self, key: str, rate_per_second: float | None, burst: int = 5) -> None:
        self._limiter = limiter_for(key, rate_per_second, burst) if rate_per_second else None
        self._key = key

    def wait(self) -> None:
        if self._limiter is not None:
            self._limiter.try_acquire(self._key, blocking=True)
