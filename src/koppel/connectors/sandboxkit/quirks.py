"""The base of both sandboxes' quirk switches: documented oddities of a real API, each one boolean field,
switched at run time (`/_sandbox/quirks`) to test a client against the documented and the observed shapes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Self


@dataclass
class QuirkSwitches:
    """Subclasses declare the switches as `bool` fields with their defaults."""

    def as_json(self) -> dict[str, bool]:
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown quirks: {sorted(unknown)}; known: {sorted(known)}")
        for name, value in changes.items():
            setattr(self, name, bool(value))

    @classmethod
    def none(cls) -> Self:
        """Every switch off: answers exactly in the documented shapes."""
        return cls(**{f.name: False for f in fields(cls)})

    @classmethod
    def all(cls) -> Self:
        return cls(**{f.name: True for f in fields(cls)})
