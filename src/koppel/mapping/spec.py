"""The shape of a field map: which target fields a map writes, where each value comes from, and which
transforms it passes through. Maps are data (TOML files in `defaults/`, overrides as JSON in the database);
these pydantic models are where that data is checked.

A field's value comes from exactly one of: `source` (a dotted path into the input), `const` (a fixed value)
or `expr` (a JSONata expression over the input). Then its `transforms` run in order. `only_create` fields
are written when a record is created and never on update (OCA connector's `only_create`); `required`
fields must end up non-empty.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue, field_validator, model_validator

from koppel.mapping.paths import parse_path
from koppel.mapping.targets import TargetField, systems, target_fields
from koppel.reasons import reason

Mode = Literal["create", "update"]


class PathRef(BaseModel):
    """A transform argument read from the input record instead of written in the map: `{"path": "…"}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str

    @field_validator("path")
    @classmethod
    def _valid_path(cls, path: str) -> str:
        parse_path(path)
        return path


class TransformStep(BaseModel):
    """One named transform with its arguments. In map files `"trim"` is short for `{name = "trim"}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    args: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _known_transform(self) -> TransformStep:
        from koppel.mapping.transforms import check_step  # transforms import this module

        check_step(self.name, self.args)
        return self


class FieldMap(BaseModel):
    """How one target field is filled."""

    model_config = ConfigDict(extra="forbid")

    target: str
    source: str | None = None
    const: JsonValue = None
    expr: str | None = None
    transforms: list[TransformStep] = []
    only_create: bool = False
    required: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _one_origin(self) -> FieldMap:
        given = [k for k in ("source", "expr") if getattr(self, k) is not None]
        if self.const is not None or (not given and "const" in self.model_fields_set):
            given.append("const")  # a null const counts only when it is all there is: JSON dumps carry nulls
        if len(given) != 1:
            raise ValueError(
                f"field {self.target!r} needs exactly one of source, const or expr (got {given or 'none'})"
            )
        if self.source is not None:
            parse_path(self.source)
        if self.expr is not None:
            from koppel.mapping.expressions import check_expression

            check_expression(self.expr)
        return self

    @property
    def origin(self) -> str:
        """Where the value comes from, as a person reads it in an error message: the source path as it is, an
        expression or a constant as a reason, so a translated message says them in its own language."""
        if self.source is not None:
            return self.source
        if self.expr is not None:
            return reason("expression {expression}", expression=repr(self.expr))
        return reason("a constant")


class MapSpec(BaseModel):
    """A field map for one flow and one target table, e.g. MijnWebwinkel order → AccountView CONTACT.
    Its output is the row the target system's connector sends as it is."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    input: str = ""  # what the map reads, e.g. "{order, context}"; documentation for map authors
    system: str = "accountview"  # the target system, whose dictionary knows `target`
    target: str  # the table (or object) the row is for, e.g. "CONTACT"
    fields: list[FieldMap]

    @model_validator(mode="after")
    def _fields_exist_once(self) -> MapSpec:
        if self.system not in systems():
            raise ValueError(f"unknown target system {self.system!r} (map {self.name!r}); known: {systems()}")
        known = target_fields(self.target, self.system)
        if known is None:
            raise ValueError(f"{self.system} has no table {self.target!r} (map {self.name!r})")
        seen: set[str] = set()
        for field in self.fields:
            if field.target in seen:
                raise ValueError(f"map {self.name!r} fills target field {field.target!r} twice")
            seen.add(field.target)
            if field.target not in known:
                raise ValueError(f"{self.target} has no field {field.target!r} (map {self.name!r})")
        return self

    def targets(self) -> dict[str, TargetField]:
        """The target table's fields, from the target system's dictionary."""
        return target_fields(self.target, self.system) or {}

    def field(self, target: str) -> FieldMap | None:
        return next((f for f in self.fields if f.target == target), None)


class ValueTable(BaseModel):
    """A value-mapping table in the APIcenter pattern: a mapping table, a default value, and a `force`
    switch that writes the default whatever the input. Keys are compared as text; numeric keys also match
    numerically, so a VAT rate "21.00" finds the entry "21"."""

    model_config = ConfigDict(extra="forbid")

    entries: dict[str, JsonValue] = {}
    default: JsonValue = None
    force: bool = False
