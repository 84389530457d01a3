"""What the datamapper shows and checks: which maps each flow applies, each map's fields as a table
(the default with the integration's overrides marked), sample inputs built from recent records of the
activity log, a preview of a map on such a record, and changing the overrides so that what
`koppel integration apply` refuses is refused here too.

Samples are the records' `payload_in` (what came in) put in the shape the flow hands its maps. What the
flow works out itself at send time (the debtor number, the journal) is filled with an example value,
named as such on the page.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from koppel.core.activity.models import Activity
from koppel.core.integrations.apply import check_mapping_overrides
from koppel.core.integrations.models import Integration
from koppel.flows import order_mapping as om
from koppel.flows import orders as orders_flow
from koppel.flows import product_mapping as pm
from koppel.flows import products as products_flow
from koppel.flows.settings import OrdersSettings
from koppel.mapping import (
    ExpressionError,
    FieldMap,
    InvalidOverrides,
    Mapped,
    MappingError,
    MapSpec,
    TargetField,
    TextRule,
    expressions,
    load_default_map,
    map_record,
    merge_overrides,
)
from koppel.mapping.expressions import check_expression

# The maps each flow applies, in the order it applies them; the entity its records have in the activity.
FLOW_MAPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders": (orders_flow.ENTITY, om.ORDER_MAPS),
    "products": (products_flow.ENTITY, pm.PRODUCT_MAPS),
}
SAMPLES = 5  # recent records an expression is tried on before it is saved
# What the orders flow works out when it sends (examples for the preview).
EXAMPLE_CONTEXT = {"collective_account": "1300", "sub_nr": "10001", "del_code": None, "journal": "VK"}


def evaluating_for(workspace_id: int) -> AbstractContextManager[None]:
    """Expressions evaluated inside this block are `workspace_id`'s previews and saves: they run in the
    dashboard's evaluators, apart from the flows', at most the workspace's share at once; one more raises
    EvaluatorBusy at once (the page answers 429) rather than waiting behind them."""
    return expressions.evaluating_for(f"workspace {workspace_id}")


def flow_of(map_name: str) -> str:
    return next(flow for flow, (_entity, names) in FLOW_MAPS.items() if map_name in names)


def known_maps() -> list[str]:
    return [name for _entity, names in FLOW_MAPS.values() for name in names]


# -- the table ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One target field of a map as the page shows it."""

    target: str
    fieldmap: FieldMap | None  # None: the override removes it
    default: FieldMap | None  # None: the override adds it
    dictionary: TargetField | None
    overridden: bool

    @property
    def removed(self) -> bool:
        return self.fieldmap is None


@dataclass
class MapTable:
    name: str
    spec: MapSpec  # the default map
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # stored overrides that no longer apply


def overrides_of(integration: Integration, map_name: str) -> dict[str, Any]:
    everything = integration.mapping_overrides if isinstance(integration.mapping_overrides, dict) else {}
    stored = everything.get(map_name) or {}
    return copy.deepcopy(stored) if isinstance(stored, dict) else {}


def map_table(integration: Integration, map_name: str) -> MapTable:
    default = load_default_map(map_name)
    overrides = overrides_of(integration, map_name)
    table = MapTable(map_name, default)
    if not isinstance((integration.mapping_overrides or {}).get(map_name, {}) if isinstance(
            integration.mapping_overrides, dict) else None, dict):
        table.problems.append("the stored overrides are not an object: saving a field here replaces them")
    try:
        merged = merge_overrides(default, overrides)
    except InvalidOverrides as exc:
        table.problems = exc.problems
        merged = default
    dictionary = default.targets()
    changed = set(overrides.get("fields") or {}) | set(overrides.get("remove") or [])
    targets = [f.target for f in default.fields] + [f.target for f in merged.fields if default.field(f.target) is None]
    for target in targets:
        table.rows.append(Row(target, merged.field(target), default.field(target), dictionary.get(target),
                              target in changed))
    return table


# -- samples ------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    key: str  # the record's key in the activity (an order number, an article code)
    updated_at: Any
    payload: Any  # what came in


def recent_records(integration: Integration, map_name: str, limit: int = 10) -> list[Sample]:
    entity = FLOW_MAPS[flow_of(map_name)][0]
    found = (Activity.objects.filter(integration=integration, entity=entity, payload_in__isnull=False)
             .order_by("-updated_at").values_list("key", "updated_at", "payload_in")[:limit])
    return [Sample(key, updated_at, payload) for key, updated_at, payload in found]


