"""What the runner and a flow's recipe remember: links (source key → target key), each record's latest
outcome, cursors and runs. In the database through `koppel.sync.units` (`EngineLinks`), or in memory
for tests and the benchmark (`MemoryLinks`), with the same rules.

A recipe uses the `Links` part (its own links, e.g. debtors); the runner uses the rest: it records a
record's outcome together with the record's link, in one transaction.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from koppel.errors import Outcome

PARKED = (Outcome.NEEDS_ATTENTION.value, Outcome.RETRY.value, Outcome.BROKEN_CONNECTION.value)


def run_status(counts: dict[str, int], error: str = "") -> str:
    """How a run ended: failed (it could not complete), partial (some records parked) or succeeded."""
    if error:
        return "failed"
    return "partial" if any(counts.get(outcome, 0) for outcome in PARKED) else "succeeded"


@dataclass(frozen=True)
class Link:
    """A source record (e.g. an MWW order number) and the target record made for it (an AV key)."""

    entity: str
    source_key: str
    target_key: str
    payload_hash: str = ""


@dataclass(frozen=True)
class Record:
    """What happened to one record, as the activity log shows it.

    `link`: link `key` to `target_key` with this outcome, in the same transaction. `earlier_stands`:
    the record was handled before and that outcome stands; this one is written only when none was
    (a link left without its activity is healed). `measures`: sums this record adds to the integration's
    daily totals (an order's total as "revenue:EUR"), counted once: when the record is linked the first time.
    """

    entity: str
    key: str
    outcome: Outcome
    reason: str = ""
    target_key: str = ""
    payload_in: Any = None
    payload_out: Any = None
    link: bool = False
    earlier_stands: bool = False
    measures: Mapping[str, Decimal] = field(default_factory=dict)


class Links(Protocol):
    """The links a recipe reads and writes itself (debtors, delivery addresses, …)."""

    def find(self, entity: str, source_key: str) -> Link | None: ...

    def linked(self, entity: str, source_keys: list[str]) -> set[str]:
        """Which of these source records are linked already (one read, not one per record)."""
        ...

    def write(self, entity: str, source_key: str, target_key: str, payload_hash: str = "") -> Link:
        """Link once: when a link exists already (perhaps written this instant elsewhere), it stands
        and is returned instead."""
        ...

    def forget(self, entity: str, source_key: str) -> None: ...

    def forget_if(self, entity: str, source_key: str, *, target_key: str) -> bool:
        """Drop the link only while it still points to `target_key`, in one conditional delete: a link another
        worker pointed elsewhere since it was read stands. True when it was dropped."""
        ...

    def remember_sent(self, entity: str, source_key: str, payload_hash: str) -> None: ...


class BulkLinks(Links, Protocol):
    """Links read and written many at a time (the stock flow: a cycle looks at every article)."""

    def find_many(self, entities: Sequence[str], source_keys: list[str]) -> list[Link]:
        """The links of these source records in any of these entities (one read per thousand keys)."""
        ...

    def remember_many(self, links: list[Link]) -> None:
        """Link each source record to its target with its payload hash, in one write per thousand; an
        existing link's target and hash are replaced."""
        ...


class SourceKeys(Links, Protocol):
    """Every linked source record of an entity (the products flow: what a full run did not see is gone)."""

    def source_keys(self, entity: str) -> list[str]: ...


class TargetLinks(Links, Protocol):
    """Links read from the target's side (the orders flow: which AccountView article a shop variant is)."""

    def find_by_target(self, entity: str, target_key: str) -> Link | None:
        """The link pointing to this target record, if one does."""
        ...

    def find_by_target_prefix(self, entity: str, prefix: str) -> list[Link]:
        """The links whose target key starts with `prefix` (the products flow: every variant linked to one
        shop article, "<article id>/")."""
        ...


class Ledger(Links, Protocol):
    """Links, plus what the runner keeps: outcomes, cursors and runs."""

    def record(self, record: Record, run_id: int | None = None) -> None:
        """The record's outcome, and its link when `record.link`, in one transaction."""
        ...

    def read_cursor(self, name: str) -> str | None: ...

    def advance_cursor(self, name: str, value: str) -> None:
        """Move forward only; call with a position up to which every record has an outcome."""
        ...

    def open_run(self, flow: str) -> int: ...

    def close_run(self, run_id: int, counts: dict[str, int], error: str = "") -> str: ...


class EngineLinks:
    """Links, outcomes, cursors and runs of one integration in the database, through `sync.units`."""

    def __init__(self, integration_id: int) -> None:
        self.integration_id = integration_id

    def find(self, entity: str, source_key: str) -> Link | None:
        from koppel.sync import units

        return units.find_link(self.integration_id, entity, source_key)

    def linked(self, entity: str, source_keys: list[str]) -> set[str]:
        from koppel.sync import units

        return set(units.linked_keys(self.integration_id, entity, source_keys))

    def write(self, entity: str, source_key: str, target_key: str, payload_hash: str = "") -> Link:
        from koppel.sync import units

        return units.write_link(self.integration_id, entity, source_key, target_key, payload_hash)

    def forget(self, entity: str, source_key: str) -> None:
        from koppel.sync import units

        units.forget_link(self.integration_id, entity, source_key)

    def forget_if(self, entity: str, source_key: str, *, target_key: str) -> bool:
        from django.db import close_old_connections, connection

        from koppel.core.activity.models import Link as LinkRow

        try:  # a single DELETE … WHERE target_key = …: no read first that a concurrent relink could slip past
            deleted, _ = LinkRow.objects.filter(integration_id=self.integration_id, entity=entity,
                                                source_key=source_key, target_key=target_key).delete()
            return deleted > 0
        finally:
            if not connection.in_atomic_block:
                close_old_connections()

    def remember_sent(self, entity: str, source_key: str, payload_hash: str) -> None:
        from koppel.sync import units

        units.remember_sent(self.integration_id, entity, source_key, payload_hash)

    def source_keys(self, entity: str) -> list[str]:
        from django.db import close_old_connections, connection

        from koppel.core.activity.models import Link as LinkRow

        try:
            return list(LinkRow.objects.filter(integration_id=self.integration_id, entity=entity)
                        .values_list("source_key", flat=True).iterator(chunk_size=2000))
        finally:
            if not connection.in_atomic_block:
                close_old_connections()

    def find_by_target(self, entity: str, target_key: str) -> Link | None:
        from koppel.sync import units

        return units.find_link_by_target(self.integration_id, entity, target_key)

    def find_by_target_prefix(self, entity: str, prefix: str) -> list[Link]:
        from django.db import close_old_connections, connection

        from koppel.core.activity.models import Link as LinkRow

        try:
            rows = LinkRow.objects.filter(integration_id=self.integration_id, entity=entity,
                                          target_key__startswith=prefix)
            return [Link(entity, row.source_key, row.target_key, row.payload_hash) for row in rows]
        finally:
            if not connection.in_atomic_block:
                close_old_connections()

    def find_many(self, entities: Sequence[str], source_keys: list[str]) -> list[Link]:
        from koppel.sync import units

        return units.find_links(self.integration_id, entities, source_keys)

    def remember_many(self, links: list[Link]) -> None:
        from koppel.sync import units

        units.remember_links(self.integration_id, links)

    def record(self, record: Record, run_id: int | None = None) -> None:
        from koppel.sync import units

        units.record_outcome(
            self.integration_id, record.entity, record.key, record.outcome, reason=record.reason,
            target_key=record.target_key, payload_in=record.payload_in, payload_out=record.payload_out,
            run_id=run_id, link=record.link, earlier_stands=record.earlier_stands, measures=record.measures)

    def read_cursor(self, name: str) -> str | None:
        from koppel.sync import units

        return units.read_cursor(self.integration_id, name)

    def advance_cursor(self, name: str, value: str) -> None:
        from koppel.sync import units

        units.advance_cursor(self.integration_id, name, value)

    def open_run(self, flow: str) -> int:
        from koppel.sync import units

        return units.start_run(self.integration_id, flow)

    def close_run(self, run_id: int, counts: dict[str, int], error: str = "") -> str:
        from koppel.sync import units

        return units.finish_run(run_id, counts, error)


@dataclass
class MemoryLinks:
    """Links, outcomes, cursors and runs in memory, with the same first-writer-wins rule as the database."""

    links: dict[tuple[str, str], Link] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _run_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def find(self, entity: str, source_key: str) -> Link | None:
        with self.lock:
            return self.links.get((entity, source_key))

    def linked(self, entity: str, source_keys: list[str]) -> set[str]:
        with self.lock:
            return {key for key in source_keys if (entity, key) in self.links}

    def write(self, entity: str, source_key: str, target_key: str, payload_hash: str = "") -> Link:
        with self.lock:
            return self.links.setdefault((entity, source_key), Link(entity, source_key, target_key, payload_hash))

    def forget(self, entity: str, source_key: str) -> None:
        with self.lock:
            self.links.pop((entity, source_key), None)

    def forget_if(self, entity: str, source_key: str, *, target_key: str) -> bool:
        with self.lock:
            link = self.links.get((entity, source_key))
            if link is None or link.target_key != target_key:
                return False
            del self.links[(entity, source_key)]
            return True

    def remember_sent(self, entity: str, source_key: str, payload_hash: str) -> None:
        with self.lock:
            link = self.links.get((entity, source_key))
            if link is not None:
                self.links[(entity, source_key)] = Link(link.entity, link.source_key, link.target_key, payload_hash)

    def source_keys(self, entity: str) -> list[str]:
        with self.lock:
            return [key for kind, key in self.links if kind == entity]

    def find_by_target(self, entity: str, target_key: str) -> Link | None:
        with self.lock:
            return next((link for (kind, _), link in self.links.items()
                         if kind == entity and link.target_key == target_key), None)

    def find_by_target_prefix(self, entity: str, prefix: str) -> list[Link]:
        with self.lock:
            return [link for (kind, _), link in self.links.items() if kind == entity
                    and link.target_key.startswith(prefix)]

    def find_many(self, entities: Sequence[str], source_keys: list[str]) -> list[Link]:
        with self.lock:
            return [link for entity in entities for key in source_keys
                    if (link := self.links.get((entity, key))) is not None]

    def remember_many(self, links: list[Link]) -> None:
        with self.lock:
            self.links.update({(link.entity, link.source_key): link for link in links})

    def record(self, record: Record, run_id: int | None = None) -> None:
        with self.lock:
            if record.earlier_stands and any((r.entity, r.key) == (record.entity, record.key) for r in self.records):
                return
            if record.link:
                self.links.setdefault((record.entity, record.key), Link(record.entity, record.key, record.target_key))
            self.records.append(record)

    def read_cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    def advance_cursor(self, name: str, value: str) -> None:
        with self.lock:
            self.cursors[name] = max(self.cursors.get(name, value), value)  # ISO moments sort as text

    def open_run(self, flow: str) -> int:
        with self.lock:
            run_id = next(self._run_ids)
            self.runs[run_id] = {"flow": flow, "status": "running", "counts": {}, "error": ""}
            return run_id

    def close_run(self, run_id: int, counts: dict[str, int], error: str = "") -> str:
        status = run_status(counts, error)
        with self.lock:
            self.runs[run_id].update(status=status, counts=dict(counts), error=error)
        return status

    def latest(self, key: str, entity: str = "order") -> Record | None:
        """The last outcome recorded for a record (tests)."""
        with self.lock:
            return next((r for r in reversed(self.records) if (r.entity, r.key) == (entity, key)), None)
