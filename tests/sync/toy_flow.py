"""A throw-away flow for the runner's tests: records "1".."N" copied into a "remote system" that is a
directory of files, one per record, found again by its key. Every remote write leaves a trace."""

import os
import signal
import time
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field

from koppel.errors import Outcome
from koppel.sync.links import Links, Record
from koppel.sync.runner import Flow, declare
from tests.sync.workflows import trace, traces


class ToySettings(BaseModel):
    records: int = Field(6, ge=1)
    pause: float = 0.0  # seconds times the record's number: record n is written after n pauses
    explode: list[str] = []  # records whose sync meets an amount nobody expected
    die_after_write: str = ""  # the process dies (SIGKILL) right after writing this record, once


class Toy:
    def __init__(self, settings: ToySettings, links: Links) -> None:
        self.settings, self.links, self.remote = settings, links, Path(os.environ["KOPPEL_TEST_REMOTE"])

    def fetch(self, cursor: str | None) -> list[tuple[str, str]]:
        return [(str(n), str(n)) for n in range(int(cursor or 0) + 1, self.settings.records + 1)]

    def sync(self, key: str, *, claimer: str) -> Record:
        if self.links.find("thing", key):
            return Record("thing", key, Outcome.SKIPPED, "linked before", f"R{key}", earlier_stands=True)
        if key in self.settings.explode:
            Decimal("1e30").quantize(Decimal("0.01"))  # decimal.InvalidOperation
        time.sleep(self.settings.pause * int(key))
        if (self.remote / key).exists():
            return Record("thing", key, Outcome.SKIPPED, "found in the remote system", f"R{key}", link=True)
        self.remote.mkdir(exist_ok=True)
        (self.remote / key).write_text(claimer)
        trace(f"write:{key}:{os.getpid()}")
        if key == self.settings.die_after_write and f"died:{key}" not in traces():
            trace(f"died:{key}")
            os.kill(os.getpid(), signal.SIGKILL)
        return Record("thing", key, Outcome.SENT, f"written as R{key}", f"R{key}", link=True)


TOY = declare(Flow(name="toy", entity="thing", settings=ToySettings, open=lambda _, s, links: Toy(s, links)))