def map_inputs(map_name: str, payload: Any) -> list[dict[str, Any]]:
    """The inputs the flow hands `map_name` for a record that came in as `payload` (one per line for the
    line maps; none when the record has nothing this map reads, e.g. an order without cost lines)."""
    if map_name in om.ORDER_MAPS:
        if not isinstance(payload, dict):
            return []
        if map_name in (om.SALES_ORDER_LINE, om.COST_LINE, om.INVOICE_LINE):
            return [{"order": payload, "line": line} for line in _lines(map_name, payload)]
        return [{"order": payload, "context": dict(EXAMPLE_CONTEXT)}]
    if map_name == pm.CATEGORY_MAP:
        return [{"group": payload}] if isinstance(payload, dict) else []
    articles = payload if isinstance(payload, list) else [payload]
    return [{"article": a, "fields": dict(a.get("row") or {}), "context": {}} for a in articles[:1]
            if isinstance(a, dict)]


def _lines(map_name: str, order: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for line in order.get("orderlines") or []:
        if not isinstance(line, dict):
            continue
        is_cost = line.get("type") in om.COST_LINE_TYPES
        if (map_name == om.COST_LINE and not is_cost) or (map_name == om.SALES_ORDER_LINE and is_cost):
            continue
        parts = line.get("price") or [{"amount": "0", "amount_including_tax": "0", "rate": "0"}]
        yield from ({**line, "price": part} for part in (parts if isinstance(parts, list) else [parts]))


def source_paths(data: Any, prefix: str = "", limit: int = 300) -> list[tuple[str, str]]:
    """Every leaf of a sample as (dotted path, value as text): the source fields a person can pick."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value[:3]):
                walk(item, f"{path}[{index}]")
        elif path:
            found.append((path, "" if value is None else str(value)[:80]))

    walk(data, prefix)
    return found


# -- preview and checks -------------------------------------------------------------------------------------


@dataclass
class Preview:
    """The map applied to one input: the row that would be sent, or every field that fails."""

    row: dict[str, Any] | None
    warnings: list[str]
    problems: list[tuple[str | None, str]]  # (target field, what is wrong)


def preview(integration: Integration, map_name: str, overrides: dict[str, Any], source: dict[str, Any]) -> Preview:
    """`map_name` with `overrides` applied to `source` as the flow applies it (the orders flow's value
    tables, code page and cutting rules from the integration's settings)."""
    try:
        mapped = _apply(integration, map_name, overrides, source)
    except MappingError as error:
        return Preview(None, [], [(p.field, p.describe()) for p in error.problems])
    return Preview(mapped.row, mapped.warnings, [])


def _apply(integration: Integration, map_name: str, overrides: dict[str, Any], source: dict[str, Any]) -> Mapped:
    if map_name in om.ORDER_MAPS:
        maps = om.OrderMaps(_orders_settings(integration), {map_name: overrides})
        return maps.apply(map_name, source)
    return map_record(merge_overrides(load_default_map(map_name), overrides), source, text=TextRule("utf-8"))


def _orders_settings(integration: Integration) -> OrdersSettings:
    try:
        return OrdersSettings.model_validate((integration.flows or {}).get("orders") or {})
    except ValidationError:
        return OrdersSettings()  # the settings page names what is wrong; the preview still shows the map


def check_change(integration: Integration, map_name: str, overrides: dict[str, Any], target: str) -> list[str]:
    """Why the integration's overrides with `overrides` for `map_name` must not be saved (empty: they may).

    The whole set is checked as `koppel integration apply` checks it; then the changed field's expression
    runs on the recent records, and a constant or expression is mapped onto its target field (type, length)
    on them (a constant also on its own when there are no records yet)."""
    everything = {**(integration.mapping_overrides or {}), map_name: overrides}
    found = [line.strip() for line in check_mapping_overrides(everything)]
    if found:
        return found
    fieldmap = merge_overrides(load_default_map(map_name), overrides).field(target)
    if fieldmap is None or fieldmap.source is not None:
        return []  # a source path may be empty on one record: the preview shows it, the flow parks that record
    records = recent_records(integration, map_name, SAMPLES)
    inputs = [i for record in records for i in map_inputs(map_name, record.payload)]
    if fieldmap.expr is not None:
        try:
            check_expression(fieldmap.expr, samples=inputs)
        except ExpressionError as exc:
            return [f"{target}: the expression fails on a recent record: {exc}"]
    for source in inputs or ([{}] if fieldmap.const is not None else []):
        located = preview(integration, map_name, overrides, source).problems
        problems = [text for where, text in located if where == target]
        if problems:
            return problems
    return []
