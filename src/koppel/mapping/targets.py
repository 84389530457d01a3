"""What a map may write: the AccountView tables a map targets, with each field's type, length and flags.

Read from `targets.json` (see its `_source`). Maps are checked against it when they are loaded or
overridden, so a typo in a field name is refused before anything runs, and the engine refuses character
values longer than the field instead of letting AccountView cut or reject them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class TargetField:
    table: str
    name: str
    type: str  # FoxPro type letter: C character, M memo, N/Y/B/I numbers, L logical, D/T dates
    length: int
    mandatory: bool
    upper: bool  # AccountView stores the value upper-cased
    assumed: bool  # not in a public data dictionary; see targets.json

    @property
    def max_length(self) -> int | None:
        return self.length if self.type == "C" else None


@cache
def _catalogue() -> dict[str, dict[str, TargetField]]:
    data = json.loads(resources.files("koppel.mapping").joinpath("targets.json").read_text("utf-8"))
    return {
        table: {
            name: TargetField(table, name, type_, length, mandatory, upper, entry["assumed"])
            for name, (type_, length, mandatory, upper) in entry["fields"].items()
        }
        for table, entry in data["tables"].items()
    }


def target_tables() -> list[str]:
    return sorted(_catalogue())


def target_fields(table: str) -> dict[str, TargetField] | None:
    """The fields of `table`, or None when the catalogue does not know the table."""
    return _catalogue().get(table.upper())
