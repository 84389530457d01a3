"""The one short retry layer of both connectors, on stamina.

Only idempotent calls are retried, and only for errors of the `retry` kind. A `Retry-After` up to
`max_retry_after` is waited for exactly; a longer one is not slept here: the RetryableError goes up with
its `retry_after` for the durable layer to reschedule (nested retries multiply, so this layer stays short).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import stamina
import structlog
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from koppel.errors import RetryableError

T = TypeVar("T")
log = structlog.get_logger("koppel.connectors.http")


def _log_retry(details: RetryDetails) -> None:
    # One line per scheduled retry, with the vocabulary error's (already redacted) message. stamina's own
    # hook would log the same event a second time, with the call's arguments.
    log.warning(
        "connector.retry",
        error=str(details.caused_by),
        retry=details.retry_num,
        wait=round(details.wait_for, 2),
    )


set_on_retry_hooks([_log_retry])


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long an idempotent call is tried before its RetryableError goes up."""

    attempts: int = 3
    wait_initial: float = 0.5
    wait_max: float = 5.0
    max_retry_after: float = 30.0
    timeout: float | None = None  # overall bound on this layer, waits included (None: attempts only)

    def backoff(self, exc: Exception) -> bool | float:
        """stamina's `on`: False (give up), True (back off) or the seconds the server asked for."""
        if not isinstance(exc, RetryableError):
            return False
        if exc.retry_after is None:
            return True
        if exc.retry_after > self.max_retry_after:
            return False
        return exc.retry_after

    def call(self, send: Callable[[], T]) -> T:
        """`send()`, tried again on retryable errors within this policy's bounds."""
        for attempt in stamina.retry_context(
            on=self.backoff,
            attempts=max(1, self.attempts),
            timeout=self.timeout,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            wait_jitter=self.wait_initial,
        ):
            with attempt:
                return send()
        raise AssertionError("unreachable")  # pragma: no cover
