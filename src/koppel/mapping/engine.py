"""Apply a field map to one record, and merge a person's overrides into a default map.

`map_record` turns an input record into the row for one target table: the row the connector sends as it
is. Each value is checked against its target field in the target system's dictionary (kind, length,
decimals), and text is fitted to the code page the target stores (`text.py`). In update mode the map's
`only_create` fields are left out: this is the one place create-versus-update ownership lives. Every
failing field of the record is collected into one MappingError, so a parked order lists all that must be
fixed, not only the first. Empty values are left out of the row (the target keeps its own value or default).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from koppel.mapping.errors import InvalidOverrides, MappingError, MappingProblem
from koppel.mapping.expressions import ExpressionError, evaluate_expression
from koppel.mapping.paths import read_path
from koppel.mapping.spec import FieldMap, MapSpec, Mode, ValueTable
from koppel.mapping.targets import TEXT_KINDS, TargetField, target_fields
from koppel.mapping.text import TextRule, fit_text
from koppel.mapping.transforms import Noted, as_decimal, is_empty, run_transform
from koppel.reasons import joined, reason


@dataclass
class Mapped:
    """A mapped row, and what was changed on the way that a person should know (on the activity)."""

    row: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def map_record(
    spec: MapSpec,
    source: Mapping[str, Any],
    *,
    tables: Mapping[str, ValueTable] | None = None,
    mode: Mode = "create",
    text: TextRule | None = None,
) -> Mapped:
    """The target row for `source`; raises MappingError listing every field that failed.

    `text` fits every text field to a code page (default cp1252, transliterating with a warning)."""
    if mode not in ("create", "update"):
        raise ValueError(f"mode must be 'create' or 'update', not {mode!r}")
    text = text or TextRule()
    mapped = Mapped({})
    problems: list[MappingProblem] = []
    known = spec.targets()
    for fieldmap in spec.fields:
        if mode == "update" and fieldmap.only_create:
            continue
        target = known.get(fieldmap.target)
        try:
            value = _field_value(fieldmap, source, tables or {}, mapped.warnings)
            if not is_empty(value) and target is not None:
                value = _fit(value, target, text, mapped.warnings)
            _check_filled(fieldmap, value, target)
        except MappingError as exc:
            problems.extend(p.located(field=fieldmap.target, source=fieldmap.origin) for p in exc.problems)
            continue
        if not is_empty(value):
            mapped.row[fieldmap.target] = value
    if problems:
        raise MappingError(problems, map_name=spec.name)
    return mapped


def apply_map(
    spec: MapSpec,
    source: Mapping[str, Any],
    *,
    tables: Mapping[str, ValueTable] | None = None,
    mode: Mode = "create",
    text: TextRule | None = None,
) -> dict[str, Any]:
    """The target row for `source` (`map_record` without its warnings)."""
    return map_record(spec, source, tables=tables, mode=mode, text=text).row


def _check_filled(fieldmap: FieldMap, value: Any, target: TargetField | None) -> None:
    system = target.system_name if target else reason("the target system")
    if is_empty(value) and fieldmap.required:
        hint = reason("Fill in {origin} at its source, or give the field a default in the mapping.",
                      origin=fieldmap.origin)
        raise MappingError.of(reason("is empty, but {system} needs it", system=system), hint, value=value)
    limit = target.max_length if target else None
    if limit is not None and isinstance(value, str) and len(value) > limit:
        hint = reason("Shorten it at the source, or add a truncate transform to the mapping.")
        raise MappingError.of(reason("{value} is {length} characters; {system} allows {limit}", value=repr(value),
                                     length=len(value), system=system, limit=limit), hint, value=value)


def _field_value(
    fieldmap: FieldMap, source: Mapping[str, Any], tables: Mapping[str, ValueTable], notes: list[str]
) -> Any:
    if fieldmap.source is not None:
        value = read_path(source, fieldmap.source)
    elif fieldmap.expr is not None:
        try:
            value = evaluate_expression(fieldmap.expr, source)
        except ExpressionError as exc:
            raise MappingError.of(
                reason("the expression failed: {error}", error=exc), reason("Correct the expression in the mapping.")
            ) from None
    else:
        value = fieldmap.const
    for step in fieldmap.transforms:
        value = run_transform(step.name, value, step.args, source=source, tables=tables)
        if isinstance(value, Noted):
            notes.append(f"{fieldmap.target}: {value.note}")
            value = value.value
    return value


# -- values against their target field ----------------------------------------------------------------------


def _fit(value: Any, target: TargetField, text: TextRule, notes: list[str]) -> Any:
    """The value in the form its target field holds, or MappingError saying why it can't be."""
    if isinstance(value, list | dict | tuple):
        raise MappingError.of(
            reason("the source holds several values ({value}) where {target} takes one", value=repr(value),
                   target=target.qualified),
            reason("Point the mapping at a single value (e.g. an index like [0])."),
            value=value,
        )
    if target.kind in TEXT_KINDS:
        return _fit_text(_as_text(value, target), target, text, notes)
    if target.kind in ("number", "integer", "money"):
        return _as_number(value, target)
    if target.kind in ("date", "datetime"):
        return _as_moment(value, target)
    if not isinstance(value, bool):
        raise MappingError.of(
            reason("{value} is not true or false, which {target} holds", value=repr(value), target=target.qualified),
            reason("Map a yes/no value here."), value=value
        )
    return value


