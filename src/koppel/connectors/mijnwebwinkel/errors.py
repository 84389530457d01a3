"""The one place where MijnWebwinkel failures become Koppel's error vocabulary (ARCHITECTURE §5):
transport errors, timeouts, 429 and 5xx → retry; 401/403 → broken connection; 404/409/422 and other
4xx → needs attention, carrying the server's own message. Messages are redacted before they leave."""

from __future__ import annotations

import re
from typing import Any

import httpx

from koppel.connectors.http import Redactor, parse_retry_after
from koppel.errors import BrokenConnection, KoppelError, NeedsAttention, RetryableError
from koppel.reasons import reason

SYSTEM = "mijnwebwinkel"
# A validation message that starts with a field path ("extra.invisible.barcode: invalid check digit").
_FIELD = re.compile(r"^([a-z_]+(?:\[\d*\])?(?:\.[A-Za-z_]+(?:\[\d*\])?)*): ")


def server_message(response: httpx.Response) -> str:
    """The human part of an error body: RFC 7807 `detail`/`title`, legacy `message`/`description`, or text."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("title", "detail", "message", "description", "error") if body.get(k)]
        if parts:
            return ": ".join(dict.fromkeys(parts))
    return str(body)[:300]


def error_for_response(response: httpx.Response, operation: str, redactor: Redactor) -> KoppelError:
    """The vocabulary error for a non-2xx response to `operation` (e.g. "GET /orders/1042")."""
    status = response.status_code
    detail = redactor.text(server_message(response))
    message = (reason("MijnWebwinkel {operation} answered {status}: {detail}", operation=operation, status=status,
                      detail=detail) if detail
               else reason("MijnWebwinkel {operation} answered {status}", operation=operation, status=status))
    if status in (408, 429) or status >= 500:
        return RetryableError(
            message,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            system=SYSTEM,
            status=status,
        )
    if status in (401, 403):
        return BrokenConnection(
            reason("{problem} (check the store token and partner token of this connection)", problem=message),
            system=SYSTEM,
            status=status,
        )
    return NeedsAttention(message, system=SYSTEM, status=status, field=field_of(detail))


def field_of(detail: str) -> str | None:
    """The field a validation message names at its start, if any (our sandbox always names one; the live
    API's messages are not documented)."""
    for text in (detail, detail.split(": ", 1)[-1]):  # after an RFC 7807 title, or on its own
        match = _FIELD.match(text)
        if match:
            return match.group(1)
    return None


def error_for_transport(exc: httpx.HTTPError, operation: str, redactor: Redactor) -> RetryableError:
    """Connection errors, timeouts and cut-off answers: the server may or may not have acted."""
    error = f"{type(exc).__name__}: {redactor.text(str(exc) or type(exc).__name__)}"
    if isinstance(exc, httpx.TimeoutException):
        return RetryableError(reason("MijnWebwinkel {operation} timed out: {error}", operation=operation, error=error),
                              system=SYSTEM)
    return RetryableError(reason("MijnWebwinkel {operation} failed: {error}", operation=operation, error=error),
                          system=SYSTEM)


def error_for_body(operation: str, detail: str, redactor: Redactor) -> RetryableError:
    """A 2xx answer whose body is not the JSON we expect (truncated, HTML from a proxy…)."""
    return RetryableError(
        reason("MijnWebwinkel {operation} sent an unreadable answer: {detail}", operation=operation,
               detail=redactor.text(detail)[:200]),
        system=SYSTEM,
    )
