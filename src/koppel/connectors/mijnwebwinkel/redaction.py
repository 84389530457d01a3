"""Scrubbing MijnWebwinkel tokens from text: they travel in query strings (`token`, `partner_token`),
so every URL, log line and exception message that could carry them is passed through here first."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

REDACTED = "***"
_QUERY_TOKEN = re.compile(r"((?:^|[?&;\s\"'])(?:partner_token|token)=)[^&\s\"'#]*", re.IGNORECASE)


class Redactor:
    """Removes the query-string tokens and the literal token values of one connection from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a token that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        value = _QUERY_TOKEN.sub(lambda m: m.group(1) + REDACTED, value)
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        return value

    def data(self, value: Any) -> Any:
        """Redact strings inside JSON-like data (for activity payloads)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: (REDACTED if str(k).lower() in ("token", "partner_token") else self.data(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def redact_url(url: str) -> str:
    """The URL with its `token` and `partner_token` query values replaced."""
    return Redactor().text(url)


def structlog_processor(redactor: Redactor | None = None) -> Any:
    """A structlog processor that redacts tokens in every string value of an event dict."""
    scrub = redactor or Redactor()

    def process(
        logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            event_dict[key] = scrub.data(value)
        return event_dict

    return process
