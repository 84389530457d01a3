"""What a map may write: a target is (system, table, field), and each system has one dictionary that
knows its tables' fields with their kind, length and flags.

AccountView's data dictionary (package data of its connector, also read by its client and sandbox) is
the one for `accountview`; MijnWebwinkel's spec models will be registered as `mijnwebwinkel` for the
products and stock flows. Reading a dictionary calls nothing remote. Maps are checked against it when they
are loaded or overridden (a typo in a field name is refused before anything runs), and every mapped value
is checked against its field when a record is mapped (`engine.py`): kind, length, decimals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from koppel.connectors.accountview.fields import FieldSpec, data_dictionary

Kind = Literal["text", "memo", "number", "integer", "money", "date", "datetime", "bool"]
TEXT_KINDS = ("text", "memo")


@dataclass(frozen=True)
class TargetField:
    """One field a map may fill, in terms every target system can state."""

    system: str
    table: str
    name: str
    kind: Kind
    max_length: int | None = None  # characters, for text
    decimals: int | None = None  # places a number keeps, when the system says
    upper: bool = False  # the system stores it upper-cased
    mandatory: bool = False
    read_only: bool = False  # filled by the system itself

    @property
    def qualified(self) -> str:
        return f"{self.table}.{self.name}"

    @property
    def system_name(self) -> str:
        """The system as a person names it, for messages."""
        return _SYSTEM_NAMES.get(self.system, self.system)


_SYSTEM_NAMES = {"accountview": "AccountView", "mijnwebwinkel": "MijnWebwinkel"}


# A dictionary answers with the fields of a table, or None when the system has no such table.
Dictionary = Callable[[str], dict[str, TargetField] | None]

_AV_KINDS: dict[str, Kind] = {
    "C": "text",
    "M": "memo",
    "N": "number",
    "B": "number",
    "I": "integer",
    "Y": "money",
    "D": "date",
    "T": "datetime",
    "L": "bool",
}


def _accountview_field(spec: FieldSpec) -> TargetField:
    return TargetField(
        system="accountview",
        table=spec.table,
        name=spec.name,
        kind=_AV_KINDS.get(spec.type, "text"),
        max_length=spec.max_length,
        decimals=4 if spec.type == "Y" else None,  # FoxPro currency holds 4 decimals
        upper=spec.upper,
        mandatory=spec.mandatory,
        read_only=spec.read_only,
    )


def _accountview(table: str) -> dict[str, TargetField] | None:
    dictionary = data_dictionary()
    if not dictionary.has_table(table):
        return None
    return {name: _accountview_field(spec) for name, spec in dictionary.fields(table).items()}


_DICTIONARIES: dict[str, Dictionary] = {"accountview": _accountview}


def register_dictionary(system: str, dictionary: Dictionary) -> None:
    """Make a target system's fields known to maps (MijnWebwinkel's: `mapping/mijnwebwinkel.py`)."""
    _DICTIONARIES[system] = dictionary


def systems() -> list[str]:
    return sorted(_DICTIONARIES)


def target_fields(table: str, system: str = "accountview") -> dict[str, TargetField] | None:
    """The fields of `table` in `system` by upper-case name, or None when the system has no such table.
    Raises KeyError for a system no dictionary is registered for."""
    if system not in _DICTIONARIES:
        raise KeyError(f"no dictionary for target system {system!r}; known: {', '.join(systems())}")
    return _DICTIONARIES[system](table)
