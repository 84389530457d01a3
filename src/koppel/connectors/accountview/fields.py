"""The AccountView data dictionary: field names, types, lengths, mandatory flags and upper-case formats.

Loaded from package data: `dictionary/*.json` are real `DCT_FLD` dumps (MIT, see `dictionary/LICENSE`);
`dictionary/assumed_tables.json` is our own, same-shaped guess for tables no public source describes
(ARTICLE, ART_GRP, DEL_ADDR, SO_HDR, SO_LINE, payment conditions/methods, contact persons); every row
there carries `"ASSUMED": true` (see ASSUMPTIONS.md). Client and sandbox both read this one dictionary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

CHAR_TYPES = frozenset("CM")
NUMBER_TYPES = frozenset("NYBI")
DATE_TYPES = frozenset("DT")


@dataclass(frozen=True)
class FieldSpec:
    table: str
    name: str
    type: str  # FoxPro type letter: C M N Y B I L D T
    length: int
    mandatory: bool
    upper: bool  # format "!": AccountView stores the value upper-cased
    read_only: bool  # COM_BLK: system or audit field
    description: str
    assumed: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.table}.{self.name}"

    @property
    def max_length(self) -> int | None:
        """The longest value a character field holds; memo and non-character fields have no limit here."""
        return self.length if self.type == "C" else None


@dataclass(frozen=True)
class LengthViolation:
    field: str  # qualified, e.g. "CONTACT.ACCT_NAME"
    value: str
    max_length: int


class DataDictionary:
    """All known tables: `dictionary.field("CONTACT", "acct_name")` (names are case-insensitive)."""

    def __init__(self, specs: list[FieldSpec]) -> None:
        self._tables: dict[str, dict[str, FieldSpec]] = {}
        for spec in specs:
            self._tables.setdefault(spec.table, {})[spec.name] = spec

    @property
    def tables(self) -> list[str]:
        return sorted(self._tables)

    def has_table(self, table: str) -> bool:
        return table.upper() in self._tables

    def fields(self, table: str) -> dict[str, FieldSpec]:
        return self._tables.get(table.upper(), {})

    def field(self, table: str, name: str) -> FieldSpec | None:
        return self.fields(table).get(name.upper())

    def normalise(self, table: str, name: str, value: Any) -> Any:
        """Apply the `!` (upper-case) format; other values pass unchanged."""
        spec = self.field(table, name)
        if spec is not None and spec.upper and isinstance(value, str):
            return value.upper()
        return value

    def length_violation(self, table: str, name: str, value: Any) -> LengthViolation | None:
        spec = self.field(table, name)
        if spec is None or spec.max_length is None or not isinstance(value, str):
            return None
        if len(value) <= spec.max_length:
            return None
        return LengthViolation(field=spec.qualified, value=value, max_length=spec.max_length)


def _spec_from_row(row: dict[str, Any]) -> FieldSpec:
    return FieldSpec(
        table=str(row["DBF_NAME"]).strip().upper(),
        name=str(row["FIELD_NAME"]).strip().upper(),
        type=str(row["FIELD_TYPE"]).strip().upper(),
        length=int(row["FIELD_LEN"]),
        mandatory=bool(row["INP_MAND"]),
        upper="!" in str(row.get("FLD_FMT") or ""),
        read_only=bool(row.get("COM_BLK")),
        description=str(row.get("FLD_DESC") or ""),
        assumed=bool(row.get("ASSUMED")),
    )


@cache
def data_dictionary() -> DataDictionary:
    """The dictionary shipped with the package (read once)."""
    folder = resources.files("koppel.connectors.accountview") / "dictionary"
    specs: list[FieldSpec] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            specs.extend(_spec_from_row(row) for row in json.loads(entry.read_text(encoding="utf-8")))
    return DataDictionary(specs)
