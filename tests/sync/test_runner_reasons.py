"""The runner's reasons keep their translatable form: a record parked after its tries says the suffix and
the last try's reason, each translatable; an unexpected error and a record handled in an earlier run too,
even when that earlier result comes back from the JSON a durable run stores."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel

from koppel.errors import NeedsAttention, Outcome, RetryableError
from koppel.reasons import Reason, reason
from koppel.sync.links import MemoryLinks, Record
from koppel.sync.runner import Flow, Result, run, run_here

FLOW = Flow(name="things", entity="thing", settings=BaseModel, open=lambda *_: None)  # type: ignore[arg-type, return-value]
BUSY = reason("AccountView is busy with {what}", what="a backup")
MISSING = reason("Order {order} has no lines. Check the order in the shop.", order="1002")


class Recipe:
    def fetch(self, cursor: str | None) -> list[tuple[str, str]]:
        return [("1001", "1"), ("1002", "2"), ("1003", "3")]

    def sync(self, key: str, *, claimer: str) -> Record:
        if key == "1001":
            raise RetryableError(BUSY)
        if key == "1002":
            raise NeedsAttention(MISSING)
        raise KeyError("lines")


def test_parked_after_tries_each_part_keeps_its_form() -> None:
    ledger = MemoryLinks()
    summary = run_here(FLOW, Recipe(), ledger, tries=2, wait=0.0)  # type: ignore[arg-type]

    parked = ledger.latest("1001", "thing")
    assert parked is not None and parked.outcome == Outcome.RETRY
    assert parked.reason == "AccountView is busy with a backup (tried several times; the next run tries again)"
    assert isinstance(parked.reason, Reason) and parked.reason.as_args() == {
        "template": "{reason} (tried several times; the next run tries again)",
        "params": {"reason": {"template": "AccountView is busy with {what}", "params": {"what": "a backup"}}}}
    attention = ledger.latest("1002", "thing")
    assert attention is not None and isinstance(attention.reason, Reason)
    assert attention.reason.as_args() == MISSING.as_args()
    odd = ledger.latest("1003", "thing")
    assert odd is not None and isinstance(odd.reason, Reason)
    assert odd.reason.template.startswith("Koppel could not handle this record ({error})")
    assert odd.reason.params == {"error": "KeyError: 'lines'"}
    shown = {r.key: r.reason_args for r in summary.results}
    assert shown["1001"] == parked.reason.as_args() and shown["1002"] == MISSING.as_args()


class Earlier:
    """A durable run's execution whose unit for 1002 finished in run 7: its result read back from JSON."""

    def __init__(self) -> None:
        self.ledger = MemoryLinks()
        stored = asdict(Result("1002", Outcome.SENT.value, reason("sales order {target}", target="SO-9"))) | {"run": 7}
        self.earlier = json.loads(json.dumps(stored))

    def settings_problem(self) -> str:
        return ""

    def fetch(self, run_id: int, cursor: str | None) -> list[tuple[str, str]]:
        return [("1002", "1")]

    def announce(self, total: int) -> None:
        pass

    def finished(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {"1002": self.earlier}

    def start(self, key: str, run_id: int) -> Callable[[], dict[str, Any]]:
        raise AssertionError("a unit finished earlier is not started again")


def test_already_handled_keeps_the_earlier_reason_from_stored_json() -> None:
    outcome = run(FLOW, Earlier(), full=True)
    (record,) = outcome["records"]
    assert record["outcome"] == "skipped" and record["reason"] == "already handled: sales order SO-9"
    assert record["reason_args"] == {"template": "already handled: {reason}", "params": {
        "reason": {"template": "sales order {target}", "params": {"target": "SO-9"}}}}
    assert Result(**json.loads(json.dumps(record))).reason_args == record["reason_args"]