def _as_text(value: Any, target: TargetField) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise MappingError.of(
        reason("{value} is not text, which {target} holds", value=repr(value), target=target.qualified),
        reason("Map a text value here."), value=value
    )


def _fit_text(value: str, target: TargetField, text: TextRule, notes: list[str]) -> str:
    fitted = fit_text(value, text.code_page, multiline=target.kind == "memo")
    if fitted.replaced and text.outside == "park":
        letters = ", ".join(repr(c) for c in fitted.replaced)
        raise MappingError.of(
            reason("{value} holds {letters}, which {code_page} cannot store", value=repr(value), letters=letters,
                   code_page=text.code_page),
            reason("Correct it in the shop, or let the settings transliterate text outside the code page."),
            value=value,
        )
    if fitted.changed:
        what: list[str] = []
        if fitted.replaced:
            what.append(reason("{letters} outside {code_page} replaced",
                               letters=", ".join(repr(c) for c in fitted.replaced), code_page=text.code_page))
        if fitted.controls:
            what.append(reason("control characters removed"))
        notes.append(reason("{field}: {value} sent as {sent} ({changes})", field=target.name, value=repr(value),
                            sent=repr(fitted.text), changes=joined(what)))
    return fitted.text


def _as_number(value: Any, target: TargetField) -> Decimal:
    number = as_decimal(value)
    exponent = number.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if target.kind == "integer" and places and number != number.to_integral_value():
        raise MappingError.of(
            reason("{number} is not a whole number, which {target} holds", number=number, target=target.qualified),
            reason("Round it in the mapping."), value=value
        )
    if target.decimals is not None and places > target.decimals and number != round(number, target.decimals):
        raise MappingError.of(
            reason("{number} has {places} decimals; {target} keeps {decimals}", number=number, places=places,
                   target=target.qualified, decimals=target.decimals),
            reason("Round it to {decimals} places in the mapping.", decimals=target.decimals),
            value=value,
        )
    return number


def _as_moment(value: Any, target: TargetField) -> Any:
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise MappingError.of(
            reason("{value} is not a date, which {target} holds", value=repr(value), target=target.qualified),
            reason("Use a date_format transform in the mapping (e.g. %Y-%m-%d)."),
            value=value,
        ) from None
    return text


# -- default maps -----------------------------------------------------------------------------------------


