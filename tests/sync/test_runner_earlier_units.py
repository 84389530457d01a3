"""The runner's rule for records whose unit of work finished in an earlier run: their results are read
at once and the run starts no unit for them (a --full re-run over linked records costs one read,
not a durable workflow each); parked ones and those never tried still get their unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from koppel.sync.links import MemoryLinks
from koppel.sync.runner import Flow, run

FLOW = Flow(name="things", entity="thing", settings=BaseModel, open=lambda *_: None)  # type: ignore[arg-type, return-value]


class Earlier:
    """An execution whose units 1–3 ran in run 7: 1 and 2 were sent, 3 was parked."""

    def __init__(self) -> None:
        self.ledger = MemoryLinks()
        self.started: list[str] = []
        self.asked: list[list[str]] = []
        self.earlier = {"1": self.result("1", "sent", 7), "2": self.result("2", "sent", 7)}

    @staticmethod
    def result(key: str, outcome: str, run_id: int) -> dict[str, Any]:
        return {"key": key, "outcome": outcome, "reason": f"{outcome} in run {run_id}", "target_key": "", "run": run_id}

    def settings_problem(self) -> str:
        return ""

    def fetch(self, run_id: int, cursor: str | None) -> list[tuple[str, str]]:
        return [(key, key) for key in ("1", "2", "3", "4")]

    def announce(self, total: int) -> None:
        pass

    def finished(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        self.asked.append(list(keys))
        return {key: self.earlier[key] for key in keys if key in self.earlier}

    def start(self, key: str, run_id: int) -> Callable[[], dict[str, Any]]:
        self.started.append(key)
        if key == "3":  # the unit of run 7 stands: its parked result comes back as it was
            return lambda: self.result("3", "retry", 7)
        return lambda: self.result(key.split("@")[0], "sent", run_id)


def test_units_finished_in_an_earlier_run_are_read_at_once_and_not_started() -> None:
    execution = Earlier()
    outcome = run(FLOW, execution, full=True)

    assert execution.asked == [["1", "2", "3", "4"]]  # one read for the whole run
    run_id = outcome["run"]
    assert execution.started == ["3", "4", f"3@{run_id}"]  # parked 3 goes again; 1 and 2 start nothing
    records = {r["key"]: (r["outcome"], r["reason"]) for r in outcome["records"]}
    assert records == {"1": ("skipped", "already handled: sent in run 7"),
                       "2": ("skipped", "already handled: sent in run 7"),
                       "3": ("sent", f"sent in run {run_id}"), "4": ("sent", f"sent in run {run_id}")}
    assert execution.ledger.cursors == {"things": "4"}
