"""Why a record could not be mapped: one `MappingProblem` per field, gathered into one `MappingError`.

A `MappingError` is a needs-attention error (ARCHITECTURE §5): the record is parked with a reason a shop
owner can act on: which target field, read from where, which value, and what to do about it.
`InvalidOverrides` is different: it rejects a person's mapping settings before they are saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from koppel.errors import NeedsAttention
from koppel.reasons import Reason, joined, reason


@dataclass(frozen=True)
class MappingProblem:
    """One thing wrong with one field of one record."""

    reason: str  # what is wrong, e.g. "'12345' is not a Dutch postcode"
    hint: str  # what to do, e.g. "Correct the postcode in the order (format 1234 AB)."
    value: object = None
    field: str | None = None  # target field, e.g. "POST_CODE"
    source: str | None = None  # where the value came from: a path, "expr: …" or "constant"
    transform: str | None = None  # the transform that refused it, if any

    def located(self, *, field: str, source: str | None) -> MappingProblem:
        """The same problem, placed at a target field (a transform does not know where it runs)."""
        return replace(self, field=self.field or field, source=self.source or source)

    def describe(self) -> Reason:
        where = self.field or reason("value")
        if self.source:
            where = reason("{field} (from {source})", field=where, source=self.source)
        step = f" [{self.transform}]" if self.transform else ""
        return reason("{where}{step}: {reason}. {hint}", where=where, step=step, reason=self.reason, hint=self.hint)


class MappingError(NeedsAttention):
    """A record can't be mapped; `problems` lists every field that failed, not only the first."""

    def __init__(
        self, problems: MappingProblem | Iterable[MappingProblem], *, map_name: str | None = None
    ) -> None:
        self.problems: list[MappingProblem] = (
            [problems] if isinstance(problems, MappingProblem) else list(problems)
        )
        if not self.problems:
            raise ValueError("a MappingError needs at least one problem")
        self.map_name = map_name
        first = self.problems[0]
        listed = joined([p.describe() for p in self.problems], "", before="\n- ")
        if len(self.problems) == 1:
            message = (reason("Mapping {map} failed (1 problem):{problems}", map=repr(map_name), problems=listed)
                       if map_name else reason("Mapping failed (1 problem):{problems}", problems=listed))
        elif map_name:
            message = reason("Mapping {map} failed ({count} problems):{problems}", map=repr(map_name),
                             count=len(self.problems), problems=listed)
        else:
            message = reason("Mapping failed ({count} problems):{problems}", count=len(self.problems),
                             problems=listed)
        super().__init__(message, field=first.field, value=first.value)

    @classmethod
    def of(cls, reason: str, hint: str, *, value: object = None) -> MappingError:
        """A single problem raised by a transform; the engine adds the field and source."""
        return cls(MappingProblem(reason=reason, hint=hint, value=value))


class InvalidOverrides(ValueError):
    """Per-integration mapping overrides that must not be saved; `problems` names each bad part."""

    def __init__(self, map_name: str, problems: list[str]) -> None:
        self.map_name = map_name
        self.problems = problems
        super().__init__(f"Invalid overrides for map {map_name!r}: " + "; ".join(problems))
