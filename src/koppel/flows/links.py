"""What a flow's recipe remembers, through the engine: its links (`Links`; the database in production,
`MemoryLinks` in tests) and the `Record` of what happened to one record, which the runner writes
with the record's link in one transaction. Defined in `koppel.sync.links`; named here for the flows."""

from koppel.sync.links import Link, Links, MemoryLinks, Record

__all__ = ["Link", "Links", "MemoryLinks", "Record"]
