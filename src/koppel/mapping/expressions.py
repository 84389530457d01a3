"""JSONata expressions for fields a path and the transforms cannot express, run where a runaway can't hurt.

A mapping expression is a person's input, and JSONata's built-ins were not written against hostile input:
`$toMillis` with a crafted picture builds a pathological regular expression (seconds of CPU inside one
call, holding the GIL), `$pad("x", 1e9)` asks for gigabytes, and `$eval` runs text no check has seen. So:

- every evaluation runs in a child process (this very file, started with `python -I`, which imports only
  jsonata and re2) with an address-space limit (MEMORY_LIMIT_BYTES); the parent waits at most the time
  limit plus a grace period, then kills the child and starts another. A runaway costs its record (an
  ExpressionError, which parks it naming the expression), never the worker, its other threads or the web
  process. The answer must be JSON and at most RESULT_LIMIT_BYTES;
- inside the child, jsonata-python's Timebox limits time and recursion depth between evaluation steps;
  parsed expressions are kept, and each evaluation binds the record in a frame of its own, so nothing one
  record binds is seen by the next;
- regular-expression literals compile with RE2 (linear time, no backtracking blow-up);
- `$eval` is refused when the expression is checked: it would run text the checks never saw;
- no access to the environment: only the record is bound, JSONata has no file, process or environment
  functions, we register no Python functions, and the child gets no KOPPEL_* variables. Decimals in the
  record are passed as strings, so money arithmetic stays in the Decimal transforms; null values are
  passed as absent.

The children run at the lowest scheduling priority (NICENESS), so an expression burning its CPU budget takes
the CPU only when the web and the worker leave it. Two sets of children, so that the dashboard cannot slow a sync
and one tenant cannot slow another's preview (sizes in koppel.settings, KOPPEL_EXPRESSION_*):

- the flows' (`expression_workers`): an evaluation outside `evaluating_for` waits for a free child; never
  refused, and the wait is bounded, as every evaluation ahead of it ends within its wall limit;
- the dashboard's (`expression_preview_workers` kept ready, started ahead in the background, at most
  `expression_preview_workers_max`): an evaluation inside `evaluating_for(caller)` (a workspace's previews
  and saves) is refused at once with EvaluatorBusy when that caller already has its share in evaluation
  (`expression_previews_per_workspace`) or every dashboard child is busy, instead of queueing behind them.

A forked process starts its own children.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import re
import select
import signal
import subprocess
import sys
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import re2
from jsonata import JException, Jsonata
from jsonata.regex_engine import CompiledPattern, RegexFlags
from jsonata.timebox import Timebox

# Per evaluation, measured in the child that runs only this evaluation (other threads can't eat into it).
TIMEOUT_MS = 1000                  # CPU time of the child, so a loaded machine does not park good records
MAX_DEPTH = 150
MAX_LENGTH = 2000
MEMORY_LIMIT_BYTES = 768 * 2**20   # the child's whole address space: Python, jsonata, re2 and the record
RESULT_LIMIT_BYTES = 256 * 2**10
WALL_FACTOR = 10                   # the wall-clock limits are this many times the CPU limit: load, not
GRACE_SECONDS = 5.0                # the expression, is what makes wall time longer than CPU time
STARTUP_SECONDS = 60
NICENESS = 19                      # the children's scheduling priority: the lowest
_FORBIDDEN = re.compile(r"\$eval\b")

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is reported as an ExpressionError, not on stderr


class ExpressionError(ValueError):
    """An expression that does not parse, runs too long, too deep or too big, or fails on this record."""


class EvaluatorBusy(RuntimeError):
    """A dashboard evaluation refused at once rather than queued: its caller already has its share of
    evaluations running (`yours`), or every dashboard evaluator is busy. Not an ExpressionError: it says
    nothing about the expression or the record, so it must not be shown as the map's problem."""

    def __init__(self, *, yours: bool) -> None:
        self.yours = yours
        super().__init__("busy: an expression of yours is still being evaluated, try again" if yours
                         else "busy: every expression evaluator is in use, try again")


_CALLER: ContextVar[str | None] = ContextVar("expression_caller", default=None)


@contextmanager
def evaluating_for(caller: str) -> Iterator[None]:
    """Evaluations in this block are a person's in the dashboard, `caller` (their workspace, say): they run in
    the dashboard's evaluators, at most a share of them at once per caller, and are refused with EvaluatorBusy
    rather than queued. Outside such a block (a flow in a worker) an evaluation waits for a flows' evaluator."""
    token = _CALLER.set(caller)
    try:
        yield
    finally:
        _CALLER.reset(token)


def re2_engine(pattern: str, flags: RegexFlags) -> CompiledPattern:
    inline = ("i" if flags.case_insensitive else "") + ("m" if flags.multiline else "")
    try:
        return re2.compile(f"(?{inline}){pattern}" if inline else pattern, _RE2_OPTIONS)  # type: ignore[no-any-return]
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ExpressionError(f"regular expression /{pattern}/ is not supported by RE2: {detail}") from None


