"""The one closed error vocabulary of Koppel (ARCHITECTURE §5).

Every error that crosses a layer boundary is one of three kinds, decided where it is raised:
retry (try again later), needs attention (this record can't go as it is) and broken connection
(the flow must pause until a person repairs the connection).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What happened to one record in one run; stored in the activity log."""

    SENT = "sent"                   # written to the target (created or updated)
    SKIPPED = "skipped"             # nothing to do: already there, unchanged, filtered out
    RETRY = "retry"                 # transient failure; will be tried again
    NEEDS_ATTENTION = "needs_attention"  # parked: a person must fix data or settings
    BROKEN_CONNECTION = "broken_connection"  # parked: the connection itself is broken


class KoppelError(Exception):
    """Base of the vocabulary. `system` names the remote side ("mijnwebwinkel", "accountview")."""

    outcome: Outcome = Outcome.NEEDS_ATTENTION

    def __init__(self, message: str, *, system: str | None = None, field: str | None = None,
                 value: object = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.field = field
        self.value = value
        self.status = status

    def __str__(self) -> str:
        return self.message


class RetryableError(KoppelError):
    """Network error, timeout, 429, 5xx, relay offline. `retry_after` in seconds when the server said."""

    outcome = Outcome.RETRY

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class NeedsAttention(KoppelError):
    """This record can't go as it is: invalid data, unknown article, VAT mismatch, mapping error."""

    outcome = Outcome.NEEDS_ATTENTION


class BrokenConnection(KoppelError):
    """Credentials revoked, company gone, permission missing: the flow pauses and an alert is raised."""

    outcome = Outcome.BROKEN_CONNECTION
