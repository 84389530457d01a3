"""The one runner of every flow. A flow declares what it is (`Flow`: its name, the entity of its records,
its settings model, and how to open one run's recipe); the runner does the rest, the same way for
every flow: units of work and their ids, tries, parking, parked records run again, cursors, runs,
progress events and summaries.

    summary = run_flow("orders", "my-shop", progress=lambda event: bar.update(...))
    summary.counts      # {"sent": 40, "skipped": 3, "needs_attention": 2, "retry": 0, …}
    summary.parked      # [Result(key, outcome, reason, target_key), …]

Durably (`run_flow`, `retry_flow`, the scheduler): a run is the DBOS workflow `<flow>.run`; each
record is a unit of work with the workflow id `<flow>:<integration>:<key>`, so starting it twice runs
it once; a record parked by an earlier run goes again as `<key>@<run>`, a person's retry as
`<key>@retry-<run>`. In this process (`run_here`: tests, the benchmark): the same run, its units on
threads, passing failures tried here instead of as durable steps.

The rules, in both: a passing failure (RetryableError) is tried again, then the record is parked
for the next run; anything unexpected parks the record with a reason; a record's outcome is written
with its link in one transaction; the cursor moves only to the record before the first one that
goes again by itself (retry, broken connection); the run row is always closed, as failed with a
message when the run could not complete (invalid settings, a broken connection while listing).
What DBOS stores between steps is keys, outcomes and reasons, never the records themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from koppel.errors import KoppelError, Outcome, RetryableError
from koppel.reasons import Reason, from_args, joined, reason
from koppel.sync import units
from koppel.sync.clients import IntegrationClients
from koppel.sync.links import PARKED, EngineLinks, Ledger, Links, Record

log = logging.getLogger(__name__)
T = TypeVar("T")
Candidates = list[tuple[str, str]]  # (key, position for the cursor), oldest first
# How often a waiting run asks whether a unit finished (DBOS's default is 1 s: a run's last unit, and the
# CLI waiting for the run, each lost up to a second).
RESULT_POLL_SECONDS = 0.2
# Units a run has started and not yet read the result of. Far more than run at once (engine.unit_concurrency,
# a run_here's workers), so no worker waits for the run to start more; few enough that a run's memory does not
# grow with its size.
UNITS_AHEAD = 256


class Recipe(Protocol):
    """One run of a flow for one integration: the flow's business steps."""

    def fetch(self, cursor: str | None) -> Candidates:
        """The records to look at since `cursor` (all of them when None), oldest first."""
        ...

    def sync(self, key: str, *, claimer: str) -> Record:
        """Send, skip or park one record, and say what happened (the runner records it). Raises
        RetryableError when a try failed for a passing reason; `claimer` names this unit of work."""
        ...


@dataclass(frozen=True)
class Flow:
    """What a flow declares to the runner; `name` is the CLI's word, the cursor's name and the prefix
    of its unit ids (keep it stable), `open` makes one run's recipe from the integration's clients."""

    name: str
    entity: str
    settings: type[BaseModel]
    open: Callable[[IntegrationClients, Any, Links], Recipe]


@dataclass(frozen=True, slots=True)  # a run of 100,000 records holds 100,000 of them
class Result:
    """What happened to one record in a run. `reason_args`: the reason's translatable form
    (koppel.reasons), filled from a Reason, so it survives the JSON a durable run stores."""

    key: str
    outcome: str
    reason: str = ""
    target_key: str = ""
    reason_args: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.reason_args is None and isinstance(self.reason, Reason):
            object.__setattr__(self, "reason_args", self.reason.as_args())


@dataclass(frozen=True)
class Progress:
    """One step of a run, for a progress bar: `total` is known once the records are listed."""

    done: int
    total: int
    result: Result | None = None


