"""Scrubbing secrets from text and data before anything is logged, raised or stored: query-string
credentials (MijnWebwinkel's `token` and `partner_token` travel in every URL; OAuth's `access_token`,
`refresh_token`, `client_secret` in token requests) and the literal secret values of a connection."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

REDACTED = "***"
SECRET_NAMES = ("partner_token", "token", "access_token", "refresh_token", "client_secret", "password")
_QUERY_SECRET = re.compile(
    r"((?:^|[?&;\s\"'])(?:" + "|".join(SECRET_NAMES) + r")=)[^&\s\"'#]*", re.IGNORECASE
)


class Redactor:
    """Removes query-string secrets and the literal secret values of one connection from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        value = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, value)
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        return value

    def data(self, value: Any) -> Any:
        """Redact strings inside JSON-like data (for activity payloads)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: (REDACTED if str(k).lower() in SECRET_NAMES else self.data(v)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def redact_url(url: str) -> str:
    """The URL with its secret query values replaced."""
    return Redactor().text(url)


def structlog_processor(redactor: Redactor | None = None) -> Any:
    """A structlog processor that redacts secrets in every string value of an event dict."""
    scrub = redactor or Redactor()

    def process(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            event_dict[key] = scrub.data(value)
        return event_dict

    return process


class _RedactHttpxLog(logging.Filter):
    """httpx logs every request URL at INFO, tokens included: scrub them before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_url(record.getMessage())
        record.args = None
        return True


_httpx_filter = _RedactHttpxLog()
for _name in ("httpx", "httpcore"):
    if not any(isinstance(f, _RedactHttpxLog) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_httpx_filter)
