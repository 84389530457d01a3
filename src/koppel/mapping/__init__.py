"""The mapping core: declarative field maps (data, not code), whitelisted pure transforms, value tables and
hardened JSONata expressions; targets checked against the target system's dictionary, text fitted to
its code page, `only_create` applied in update mode. Flows call it; it calls nothing remote.

    spec = merge_overrides(load_default_map("mww_order_to_av_debtor_person"), integration_overrides)
    mapped = map_record(spec, {"order": order, "context": {...}}, tables=tables, mode="update")
    mapped.row       # {"MAIL_BUS": …, "TEL_BUS": …}: what the connector sends, as it is
    mapped.warnings  # what was changed on the way (transliterated text, a postcode sent as typed)
"""

from koppel.mapping import mijnwebwinkel  # noqa: F401  (registers MijnWebwinkel's fields as a map target)
from koppel.mapping.engine import (
    Mapped,
    apply_map,
    default_map_names,
    load_default_map,
    map_record,
    merge_overrides,
    validate_overrides,
)
from koppel.mapping.errors import InvalidOverrides, MappingError, MappingProblem
from koppel.mapping.expressions import ExpressionError, evaluate_expression
from koppel.mapping.spec import FieldMap, MapSpec, Mode, PathRef, TransformStep, ValueTable
from koppel.mapping.targets import TargetField, register_dictionary, target_fields
from koppel.mapping.text import TextRule, fit_text, without_nul
from koppel.mapping.transforms import run_transform, transform_names

__all__ = [
    "ExpressionError",
    "FieldMap",
    "InvalidOverrides",
    "MapSpec",
    "Mapped",
    "MappingError",
    "MappingProblem",
    "Mode",
    "PathRef",
    "TargetField",
    "TextRule",
    "TransformStep",
    "ValueTable",
    "apply_map",
    "default_map_names",
    "evaluate_expression",
    "fit_text",
    "load_default_map",
    "map_record",
    "merge_overrides",
    "register_dictionary",
    "run_transform",
    "target_fields",
    "transform_names",
    "validate_overrides",
    "without_nul",
]