@dataclass
class RunSummary:
    """A finished run: what was sent, skipped and parked, and why."""

    flow: str
    integration: str
    results: list[Result] = field(default_factory=list)
    error: str = ""
    run_id: int | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {o.value: sum(1 for r in self.results if r.outcome == o.value) for o in Outcome}

    @property
    def parked(self) -> list[Result]:
        return [r for r in self.results if r.outcome in PARKED]

    def as_json(self) -> dict[str, Any]:
        return {"flow": self.flow, "integration": self.integration, "run": self.run_id, "counts": self.counts,
                "error": self.error, "records": [asdict(r) for r in self.results]}


# ---- the rules of a run, whatever executes its units -------------------------------------------


def attempt(flow: Flow, recipe: Recipe, ledger: Ledger, key: str, claimer: str, run_id: int | None) -> Result:
    """One try at one record: the recipe's outcome recorded, with its link. A passing failure raises
    RetryableError (nothing recorded); anything unexpected parks the record, naming the error. A record
    someone skipped is left alone: not sent, and its activity (with what came in) kept as it is."""
    skipped = skip_reason(ledger, flow.entity, key)
    if skipped:
        return Result(key, Outcome.SKIPPED.value, skipped)
    try:
        record = recipe.sync(key, claimer=claimer)
    except RetryableError:
        raise
    except KoppelError as error:
        record = Record(flow.entity, key, error.outcome, str(error))
    except Exception as error:
        log.exception("%s %s: unexpected error", flow.entity, key)
        record = Record(flow.entity, key, Outcome.NEEDS_ATTENTION, unexpected(error))
    ledger.record(record, run_id)
    return Result(key, record.outcome.value, record.reason, record.target_key)


def skip_reason(ledger: Ledger, entity: str, key: str) -> str:
    """Why a person skipped this record ("" when nobody did); skips live in the database only."""
    if not isinstance(ledger, EngineLinks):
        return ""
    from koppel.sync import record_actions

    return record_actions.skip_reason(ledger.integration_id, entity, key)


def park(flow: Flow, ledger: Ledger, key: str, cause: str, run_id: int | None) -> Result:
    """Record a record whose tries all failed for passing reasons; the next run tries it again."""
    parked = reason("{reason} (tried several times; the next run tries again)", reason=cause)
    ledger.record(Record(flow.entity, key, Outcome.RETRY, parked), run_id)
    return Result(key, Outcome.RETRY.value, parked)


def unexpected(error: BaseException) -> Reason:
    detail = f": {error}" if str(error) else ""
    return reason("Koppel could not handle this record ({error}). It is parked: check its data, then retry it; "
                  "report the error if it stays.", error=f"{type(error).__name__}{detail}")


def reason_of(error: BaseException) -> str:
    """The readable cause of a failure; for used-up step retries, the last try's error."""
    last = _last_try(error)
    return str(last) or type(last).__name__


def failure_of(error: BaseException) -> dict[str, str]:
    """What stopped a run, for the monitor: the vocabulary's outcome and the system that caused it."""
    last = _last_try(error)
    return {"outcome": last.outcome.value, "system": last.system or ""} if isinstance(last, KoppelError) else {}


def _last_try(error: BaseException) -> BaseException:
    errors = getattr(error, "errors", None)
    return errors[-1] if isinstance(errors, list) and errors else error


def settings_problem(flow: Flow, raw: dict[str, Any] | None) -> str:
    """Why the flow's settings are invalid, naming each setting; "" when they are valid."""
    try:
        flow.settings.model_validate(raw or {})
    except ValidationError as error:
        problems = joined([reason("{setting}: {problem} (value {value})",
                                  setting=".".join(str(p) for p in e["loc"]) or flow.name,
                                  problem=_said(e), value=_short(e.get("input")))
                           for e in error.errors()])
        return reason("The {flow} settings are invalid: {problems}. Correct them in the integration's settings.",
                      flow=flow.name, problems=problems)
    return ""