def default_map_names() -> list[str]:
    folder = resources.files("koppel.mapping").joinpath("defaults")
    return sorted(
        entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml")
    )


def load_default_map(name: str) -> MapSpec:
    """The default map shipped as `defaults/<name>.toml` (a fresh copy each call)."""
    return MapSpec.model_validate(_default_map_data(name))


@cache
def _default_map_data(name: str) -> dict[str, Any]:
    if name not in default_map_names():
        raise KeyError(f"no default map {name!r}; known maps: {', '.join(default_map_names())}")
    text = resources.files("koppel.mapping").joinpath("defaults", f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


# -- overrides --------------------------------------------------------------------------------------------

_OVERRIDE_KEYS = {"fields", "remove"}
_FIELD_KEYS = set(FieldMap.model_fields) - {"target"}
_ORIGINS = {"source", "const", "expr"}


def merge_overrides(default_spec: MapSpec, overrides: Mapping[str, Any]) -> MapSpec:
    """The default map with per-integration overrides applied.

    `overrides` is JSON-able: `{"fields": {TARGET: {attribute: value, …}}, "remove": [TARGET, …]}`. An
    attribute given for an existing field replaces it (`transforms` replaces the whole list; giving one
    of source/const/expr replaces the other two); a target the map does not fill yet is added. Raises
    InvalidOverrides naming every bad field, transform or key.
    """
    if not isinstance(overrides, Mapping):
        raise InvalidOverrides(default_spec.name, ["overrides must be an object"])
    removals = overrides.get("remove") or []
    changes = overrides.get("fields") or {}
    if not isinstance(removals, list) or not isinstance(changes, Mapping):
        raise InvalidOverrides(default_spec.name, ["'fields' must be an object and 'remove' a list"])
    problems = [
        f"unknown key {key!r} (use 'fields' and 'remove')" for key in overrides if key not in _OVERRIDE_KEYS
    ]
    fields = {f.target: f.model_dump(exclude_unset=True) | {"target": f.target} for f in default_spec.fields}
    known = target_fields(default_spec.target, default_spec.system)

    for target in removals:
        if fields.pop(target, None) is None:
            problems.append(f"cannot remove {target!r}: the map does not fill it")

    for target, change in changes.items():
        if known is not None and target not in known:
            problems.append(f"{default_spec.target} has no field {target!r}")
        elif not isinstance(change, Mapping):
            problems.append(f"field {target!r}: the override must be an object")
        elif unknown := sorted(set(change) - _FIELD_KEYS):
            problems.append(f"field {target!r}: unknown attribute(s) {', '.join(map(repr, unknown))}")
        else:
            merged = dict(fields.get(target, {"target": target}))
            if _ORIGINS & set(change):
                for origin in _ORIGINS:
                    merged.pop(origin, None)
            fields[target] = merged | dict(change)
            problems += _field_problems(target, fields[target])

    if not problems:
        return MapSpec.model_validate(
            default_spec.model_dump(exclude={"fields"}) | {"fields": list(fields.values())}
        )
    raise InvalidOverrides(default_spec.name, problems)


def validate_overrides(default_spec: MapSpec, overrides: Mapping[str, Any]) -> None:
    """Raise InvalidOverrides when `overrides` can't be applied to `default_spec`; call before saving."""
    merge_overrides(default_spec, overrides)


def _field_problems(target: str, field: dict[str, Any]) -> list[str]:
    try:
        FieldMap.model_validate(field)
    except ValidationError as exc:
        messages = [_validation_message(error) for error in exc.errors()]
        return [m if m.startswith(f"field {target!r}") else f"field {target!r}: {m}" for m in messages]
    return []


def _validation_message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    loc = [str(p) for p in error["loc"]]
    # transform errors name the transform themselves; other locations help find the attribute
    where = "" if not loc or loc[0] == "transforms" else ".".join(loc) + ": "
    return where + message
