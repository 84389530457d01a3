"""The kit both connector clients use to speak HTTP the same way: one retry policy (stamina, honouring
`Retry-After`), paginators that lose no items, a rate limiter per remote account (in-process, or shared by
every worker through PostgreSQL), and redaction of secrets from anything logged or stored."""

from koppel.connectors.http.paging import LastKeyPaginator, OffsetPaginator, PageNumberPaginator
from koppel.connectors.http.rate_limit import (
    NO_LIMIT,
    ProcessRateLimiter,
    RateLimiter,
    account_key,
    process_rate_limiter,
)
from koppel.connectors.http.redaction import Redactor, redact_url, structlog_processor
from koppel.connectors.http.retry import RetryPolicy
from koppel.connectors.http.retry_after import parse_retry_after

__all__ = [
    "NO_LIMIT",
    "LastKeyPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "ProcessRateLimiter",
    "RateLimiter",
    "Redactor",
    "RetryPolicy",
    "account_key",
    "parse_retry_after",
    "process_rate_limiter",
    "redact_url",
    "structlog_processor",
]