def _said(error: ErrorDetails) -> str:
    """A settings refusal's reason (translatable) when a validator gave one, else pydantic's English."""
    given = (error.get("ctx") or {}).get("reason")
    return given if isinstance(given, Reason) else error["msg"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def cursor_after(candidates: Candidates, outcomes: dict[str, str]) -> str | None:
    """How far the cursor may move: to the last record before the first one to be tried again
    (a passing failure, or a broken connection: both go again by themselves once it passes)."""
    position = None
    for key, moment in candidates:
        if outcomes.get(key) in (Outcome.RETRY.value, Outcome.BROKEN_CONNECTION.value):
            break
        position = moment
    return position


class Execution(Protocol):
    """How a run's units execute: durably (DBOS workflows) or on threads of this process."""

    ledger: Ledger

    def settings_problem(self) -> str: ...

    def fetch(self, run_id: int, cursor: str | None) -> Candidates: ...

    def start(self, key: str, run_id: int) -> Callable[[], dict[str, Any]]:
        """Start the unit of work `key`; returns a wait for its result (a Result's fields and `run`)."""
        ...

    def finished(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The results of the units among `keys` that finished in an earlier run without being parked,
        read at once: a run over records handled before (a --full re-run) starts and awaits none of them."""
        ...

    def announce(self, total: int) -> None: ...


def run(flow: Flow, execution: Execution, *, full: bool = False, keys: list[str] | None = None) -> dict[str, Any]:
    """One run: the records since the cursor (all with `full`; or just `keys`, a person's retry,
    leaving the cursor alone), each in its unit of work; parked ones of earlier runs go again."""
    ledger = execution.ledger
    run_id = ledger.open_run(flow.name)
    try:
        problem = execution.settings_problem()
        if problem:
            ledger.close_run(run_id, {}, error=problem)
            return {"run": run_id, "error": problem, "records": []}
        if keys is None:
            candidates = execution.fetch(run_id, None if full else ledger.read_cursor(flow.name))
            unit_keys = [key for key, _ in candidates]
        else:
            candidates, unit_keys = [], [f"{key}@retry-{run_id}" for key in keys]
        execution.announce(len(unit_keys))
        store_total(ledger, run_id, len(unit_keys))
        results = _units(execution, unit_keys, execution.finished(unit_keys), run_id)
        again = {i: execution.start(f"{r['key']}@{run_id}", run_id) for i, r in enumerate(results)
                 if r["run"] != run_id and r["outcome"] in PARKED}
        for index, wait in again.items():
            results[index] = _kept(wait())
        return _finish(flow, ledger, run_id, candidates, results)
    except Exception as error:  # the run row is closed whatever happened
        log.exception("%s run %s could not complete", flow.name, run_id)
        message = reason_of(error)
        ledger.close_run(run_id, {}, error=message)
        return {"run": run_id, "error": message, "records": [], "failure": failure_of(error)}


def _units(execution: Execution, unit_keys: list[str], earlier: dict[str, dict[str, Any]],
           run_id: int) -> list[dict[str, Any]]:
    """Each unit's result, in the keys' order; the units not finished before are started in that order, at most
    UNITS_AHEAD of them waiting to be read. A started unit holds a handle until its result is read (a future
    with its lock, a workflow handle: about 2 KB), so a run of 100,000 records started at once held 100,000 of
    them; what a result keeps is cut to a Result's fields. The order of starts and reads is the same in every
    replay of a durable run."""
    results: list[dict[str, Any]] = []
    waiting: deque[Callable[[], dict[str, Any]]] = deque()
    for key in unit_keys:
        if key in earlier:  # read already (whole: its reason's form goes on in "already handled: …")
            waiting.append(_found(_result_fields(earlier[key]) | {"run": earlier[key]["run"]}))
        else:
            waiting.append(_kept_of(execution.start(key, run_id)))
        if len(waiting) >= UNITS_AHEAD:
            results.append(waiting.popleft()())
    results += (wait() for wait in waiting)
    return results


def _kept_of(wait: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    return lambda: _kept(wait())


def _found(result: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: result


def _kept(result: dict[str, Any]) -> dict[str, Any]:
    """What a run keeps of a unit's result until it ends: its fields, the reason as plain text, and the
    reason's translatable form only where a person has to act (parked records). A sent or skipped record's
    form stays in the activity log, where the dashboard reads it: kept here, the nested forms of a run of
    100,000 records took 2.6 KB each (260 MB)."""
    outcome = result["outcome"]
    return {"key": result["key"], "outcome": outcome, "reason": str(result["reason"]),
            "target_key": result["target_key"], "reason_args": result.get("reason_args") if outcome in PARKED else None,
            "run": result["run"]}


def _finish(flow: Flow, ledger: Ledger, run_id: int, candidates: Candidates,
            results: list[dict[str, Any]]) -> dict[str, Any]:
    for result in results:
        if result["run"] != run_id:  # finished in an earlier run: nothing happened now
            handled = reason("already handled: {reason}",
                             reason=from_args(result["reason"], result.get("reason_args")))
            result.update(outcome=Outcome.SKIPPED.value, reason=str(handled), reason_args=handled.as_args())
    position = cursor_after(candidates, {r["key"]: r["outcome"] for r in results})
    if position:
        ledger.advance_cursor(flow.name, position)
    counts = {o.value: sum(1 for r in results if r["outcome"] == o.value) for o in Outcome}
    ledger.close_run(run_id, counts)
    for result in results:  # in place: a copy of every record would double the run's memory at its end
        del result["run"]
    return {"run": run_id, "error": "", "records": results}


def _result_fields(result: dict[str, Any]) -> dict[str, Any]:
    """A Result's fields from a unit's output (one stored before reasons had a form has none)."""
    return {k: result[k] for k in ("key", "outcome", "reason", "target_key")} | {
        "reason_args": result.get("reason_args")}


def store_total(ledger: Ledger, run_id: int, total: int) -> None:
    """Keep a run's total where other processes read its progress (the dashboard's sync now): in the
    database, for runs recorded there; done is then counted from the run's activity, with no write per record."""
    if isinstance(ledger, EngineLinks):
        units.announce_total(run_id, total)


def run_unit(sync: Callable[[], dict[str, Any]], park_it: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """A unit of work: the record synced (tries included), or parked for the next run when every
    try failed or the unit itself broke down."""
    try:
        return sync()
    except Exception as error:
        return park_it(reason_of(error))


class Tally:
    """Counts a run's handled records for a progress callback."""

    def __init__(self, progress: Callable[[Progress], None] | None) -> None:
        self.progress = progress
        self.done = self.total = 0
        self.lock = threading.Lock()

    def announce(self, total: int) -> None:
        with self.lock:
            self.total = total
            event = Progress(self.done, max(self.total, self.done))
        if self.progress:
            self.progress(event)

    def handled(self, result: Result) -> None:
        with self.lock:
            self.done += 1
            event = Progress(self.done, max(self.total, self.done), result)
        if self.progress:
            self.progress(event)


def _summary(flow: Flow, integration: str, outcome: dict[str, Any]) -> RunSummary:
    return RunSummary(flow.name, integration, [Result(**item) for item in outcome.get("records", [])],
                      error=str(outcome.get("error", "")), run_id=outcome.get("run"))


# ---- in this process ------------------------------------------------------------------------------


@dataclass
class InProcess:
    """Units on threads of this process; passing failures tried `tries` times, `wait` doubling."""

    flow: Flow
    recipe: Recipe
    ledger: Ledger
    tries: int
    wait: float
    pool: ThreadPoolExecutor
    tally: Tally

    def settings_problem(self) -> str:
        return ""  # the recipe was opened with validated settings

    def fetch(self, run_id: int, cursor: str | None) -> Candidates:
        return self._with_tries(lambda: self.recipe.fetch(cursor))

    def announce(self, total: int) -> None:
        self.tally.announce(total)

    def start(self, key: str, run_id: int) -> Callable[[], dict[str, Any]]:
        return self.pool.submit(self._unit, key, run_id).result

    def finished(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {}  # units on threads live as long as their run

    def _unit(self, key: str, run_id: int) -> dict[str, Any]:
        record_key = key.split("@", 1)[0]
        result = run_unit(
            lambda: asdict(self._with_tries(
                lambda: attempt(self.flow, self.recipe, self.ledger, record_key, key, run_id))),
            lambda reason: asdict(park(self.flow, self.ledger, record_key, reason, run_id)))
        self.tally.handled(Result(**result))
        return {**result, "run": run_id}

    def _with_tries(self, call: Callable[[], T]) -> T:
        for attempt_number in range(self.tries):
            try:
                return call()
            except RetryableError:
                if attempt_number == self.tries - 1:
                    raise
                time.sleep(self.wait * 2**attempt_number)
        raise AssertionError("unreachable")


def run_here(flow: Flow, recipe: Recipe, ledger: Ledger, *, full: bool = False, tries: int = 4,
             wait: float = 0.2, workers: int = 1, progress: Callable[[Progress], None] | None = None,
             integration: str = "") -> RunSummary:
    """One run in this process (tests, the benchmark): the same rules as a durable run, `workers`
    records at a time."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        execution = InProcess(flow, recipe, ledger, max(1, tries), wait, pool, Tally(progress))
        return _summary(flow, integration, run(flow, execution, full=full))


# ---- durably: DBOS workflows ----------------------------------------------------------------------

_flows: dict[str, Flow] = {}
_workflows: dict[str, Workflows] = {}
_recipes: OrderedDict[tuple[str, int, int], Recipe] = OrderedDict()
_recipes_lock = threading.Lock()
_tallies: dict[tuple[str, int], Tally] = {}
_KEPT_RECIPES = 4
# Runs of this process that met a broken connection: their remaining records are not tried (nor recorded:
# they stay where they were, and the cursor waits before them) until the connection works again.
_broken_runs: OrderedDict[int, None] = OrderedDict()
NOT_TRIED = reason("not tried: a connection broke during this run; it goes again once the connection works")


def declare(flow: Flow) -> Flow:
    """Make a flow known to the runner (a flow module does this when imported); declares its
    workflows with DBOS, so the engine must import the module before it launches."""
    if flow.name in _flows:
        raise ValueError(f"flow {flow.name!r} is declared twice")
    _flows[flow.name] = flow
    _workflows[flow.name] = Workflows.declare(flow)
    return flow


def find(name: str) -> Flow:
    """The flow called `name`, after importing the declared flow packages; LookupError otherwise."""
    from koppel.sync import engine

    if name not in _flows:
        engine.declare_workflows(engine.FLOW_PACKAGES)
    if name not in _flows:
        raise LookupError(f"no flow {name!r}; known: {', '.join(sorted(_flows)) or 'none'}")
    return _flows[name]


def _recipe(flow: Flow, integration_id: int, run_id: int) -> Recipe:
    """This process's recipe of a run: clients and caches live as long as the run."""
    from koppel.sync.clients import integration_clients

    with _recipes_lock:
        recipe = _recipes.get((flow.name, integration_id, run_id))
        if recipe is None:
            wiring = integration_clients(integration_id)
            settings = flow.settings.model_validate(wiring.flows.get(flow.name) or {})
            recipe = flow.open(wiring, settings, EngineLinks(integration_id))
            _recipes[(flow.name, integration_id, run_id)] = recipe
            while len(_recipes) > _KEPT_RECIPES:
                _recipes.popitem(last=False)
        _recipes.move_to_end((flow.name, integration_id, run_id))
        return recipe


def _notify(flow: Flow, integration_id: int, result: dict[str, Any]) -> None:
    tally = _tallies.get((flow.name, integration_id))
    if tally:
        tally.handled(Result(**_result_fields(result)))


@dataclass(frozen=True)
class Workflows:
    """A flow's DBOS workflows and steps, declared once per process when the flow is declared."""

    flow: Flow
    unit: Callable[..., Any]
    fetch: Callable[[int, int, str | None], list[list[str]]]
    check_settings: Callable[[int], str]
    finished: Callable[[int, list[str]], dict[str, dict[str, Any]]]

    @classmethod
    def declare(cls, flow: Flow) -> Workflows:
        @units.step(name=f"{flow.name}.check_settings")
        def check_settings(integration_id: int) -> str:
            from koppel.sync.clients import integration_clients

            return settings_problem(flow, integration_clients(integration_id).flows.get(flow.name))

        @units.step(retries=3, interval_seconds=1.0, name=f"{flow.name}.fetch")
        def fetch(integration_id: int, run_id: int, cursor: str | None) -> list[list[str]]:
            return [[key, position] for key, position in _recipe(flow, integration_id, run_id).fetch(cursor)]

        @units.step(retries=5, interval_seconds=1.0, backoff_rate=2.0, name=f"{flow.name}.sync")
        def sync(integration_id: int, run_id: int, key: str, claimer: str) -> dict[str, str]:
            if run_id in _broken_runs:  # no hammering a broken connection with the rest of the run
                return asdict(Result(key, Outcome.BROKEN_CONNECTION.value, NOT_TRIED))
            recipe = _recipe(flow, integration_id, run_id)
            result = attempt(flow, recipe, EngineLinks(integration_id), key, claimer, run_id)
            if result.outcome == Outcome.BROKEN_CONNECTION.value:
                with _recipes_lock:
                    _broken_runs[run_id] = None
                    while len(_broken_runs) > _KEPT_RECIPES:
                        _broken_runs.popitem(last=False)
            return asdict(result)

        @units.step(name=f"{flow.name}.park")
        def park_for_retry(integration_id: int, run_id: int, key: str, reason: str) -> dict[str, str]:
            return asdict(park(flow, EngineLinks(integration_id), key, reason, run_id))

        @units.step(name=f"{flow.name}.finished")
        def finished(integration_id: int, keys: list[str]) -> dict[str, dict[str, Any]]:
            from dbos import DBOS

            ids = {units.unit_id(flow.name, integration_id, key): key for key in keys}
            listed, results = list(ids), dict[str, dict[str, Any]]()
            for start in range(0, len(listed), 500):  # one read per 500 units, whatever the database
                for status in DBOS.list_workflows(workflow_ids=listed[start:start + 500], status="SUCCESS",
                                                  load_input=False):
                    if isinstance(status.output, dict) and status.output.get("outcome") not in PARKED:
                        results[ids[status.workflow_id]] = status.output
            return results

        @units.unit_of_work(flow.name, name=flow.entity)
        def unit(integration_id: int, key: str, run_id: int) -> dict[str, Any]:
            record_key = key.split("@", 1)[0]
            claimer = units.unit_id(flow.name, integration_id, key)
            result = run_unit(lambda: sync(integration_id, run_id, record_key, claimer),
                              lambda reason: park_for_retry(integration_id, run_id, record_key, reason))
            _notify(flow, integration_id, result)
            return {**result, "run": run_id}

        workflows = cls(flow, unit, fetch, check_settings, finished)

        @units.flow_run(flow.name)  # type: ignore[arg-type]  # returns the records besides the counts
        def run_workflow(integration_id: int, full: bool) -> dict[str, Any]:
            outcome = run(flow, Durable(workflows, integration_id), full=full)
            watch(integration_id, outcome)
            return outcome

        return workflows


def watch(integration_id: int, outcome: dict[str, Any]) -> None:
    """Tell the alerts how a durable run ended: a broken connection pauses its integrations and raises
    one alert; an unreachable system is noted, a completed run clears that."""
    from koppel.alerts.connections import after_run

    try:
        after_run(integration_id, outcome)
    except Exception:  # the run's outcome stands whatever the alerting did
        log.exception("alerts could not judge the run of integration %s", integration_id)


@dataclass
class Durable:
    """One durable run of an integration: its units are DBOS workflows, its reads and writes steps."""

    workflows: Workflows
    integration_id: int

    def __post_init__(self) -> None:
        self.ledger: Ledger = EngineLinks(self.integration_id)

    def settings_problem(self) -> str:
        return self.workflows.check_settings(self.integration_id)

    def finished(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return self.workflows.finished(self.integration_id, keys)

    def fetch(self, run_id: int, cursor: str | None) -> Candidates:
        return [(key, position) for key, position in self.workflows.fetch(self.integration_id, run_id, cursor)]

    def announce(self, total: int) -> None:
        tally = _tallies.get((self.workflows.flow.name, self.integration_id))
        if tally:
            tally.announce(total)

    def start(self, key: str, run_id: int) -> Callable[[], dict[str, Any]]:
        handle = units.start_unit(self.workflows.unit, self.integration_id, key, run_id)

        def wait() -> dict[str, Any]:
            try:
                return dict(handle.get_result(polling_interval_sec=RESULT_POLL_SECONDS))
            except Exception as error:  # the unit failed outright (its database was gone, …): next run
                return asdict(Result(key.split("@", 1)[0], Outcome.RETRY.value,
                                     reason("the unit of work failed: {reason}", reason=reason_of(error)))
                              ) | {"run": run_id}

        return wait


@contextmanager
def _engine(role: str, flow: Flow, integration_id: int, tally: Tally) -> Iterator[None]:
    """The engine of this process (launched for this command when none runs), with the work of
    dead executors taken over at once, and this run's progress reported to `tally`."""
    from koppel.sync import engine, supervisor

    launched = not engine.is_running()
    if launched:
        engine.launch(executor_id=engine.one_off_executor_id(role))
    running = engine.running()
    _tallies[(flow.name, integration_id)] = tally
    try:
        supervisor.take_over(running.executor_id, running.options.executor_timeout)
        yield
    finally:
        _tallies.pop((flow.name, integration_id), None)
        if launched:
            engine.shutdown()


def run_flow(name: str, integration: str, *, full: bool = False,
             progress: Callable[[Progress], None] | None = None) -> RunSummary:
    """Run a flow of an integration once, now, and wait for it (`koppel sync`). When a run of it is
    going already, or was left by a process that died (its work is taken over at once), this
    follows that run instead of queueing a second behind it."""
    from dbos import DBOS

    from koppel.sync import clients

    flow = find(name)
    integration_id = clients.integration_id(integration)
    with _engine(f"sync-{name}", flow, integration_id, Tally(progress)):
        going = units.active_run(flow.name, integration_id)
        handle = DBOS.retrieve_workflow(going) if going else units.start_flow_run(flow.name, integration_id,
                                                                                    full=full)
        return _summary(flow, integration, handle.get_result(polling_interval_sec=RESULT_POLL_SECONDS))


def retry_flow(name: str, integration: str, keys: list[str]) -> RunSummary:
    """Send these records again now, each in a fresh unit of work, as one run that leaves the cursor
    alone (`koppel retry`). A record already in the target is skipped: a retry never writes twice."""
    from koppel.sync import clients

    flow = find(name)
    integration_id = clients.integration_id(integration)
    with _engine(f"retry-{name}", flow, integration_id, Tally(None)):
        outcome = run(flow, Durable(_workflows[flow.name], integration_id), keys=[str(k).strip() for k in keys])
    return _summary(flow, integration, outcome)
