"""`Retry-After` as delta-seconds or as an HTTP date (RFC 9110 allows both; servers send both)."""

from __future__ import annotations

import pytest

from koppel.connectors.http import parse_retry_after

NOW = 1767225600.0  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("Thu, 01 Jan 2026 00:00:10 GMT", 10.0),
        ("Thursday, 01-Jan-26 00:02:00 GMT", 120.0),  # the obsolete RFC 850 form
        ("Thu, 01 Jan 2026 00:00:10 -0000", 10.0),  # a date without a zone is GMT
        ("Wed, 31 Dec 2025 23:59:00 GMT", 0.0),  # in the past: now
    ],
)
def test_seconds_or_http_date(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected
