"""The one `Retry-After` parser: RFC 9110 allows delta-seconds or an HTTP date, and servers send both."""

from __future__ import annotations

import datetime as dt
import email.utils
import time


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header value; None when absent or unreadable.

    A date in the past means "now" (0). `now` (epoch seconds) is for tests.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # an HTTP date is always GMT, even when a sender leaves the zone out
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
