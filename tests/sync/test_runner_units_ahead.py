"""A run starts its units in order but never has more than UNITS_AHEAD of them started and unread: a started
unit holds a handle until its result is read, and a run of 100,000 records that started them all at once
held 100,000 handles (about 200 MB in the products benchmark). Results still come back whole and in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from koppel.reasons import reason
from koppel.sync import runner
from koppel.sync.links import MemoryLinks
from koppel.sync.runner import Flow, run

FLOW = Flow(name="things", entity="thing", settings=BaseModel, open=lambda *_: None)  # type: ignore[arg-type, return-value]


class Counting:
    """Units that finish at once; counts how many are started and not yet read. Records 5 and 6 were sent
    in run 3 (read at once, never started); 9 parks and goes again."""

    def __init__(self, records: int) -> None:
        self.ledger = MemoryLinks()
        self.keys = [str(n) for n in range(records)]
        self.started: list[str] = []
        self.unread = self.most_unread = 0

    def settings_problem(self) -> str:
        return ""

    def fetch(self, run_id: int, cursor: str | None) -> list[tuple[str, str]]:
        return [(key, key.zfill(4)) for key in self.keys]

    def announce(self, total: int) -> None:
        pass

    def finished(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {key: {"key": key, "outcome": "sent", "reason": "", "target_key": f"T{key}", "run": 3,
                      "payload": "x" * 1000} for key in ("5", "6")}

    def start(self, key: str, run_id: int) -> Callable[[], dict[str, Any]]:
        self.started.append(key)
        self.unread += 1
        self.most_unread = max(self.most_unread, self.unread)

        def read() -> dict[str, Any]:
            self.unread -= 1
            record = key.split("@")[0]
            parked = key == "9"
            said = reason("busy: {what}", what="backup") if parked else reason("created {article}", article=record)
            return {"key": record, "outcome": "retry" if parked else "sent", "reason": said, "run": run_id,
                    "target_key": "" if parked else f"T{record}", "reason_args": said.as_args(), "payload": "x" * 1000}

        return read


@pytest.mark.parametrize("records", [1, 4, 5, 23])
def test_no_more_units_are_started_than_allowed_ahead_and_every_result_comes_back_in_order(
        monkeypatch: pytest.MonkeyPatch, records: int) -> None:
    monkeypatch.setattr(runner, "UNITS_AHEAD", 4)
    execution = Counting(records)
    outcome = run(FLOW, execution, full=True)

    run_id = outcome["run"]
    assert execution.most_unread <= 4
    assert run_id != 3
    assert execution.started == [k for k in execution.keys if k not in ("5", "6")]
    assert [r["key"] for r in outcome["records"]] == execution.keys
    expected = {k: ("skipped" if k in ("5", "6") else "retry" if k == "9" else "sent") for k in execution.keys}
    assert {r["key"]: r["outcome"] for r in outcome["records"]} == expected
    assert all(r["target_key"] == f"T{r['key']}" for r in outcome["records"] if r["key"] != "9")
    assert all("payload" not in r for r in outcome["records"])  # what a result keeps is cut to its fields
    # a sent record's reason is kept as text only (its translatable form is in the activity log); a parked
    # one's form is kept for whoever acts on it
    sent = [r for r in outcome["records"] if r["outcome"] == "sent"]
    assert all(type(r["reason"]) is str and r["reason_args"] is None for r in sent)
    assert sent[0]["reason"] == f"created {sent[0]['key']}"
    parked = [r for r in outcome["records"] if r["outcome"] == "retry"]
    assert all(r["reason_args"] == {"template": "busy: {what}", "params": {"what": "backup"}} for r in parked)
    # the cursor stops before the parked record
    assert execution.ledger.cursors == {"things": ("0008" if records > 9 else execution.keys[-1].zfill(4))}