def check_expression(text: str, samples: Iterable[Any] = ()) -> None:
    """Raise ExpressionError when `text` is too long, uses a refused function or does not parse, or when it
    fails on one of the `samples` records (saving an expression runs it on sample records first)."""
    _compile(text, TIMEOUT_MS, MAX_DEPTH)
    for sample in samples:
        evaluate_expression(text, sample)


def evaluate_expression(
    text: str, data: Any, *, timeout_ms: int = TIMEOUT_MS, max_depth: int = MAX_DEPTH
) -> Any:
    """The result of the JSONata expression `text` over `data` (None when it yields nothing), computed in
    a limited child process (the dashboard's inside `evaluating_for`, else the flows')."""
    if len(text) > MAX_LENGTH or _FORBIDDEN.search(text):
        _compile(text, None, None)  # raises the same message check_expression gives
    request = json.dumps({"text": text, "data": _jsonable(data), "timeout_ms": timeout_ms, "max_depth": max_depth})
    caller = _CALLER.get()
    pools = _pools()
    pool = pools.flows if caller is None else pools.dashboard
    answer = pool.call(request, timeout_ms / 1000 * WALL_FACTOR + GRACE_SECONDS, caller)
    if "error" in answer:
        raise ExpressionError(answer["error"])
    return answer.get("value")


# ---- the parent: two small pools of child processes -------------------------------------------------------


class _Child:
    """One evaluator process; line-delimited JSON requests and answers over its stdin/stdout."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPEL_")}
        self.process = subprocess.Popen(
            [sys.executable, "-I", __file__, "--ready"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, close_fds=True,
        )
        # set from here, before the child has loaded anything, so its start is low priority too; a child
        # that ended at once is told by the readiness check below
        with contextlib.suppress(ProcessLookupError):
            os.setpriority(os.PRIO_PROCESS, self.process.pid, NICENESS)
        self.stdin: IO[bytes] = self.process.stdin  # type: ignore[assignment]
        self.stdout: IO[bytes] = self.process.stdout  # type: ignore[assignment]
        # the child's start (seconds on a loaded machine) must not count against the first record's limit
        ready, _, _ = select.select([self.stdout], [], [], STARTUP_SECONDS)
        if not ready or self.stdout.readline() != b"ready\n":
            self.kill()
            raise ExpressionError("the expression evaluator did not start")

    def call(self, request: str, timeout_s: float) -> dict[str, Any]:
        """The child's answer; when it died or ran out of time it is killed and the answer says why."""
        try:
            self.stdin.write(request.encode() + b"\n")
            self.stdin.flush()
            ready, _, _ = select.select([self.stdout], [], [], timeout_s)
            line = self.stdout.readline() if ready else b""
        except (BrokenPipeError, OSError):
            line = b""
        if line.endswith(b"\n"):
            answer: dict[str, Any] = json.loads(line)
            return answer
        ended_by_itself = not self.alive()
        self.kill()
        if not ended_by_itself or self.process.returncode == -signal.SIGXCPU:
            return {"error": "the expression ran longer than its time limit", "retire": True}
        return {"error": "the expression used more memory than its limit or crashed its evaluator", "retire": True}

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        for pipe in (self.stdin, self.stdout):
            pipe.close()


class _Pool:
    """Evaluator children for one kind of caller: at most `cap` at once, up to `keep` idle ones kept (with
    `ahead`, started in the background before anyone asks, so a caller rarely waits for a start). When every
    child is busy a caller waits (`waits`) or is refused with EvaluatorBusy; with `share`, one caller has at
    most that many evaluations in flight, and one more is refused."""

    def __init__(self, *, keep: int, cap: int, waits: bool, share: int | None = None, ahead: bool = False) -> None:
        self._changed = threading.Condition()
        self._keep, self._cap, self._waits, self._share, self._ahead = keep, max(cap, keep), waits, share, ahead
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._idle: list[_Child] = []
        self._busy: set[_Child] = set()
        self._started = 0  # children idle, busy or starting
        self._starting = 0  # of which started ahead and not ready yet
        self._in_flight: Counter[str] = Counter()

    def call(self, request: str, timeout_s: float, caller: str | None = None) -> dict[str, Any]:
        child = self._take(caller)
        keep = False
        try:
            answer = child.call(request, timeout_s)
            keep = child.alive() and not answer.get("retire")
            return answer
        finally:
            self._give_back(child, caller, keep)

    def _take(self, caller: str | None) -> _Child:
        with self._changed:
            if self._pid != os.getpid():  # a forked process: its parent's children are not ours to use
                self._reset()
            if caller is not None and self._share is not None and self._in_flight[caller] >= self._share:
                raise EvaluatorBusy(yours=True)
            while not self._idle and self._started >= self._cap:
                if not self._waits and not self._starting:
                    raise EvaluatorBusy(yours=False)
                self._changed.wait()  # for a child given back, or one started ahead
            child = self._idle.pop() if self._idle else None
            if child is None:
                self._started += 1
            if caller is not None:
                self._in_flight[caller] += 1
            self._start_ahead()
        if child is None:
            try:
                child = _Child()
            except BaseException:
                self._give_back(None, caller, False)
                raise
        with self._changed:
            self._busy.add(child)
        return child

    def _give_back(self, child: _Child | None, caller: str | None, keep: bool) -> None:
        with self._changed:
            if child is not None:
                self._busy.discard(child)
            if caller is not None:
                self._in_flight[caller] -= 1
                if not self._in_flight[caller]:
                    del self._in_flight[caller]
            keep = keep and child is not None and len(self._idle) < self._keep
            if keep and child is not None:
                self._idle.append(child)
            else:
                self._started -= 1
            self._start_ahead()
            self._changed.notify_all()
        if child is not None and not keep:
            child.kill()

    def _start_ahead(self) -> None:
        """Start children in the background until `keep` are idle or starting (the lock is held)."""
        while self._ahead and len(self._idle) + self._starting < self._keep and self._started < self._cap:
            self._started += 1
            self._starting += 1
            threading.Thread(target=self._start_one_ahead, name="expression evaluator start", daemon=True).start()

    def _start_one_ahead(self) -> None:
        child: _Child | None
        try:
            child = _Child()
        except ExpressionError:
            child = None  # not retried from here: the next caller starts its own, and says so if that fails
        with self._changed:
            self._starting -= 1
            if child is None or self._pid != os.getpid():
                self._started -= 1
            else:
                self._idle.append(child)
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            if self._pid == os.getpid():
                for child in self._idle:
                    child.kill()
                for child in self._busy:  # a thread still waits for it: it gets "crashed its evaluator"
                    child.process.kill()
                self._idle, self._busy = [], set()


