"""Apply a field map to one record, and merge a person's overrides into a default map.

`apply_map` turns an input record into the payload for one AccountView table. It collects every failing
field of the record into one MappingError, so a parked order lists all that must be fixed, not only the first.
Empty values are left out of the payload (AccountView then keeps its own value or default).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from koppel.mapping.errors import InvalidOverrides, MappingError, MappingProblem
from koppel.mapping.expressions import ExpressionError, evaluate_expression
from koppel.mapping.paths import read_path
from koppel.mapping.spec import FieldMap, MapSpec, Mode, ValueTable
from koppel.mapping.targets import TargetField, target_fields
from koppel.mapping.transforms import is_empty, run_transform


def apply_map(
    spec: MapSpec,
    source: Mapping[str, Any],
    *,
    tables: Mapping[str, ValueTable] | None = None,
    mode: Mode = "create",
) -> dict[str, Any]:
    """The target payload for `source`; raises MappingError listing every field that failed."""
    if mode not in ("create", "update"):
        raise ValueError(f"mode must be 'create' or 'update', not {mode!r}")
    payload: dict[str, Any] = {}
    problems: list[MappingProblem] = []
    known = target_fields(spec.target) or {}
    for field in spec.fields:
        if mode == "update" and field.only_create:
            continue
        try:
            value = _field_value(field, source, tables or {})
            _check_filled(field, value, known.get(field.target))
        except MappingError as exc:
            problems.extend(p.located(field=field.target, source=field.origin) for p in exc.problems)
            continue
        if not is_empty(value):
            payload[field.target] = value
    if problems:
        raise MappingError(problems, map_name=spec.name)
    return payload


def _check_filled(field: FieldMap, value: Any, target: TargetField | None) -> None:
    if is_empty(value) and field.required:
        hint = f"Fill in {field.origin} at its source, or give the field a default in the mapping."
        raise MappingError.of("is empty, but AccountView needs it", hint, value=value)
    limit = target.max_length if target else None
    if limit is not None and isinstance(value, str) and len(value) > limit:
        hint = "Shorten it at the source, or add a truncate transform to the mapping."
        raise MappingError.of(
            f"{value!r} is {len(value)} characters; AccountView allows {limit}", hint, value=value
        )


def _field_value(field: FieldMap, source: Mapping[str, Any], tables: Mapping[str, ValueTable]) -> Any:
    if field.source is not None:
        value = read_path(source, field.source)
    elif field.expr is not None:
        try:
            value = evaluate_expression(field.expr, source)
        except ExpressionError as exc:
            raise MappingError.of(
                f"the expression failed: {exc}", "Correct the expression in the mapping."
            ) from None
    else:
        value = field.const
    for step in field.transforms:
        value = run_transform(step.name, value, step.args, source=source, tables=tables)
    return value


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
    known = target_fields(default_spec.target)

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
