"""JSONata expressions for fields a path and the transforms cannot express, run in a hardened evaluator.

Hardening, and its limits:
- a time limit and a recursion-depth limit per evaluation (jsonata-python's Timebox). Its clock starts when
  the `Jsonata` object is built, so each evaluation restarts it on the parsed expression (parsing anew per
  record cost ~15 ms a line); parsed expressions are kept per thread, and each evaluation binds the record
  in a frame of its own, so nothing one record binds is seen by the next. The limits are checked between
  evaluation steps: one built-in call on a huge input is not interrupted, hence the cap on expression length;
- regular-expression literals compile with RE2 (linear time, no backtracking blow-up) through jsonata-python's
  pluggable `regex_engine`. The few regexes jsonata-python runs internally use Python's `re` on fixed
  patterns, not on user patterns;
- no access to the environment: only the record is bound, JSONata has no file, process or environment
  functions, and we register no Python functions. Decimals in the record are passed as strings, so money
  arithmetic stays in the Decimal transforms; null values are passed as absent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import re2
from jsonata import JException, Jsonata
from jsonata.regex_engine import CompiledPattern, RegexFlags
from jsonata.timebox import Timebox

# Wall-clock time, shared with every other thread of the process: generous enough that a
# busy worker does not park a good order (200 ms did, under load), small enough to stop a runaway expression.
TIMEOUT_MS = 1000
MAX_DEPTH = 150
MAX_LENGTH = 2000


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is reported as an ExpressionError, not on stderr


class ExpressionError(ValueError):
    """An expression that does not parse, runs too long or too deep, or fails on this record."""


def re2_engine(pattern: str, flags: RegexFlags) -> CompiledPattern:
    inline = ("i" if flags.case_insensitive else "") + ("m" if flags.multiline else "")
    try:
        return re2.compile(f"(?{inline}){pattern}" if inline else pattern, _RE2_OPTIONS)  # type: ignore[no-any-return]
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ExpressionError(f"regular expression /{pattern}/ is not supported by RE2: {detail}") from None


def check_expression(text: str) -> None:
    """Raise ExpressionError when `text` is too long or does not parse."""
    _compile(text, TIMEOUT_MS, MAX_DEPTH)


def evaluate_expression(
    text: str, data: Any, *, timeout_ms: int = TIMEOUT_MS, max_depth: int = MAX_DEPTH
) -> Any:
    """The result of the JSONata expression `text` over `data` (None when it yields nothing)."""
    expression = _parsed(text)
    Timebox(expression.environment, timeout_ms, max_depth)  # this evaluation's clock and depth, from zero
    try:
        return _plain(expression.evaluate(_jsonable(data), {}))  # bindings: a fresh frame per record
    except JException as exc:
        raise ExpressionError(_message(exc)) from None
    except RecursionError:
        raise ExpressionError("the expression recursed too deeply") from None
    except Exception as exc:  # an expression is a person's input: its failure parks a record, not a run
        raise ExpressionError(f"the expression failed: {type(exc).__name__}: {exc}") from None


_PARSED = threading.local()  # a Jsonata object keeps its environment and clock: one per thread
_KEPT_PER_THREAD = 256


def _parsed(text: str) -> Jsonata:
    kept: OrderedDict[str, Jsonata] = getattr(_PARSED, "expressions", None) or OrderedDict()
    _PARSED.expressions = kept
    expression = kept.get(text)
    if expression is None:
        expression = kept[text] = _compile(text, None, None)
        while len(kept) > _KEPT_PER_THREAD:
            kept.popitem(last=False)
    kept.move_to_end(text)
    return expression


def _compile(text: str, timeout_ms: int | None, max_depth: int | None) -> Jsonata:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters; at most {MAX_LENGTH} are allowed")
    try:
        return Jsonata(text, re2_engine, timeout_ms, max_depth)
    except JException as exc:
        raise ExpressionError(f"the expression does not parse: {_message(exc)}") from None


def _message(exc: JException) -> str:
    code = getattr(exc, "error", "")
    if code == "D1012":
        return "the expression ran longer than its time limit"
    if code == "D1011":
        return "the expression recursed deeper than its limit"
    return str(exc)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        # null reads as absent: JSONata functions accept undefined but refuse null ($replace(null, …)),
        # and whether a missing value comes as null or not at all is an accident of the payload
        return {str(k): _jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _plain(value: Any) -> Any:
    """jsonata-python's sequences are list subclasses; hand back plain lists and dicts."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
