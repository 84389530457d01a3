"""The mapping core: declarative field maps (data, not code), whitelisted pure transforms, value tables and
hardened JSONata expressions. Flows call it; it calls nothing remote.

    spec = merge_overrides(load_default_map("mww_order_to_av_debtor_person"), integration_overrides)
    payload = apply_map(spec, {"order": order, "context": {...}}, tables=tables, mode="create")
"""

from koppel.mapping.engine import (
    apply_map,
    default_map_names,
    load_default_map,
    merge_overrides,
    validate_overrides,
)
from koppel.mapping.errors import InvalidOverrides, MappingError, MappingProblem
from koppel.mapping.expressions import ExpressionError, evaluate_expression
from koppel.mapping.spec import FieldMap, MapSpec, Mode, PathRef, TransformStep, ValueTable
from koppel.mapping.transforms import run_transform, transform_names

__all__ = [
    "ExpressionError",
    "FieldMap",
    "InvalidOverrides",
    "MapSpec",
    "MappingError",
    "MappingProblem",
    "Mode",
    "PathRef",
    "TransformStep",
    "ValueTable",
    "apply_map",
    "default_map_names",
    "evaluate_expression",
    "load_default_map",
    "merge_overrides",
    "run_transform",
    "transform_names",
    "validate_overrides",
]