@dataclass
class _Pools:
    flows: _Pool
    dashboard: _Pool


_POOLS: _Pools | None = None
_POOLS_MADE = threading.Lock()


def _pools() -> _Pools:
    global _POOLS
    with _POOLS_MADE:
        if _POOLS is None:
            from koppel.settings import get_settings  # the parent's; the child (python -I) imports no Koppel

            settings = get_settings()
            _POOLS = _Pools(
                flows=_Pool(keep=settings.expression_workers, cap=settings.expression_workers, waits=True),
                dashboard=_Pool(keep=settings.expression_preview_workers, cap=settings.expression_preview_workers_max,
                                waits=False, share=settings.expression_previews_per_workspace, ahead=True),
            )
        return _POOLS


@atexit.register
def _close_pools() -> None:
    if _POOLS is not None:
        _POOLS.flows.close()
        _POOLS.dashboard.close()


# ---- the child: evaluate requests until stdin closes -------------------------------------------------------


def _serve() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    if "--ready" in sys.argv:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        answer: dict[str, Any]
        # CPU time, whatever the load: past this the kernel ends the child (SIGXCPU), even inside one
        # built-in call that the wall-clock Timebox can't interrupt; the parent then starts another
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_limit = math.ceil(usage.ru_utime + usage.ru_stime + request["timeout_ms"] / 1000)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, resource.RLIM_INFINITY))
        try:
            value = _evaluate_here(
                request["text"], request["data"], request["timeout_ms"] * WALL_FACTOR, request["max_depth"]
            )
            answer = {"value": value}
            body = json.dumps(answer)
            if len(body) > RESULT_LIMIT_BYTES:
                answer = {"error": f"the expression's result is {len(body):,} bytes; at most "
                                   f"{RESULT_LIMIT_BYTES:,} are allowed"}
        except ExpressionError as exc:
            answer = {"error": str(exc)}
        except MemoryError:
            # the process may be in a poor state after this: answer, then let the parent retire it
            answer = {"error": "the expression used more memory than its limit", "retire": True}
        except (TypeError, ValueError) as exc:
            answer = {"error": f"the expression's result is not JSON: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        if answer.get("retire"):
            return


def _evaluate_here(text: str, data: Any, timeout_ms: int, max_depth: int) -> Any:
    expression = _parsed(text)
    Timebox(expression.environment, timeout_ms, max_depth)  # this evaluation's clock and depth, from zero
    try:
        return _plain(expression.evaluate(data, {}))  # bindings: a fresh frame per record
    except JException as exc:
        raise ExpressionError(_message(exc)) from None
    except RecursionError:
        raise ExpressionError("the expression recursed too deeply") from None
    except MemoryError:
        raise
    except Exception as exc:  # an expression is a person's input: its failure parks a record, not a run
        raise ExpressionError(f"the expression failed: {type(exc).__name__}: {exc}") from None


_PARSED: OrderedDict[str, Jsonata] = OrderedDict()  # the child is single-threaded
_KEPT = 256


def _parsed(text: str) -> Jsonata:
    expression = _PARSED.get(text)
    if expression is None:
        expression = _PARSED[text] = _compile(text, None, None)
        while len(_PARSED) > _KEPT:
            _PARSED.popitem(last=False)
    _PARSED.move_to_end(text)
    return expression


def _compile(text: str, timeout_ms: int | None, max_depth: int | None) -> Jsonata:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters; at most {MAX_LENGTH} are allowed")
    if _FORBIDDEN.search(text):
        raise ExpressionError("$eval is not allowed in a mapping expression: it runs text no check has seen")
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


if __name__ == "__main__":
    _serve()
