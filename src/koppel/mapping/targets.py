"""What a map may write: the AccountView tables a map targets, with each field's type, length and flags.

The AccountView connector's data dictionary is the one source for this (the client and the sandbox read it
too); it is package data, so reading it calls nothing remote. Maps are checked against it when they are
loaded or overridden, so a typo in a field name is refused before anything runs, and the engine refuses
character values longer than the field instead of letting AccountView cut or reject them.
"""

from __future__ import annotations

from koppel.connectors.accountview.fields import FieldSpec, data_dictionary

TargetField = FieldSpec


def target_fields(table: str) -> dict[str, TargetField] | None:
    """The fields of `table` by upper-case name, or None when the dictionary does not know the table."""
    dictionary = data_dictionary()
    return dictionary.fields(table) if dictionary.has_table(table) else None
