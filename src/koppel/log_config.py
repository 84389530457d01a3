"""How Koppel logs: structlog at the configured level, and every log record scrubbed of secrets before it
is written, whoever logs it (httpx's request lines, uvicorn's access log, Django, DBOS, our own events, their
tracebacks): MijnWebwinkel's tokens travel in query strings, an OAuth callback carries its code in one."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from koppel.connectors.http.redaction import REDACTED, Redactor, structlog_processor

# The authorization code of an OAuth callback (`?code=…&state=…`): exchangeable for tokens for minutes.
_OAUTH_CODE = re.compile(r"([?&]code=)[^&\s\"'#]+")


def redact(text: str) -> str:
    """The text with query-string tokens and OAuth codes replaced."""
    return _OAUTH_CODE.sub(lambda m: m.group(1) + REDACTED, _redactor.text(text))


_redactor = Redactor()


def configure_logging(level: str) -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_every_record()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,  # a traceback becomes text, redacted with the rest
            structlog_processor(),
            _redact_event,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,
    )


def redact_every_record() -> None:
    """Scrub each standard-library log record as it is made: its message with its arguments and its
    traceback, before any handler (ours, uvicorn's, a test's) sees it. Installed once per process."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "koppel_redacts", False):
        return

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        # Arguments one by one first: formatters such as uvicorn's access log read them, not the message.
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_argument(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: _redact_argument(v) for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that don't fit the message: left to the handler to report
            return record
        clean = redact(message)
        if clean != message:  # a secret across message and argument (`token=%s`): the message alone, redacted
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    make.koppel_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make)


def _redact_argument(value: Any) -> Any:
    if value is None or isinstance(value, int | float | bool):
        return value
    text = str(value)
    clean = redact(text)
    return value if clean == text else clean


def _redact_event(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    return {k: redact(v) if isinstance(v, str) else v for k, v in event_dict.items()}
