"""Where a flow remembers what it linked, what happened to each record and how far it read: the
engine's `sync.units` API in production (link rows with a unique constraint, per-record activity,
cursors), or memory in tests.

Flows depend on the `Links` protocol only, so their business logic runs and is tested without the
engine; `EngineLinks` is the one adapter to `koppel.sync.units`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from koppel.errors import Outcome


@dataclass(frozen=True)
class Link:
    """A source record (e.g. an MWW order number) and the target record made for it (an AV key)."""

    entity: str
    source_key: str
    target_key: str
    payload_hash: str = ""


@dataclass(frozen=True)
class Record:
    """What happened to one record, as the activity log shows it."""

    entity: str
    key: str
    outcome: Outcome
    reason: str = ""
    target_key: str = ""
    payload_in: Any = None
    payload_out: Any = None


class Links(Protocol):
    def find(self, entity: str, source_key: str) -> Link | None: ...

    def write(self, entity: str, source_key: str, target_key: str, payload_hash: str = "") -> Link:
        """Link once: when a link exists already (perhaps written this instant elsewhere), it stands
        and is returned instead."""
        ...

    def forget(self, entity: str, source_key: str) -> None: ...

    def remember_sent(self, entity: str, source_key: str, payload_hash: str) -> None: ...

    def record(self, record: Record) -> None: ...

    def read_cursor(self, name: str) -> str | None: ...

    def advance_cursor(self, name: str, value: str) -> None:
        """Move forward only; call with a position up to which every record has an outcome."""
        ...


class EngineLinks:
    """Links and activity of one integration in the database, through `koppel.sync.units`."""

    def __init__(self, integration_id: int, run_id: int | None = None) -> None:
        self.integration_id = integration_id
        self.run_id = run_id

    def find(self, entity: str, source_key: str) -> Link | None:
        from koppel.sync import units

        found = units.find_link(self.integration_id, entity, source_key)
        return Link(found.entity, found.source_key, found.target_key, found.payload_hash) if found else None

    def write(self, entity: str, source_key: str, target_key: str, payload_hash: str = "") -> Link:
        from koppel.sync import units

        row = units.write_link(self.integration_id, entity, source_key, target_key, payload_hash)
        return Link(row.entity, row.source_key, row.target_key, row.payload_hash)

    def forget(self, entity: str, source_key: str) -> None:
        from koppel.sync import units

        units.forget_link(self.integration_id, entity, source_key)

    def remember_sent(self, entity: str, source_key: str, payload_hash: str) -> None:
        from koppel.sync import units

        units.remember_sent(self.integration_id, entity, source_key, payload_hash)

    def record(self, record: Record) -> None:
        from koppel.sync import units

        units.record_outcome(
            self.integration_id,
            record.entity,
            record.key,
            record.outcome,
            reason=record.reason,
            target_key=record.target_key,
            payload_in=record.payload_in,
            payload_out=record.payload_out,
            run_id=self.run_id,
        )

    def read_cursor(self, name: str) -> str | None:
        from koppel.sync import units

        return units.read_cursor(self.integration_id, name)

    def advance_cursor(self, name: str, value: str) -> None:
        from koppel.sync import units

        units.advance_cursor(self.integration_id, name, value)


@dataclass
class MemoryLinks:
    """Links and activity in memory, with the same first-writer-wins rule as the database."""

    links: dict[tuple[str, str], Link] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def find(self, entity: str, source_key: str) -> Link | None:
        with self.lock:
            return self.links.get((entity, source_key))

    def write(self, entity: str, source_key: str, target_key: str, payload_hash: str = "") -> Link:
        with self.lock:
            return self.links.setdefault((entity, source_key), Link(entity, source_key, target_key, payload_hash))

    def forget(self, entity: str, source_key: str) -> None:
        with self.lock:
            self.links.pop((entity, source_key), None)

    def remember_sent(self, entity: str, source_key: str, payload_hash: str) -> None:
        with self.lock:
            link = self.links.get((entity, source_key))
            if link is not None:
                self.links[(entity, source_key)] = Link(link.entity, link.source_key, link.target_key, payload_hash)

    def record(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def read_cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    def advance_cursor(self, name: str, value: str) -> None:
        with self.lock:
            self.cursors[name] = max(self.cursors.get(name, value), value)  # ISO moments sort as text

    def latest(self, key: str, entity: str = "order") -> Record | None:
        """The last outcome recorded for a record (tests)."""
        with self.lock:
            return next((r for r in reversed(self.records) if (r.entity, r.key) == (entity, key)), None)
