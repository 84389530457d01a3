"""What the datamapper shows and checks: which maps each flow applies, each map's fields as a table
(the default with the integration's overrides marked), sample inputs built from recent records of the
activity log, a preview of a map on such a record, and changing the overrides so that what
`koppel integration apply` refuses is refused here too.

A map is previewed only on records the flow applies it to (the company-debtor map on an order with a company
name, the category map on an article group); when the activity log holds none, on a built-in example
(examples.json), and the page says so. Samples are the records' `payload_in` (what came in) put in the shape
the flow hands its maps. What the flow works out itself at send time (the debtor number, the journal, the
VAT rate) is filled with an example value, named as such on the page.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from pydantic import ValidationError

from koppel.connectors.accountview.models import Article
from koppel.connectors.mijnwebwinkel.models import Order
from koppel.core.activity.models import Activity
from koppel.core.integrations.apply import check_mapping_overrides
from koppel.core.integrations.models import Integration
from koppel.flows import order_mapping as om
from koppel.flows import orders as orders_flow
from koppel.flows import product_mapping as pm
from koppel.flows import products as products_flow
from koppel.flows.customers import Customers
from koppel.flows.product_categories import CATEGORY
from koppel.flows.product_grouping import Grouper
from koppel.flows.product_mapping import ProductMaps, article_source, starting_stock
from koppel.flows.products import without_options  # the flow's own naming rule
from koppel.flows.products_settings import ProductsSettings
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
from koppel.web.datamapper import words

# The maps each flow applies, in the order it applies them.
FLOW_MAPS: dict[str, tuple[str, ...]] = {"orders": om.ORDER_MAPS, "products": pm.PRODUCT_MAPS}
SAMPLES = 5  # recent records an expression is tried on before it is saved
# What the flows work out when they send (examples for the preview): the orders flow's debtor number and
# journal; the products flow's VAT rate (AccountView's VAT codes) and the store's prices-include-VAT rule.
EXAMPLE_CONTEXT = {"collective_account": "1300", "sub_nr": "10001", "del_code": None, "journal": "VK"}
EXAMPLE_ARTICLE_CONTEXT = {"vat_rate": "21", "price_vat_rate": "0", "taxable": True}
Settings = TypeVar("Settings", OrdersSettings, ProductsSettings)
EXAMPLES = Path(__file__).with_name("examples.json")  # a record of each kind, for maps no recent record fits


def evaluating_for(workspace_id: int) -> AbstractContextManager[None]:
    """Expressions evaluated inside this block are `workspace_id`'s previews and saves: they run in the
    dashboard's evaluators, apart from the flows', at most the workspace's share at once; one more raises
    EvaluatorBusy at once (the page answers 429) rather than waiting behind them."""
    return expressions.evaluating_for(f"workspace {workspace_id}")


def known_maps() -> list[str]:
    return [name for names in FLOW_MAPS.values() for name in names]


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

    @property
    def kind(self) -> str:
        return words.kind_text(self.dictionary) if self.dictionary else ""

    @property
    def note(self) -> str:
        """What the default map says of this field, in the reader's language."""
        described = self.fieldmap or self.default
        return words.said(described.note) if described else ""

    @property
    def steps(self) -> list[tuple[str, str]]:
        """The field's transforms: (in words, as the form's JSON writes it)."""
        return [(words.step_text(s), words.step_code(s)) for s in (self.fieldmap.transforms if self.fieldmap else [])]


@dataclass
class MapTable:
    name: str
    spec: MapSpec  # the default map
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # stored overrides that no longer apply

    @property
    def description(self) -> str:
        return words.said(self.spec.description)

    @property
    def system(self) -> str:
        """The target system as a person names it (AccountView, MijnWebwinkel)."""
        return next((t.system_name for t in self.spec.targets().values()), self.spec.system)

    @property
    def target(self) -> str:
        return words.target_name(self.spec.system, self.spec.target)

    @property
    def applies_to(self) -> Promise:
        return KINDS[self.name].applies_to


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
        table.problems.append(gettext("The stored changes of this map are not a list of fields: saving a field here "
                                      "replaces them."))
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
    """A record a map is previewed on: a recent one from the activity log, or a built-in example."""

    key: str  # the record's key in the activity (an order number, an article code)
    updated_at: Any  # None: a built-in example
    payload: Any  # what came in

    @property
    def is_example(self) -> bool:
        return self.updated_at is None

    @property
    def variants(self) -> int:
        """How many variants a product record holds (0: a simple article, or not a product)."""
        if not isinstance(self.payload, list):
            return 0
        return len([a for a in self.payload if isinstance(a, dict) and a.get("code") != self.key])


@dataclass(frozen=True)
class Kind:
    """The records the flow applies a map to, as it picks them (a company debtor only for an order with a company
    name), the built-in examples of such a record, and what the page says when none was seen recently."""

    entity: str  # the records' entity in the activity
    applies_to: Promise  # said above the map
    applies: Callable[[Any], bool]  # to a record that came in as this payload
    examples: tuple[str, ...]  # names in examples.json
    none_seen: Promise  # said when no recent record is one
    worked_out: Promise | None = None  # what the flow works out when it sends, an example value here


def _order(payload: Any) -> Order | None:
    try:
        return Order.model_validate(payload)
    except ValidationError:
        return None  # an order the flow could not read either: nothing to preview on


def _order_where(test: Callable[[Order], bool]) -> Callable[[Any], bool]:
    def applies(payload: Any) -> bool:
        order = _order(payload)
        return order is not None and test(order)

    return applies


def _articles(payload: Any) -> list[dict[str, Any]]:
    """A product record's articles: one for a simple article, its variants (and its own article) for a variant
    product."""
    return [a for a in (payload if isinstance(payload, list) else [payload]) if isinstance(a, dict)]


def _is_group(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("code"), str)


_ANY_ORDER = _order_where(lambda order: True)
_WORKED_OUT_ORDER = gettext_lazy("Values Koppel works out when it sends (the debtor number, the journal) are "
                                 "examples here.")
_NO_ORDER = gettext_lazy("No order read from the shop yet: the preview uses an example order.")
_ORDER = orders_flow.ENTITY
_EXAMPLE_ORDER = ("company_order",)  # it has every part an order map reads: a delivery address, cost lines
KINDS: dict[str, Kind] = {
    om.DEBTOR_COMPANY: Kind(
        _ORDER, gettext_lazy("Used for an order with a company name."),
        _order_where(lambda order: bool(order.customer.company)), _EXAMPLE_ORDER,
        gettext_lazy("No order with a company name seen yet: the preview uses an example order."), _WORKED_OUT_ORDER),
    om.DEBTOR_PERSON: Kind(
        _ORDER, gettext_lazy("Used for an order without a company name."),
        _order_where(lambda order: not order.customer.company), ("person_order",),
        gettext_lazy("No order without a company name seen yet: the preview uses an example order."),
        _WORKED_OUT_ORDER),
    om.DELIVERY_ADDRESS: Kind(
        _ORDER, gettext_lazy("Used for an order delivered to another address than its invoice address."),
        _order_where(Customers.ships_elsewhere), _EXAMPLE_ORDER,
        gettext_lazy("No order delivered to another address than its invoice address seen yet: the preview uses "
                     "an example order."), _WORKED_OUT_ORDER),
    om.SALES_ORDER: Kind(
        _ORDER, gettext_lazy("Used for every order booked as a sales order."), _ANY_ORDER, _EXAMPLE_ORDER, _NO_ORDER,
        _WORKED_OUT_ORDER),
    om.SALES_ORDER_LINE: Kind(
        _ORDER, gettext_lazy("Used for each article line of an order booked as a sales order."),
        _order_where(lambda order: bool(order.article_lines)), _EXAMPLE_ORDER,
        gettext_lazy("No order with an article line seen yet: the preview uses an example order."), _WORKED_OUT_ORDER),
    om.COST_LINE: Kind(
        _ORDER, gettext_lazy("Used for each shipping-costs, payment-costs or discount line of an order booked as a "
                             "sales order."),
        _order_where(lambda order: bool(order.lines_of(*om.COST_LINE_TYPES))), _EXAMPLE_ORDER,
        gettext_lazy("No order with shipping costs, payment costs or a discount seen yet: the preview uses an "
                     "example order."), _WORKED_OUT_ORDER),
    om.INVOICE: Kind(
        _ORDER, gettext_lazy("Used for every order booked as an invoice."), _ANY_ORDER, _EXAMPLE_ORDER, _NO_ORDER,
        _WORKED_OUT_ORDER),
    om.INVOICE_LINE: Kind(
        _ORDER, gettext_lazy("Used for each line of an order booked as an invoice."), _ANY_ORDER, _EXAMPLE_ORDER,
        _NO_ORDER, _WORKED_OUT_ORDER),
    pm.ARTICLE_MAP: Kind(
        products_flow.ENTITY,
        gettext_lazy("Used for each simple article, and once for each variant product (from its own article, else "
                     "its first variant)."),
        lambda payload: bool(_articles(payload)), ("article", "variant_product"),
        gettext_lazy("No article read from AccountView yet: the preview uses example articles."),
        gettext_lazy("Values Koppel works out when it sends (the VAT rate, whether the shop's prices include VAT) "
                     "are examples here.")),
    pm.CATEGORY_MAP: Kind(
        CATEGORY, gettext_lazy("Used for the article group of each article sent."), _is_group, ("article_group",),
        gettext_lazy("No article group read from AccountView yet: the preview uses an example group.")),
}
SCANNED = 200  # recent records looked through for ones a map applies to (a shop's newest orders may all be consumers')


@functools.cache
def _examples() -> dict[str, dict[str, Any]]:
    return cast(dict[str, dict[str, Any]], json.loads(EXAMPLES.read_text(encoding="utf-8")))


def examples(map_name: str) -> list[Sample]:
    """The built-in example records of the kind `map_name` applies to."""
    found = _examples()
    return [Sample(found[name]["key"], None, copy.deepcopy(found[name]["payload"]))
            for name in KINDS[map_name].examples]


@dataclass
class Samples:
    """What a map is previewed on: the recent records it applies to (newest first), or else the built-in
    examples, with why (`none_seen`)."""

    records: list[Sample]
    none_seen: Promise | None = None


def samples(integration: Integration, map_name: str, limit: int = 10) -> Samples:
    recent = recent_records(integration, map_name, limit)
    if recent:
        return Samples(recent)
    return Samples(examples(map_name), KINDS[map_name].none_seen)


def recent_records(integration: Integration, map_name: str, limit: int = 10) -> list[Sample]:
    """The newest records of the activity log that the flow applies `map_name` to (at most `limit`, looked for
    among the newest SCANNED of its entity)."""
    kind = KINDS[map_name]
    rows = (Activity.objects.filter(integration=integration, entity=kind.entity, payload_in__isnull=False)
            .order_by("-updated_at").values_list("key", "updated_at", "payload_in")[:SCANNED])
    found: dict[str, Sample] = {}
    for key, updated_at, payload in rows.iterator(chunk_size=50):
        if key not in found and kind.applies(payload):
            found[key] = Sample(key, updated_at, payload)
            if len(found) >= limit:
                break
    return list(found.values())


def map_inputs(integration: Integration, map_name: str, sample: Sample) -> list[dict[str, Any]]:
    """The inputs the flow hands `map_name` for `sample` (one per line for the line maps; none when the record
    has nothing this map reads, e.g. an order without cost lines)."""
    payload = sample.payload
    if map_name in om.ORDER_MAPS:
        if not isinstance(payload, dict):
            return []
        if map_name in (om.SALES_ORDER_LINE, om.COST_LINE, om.INVOICE_LINE):
            return [{"order": payload, "line": line} for line in _lines(map_name, payload)]
        journal = _settings(integration, "orders", OrdersSettings).invoice_journal  # as the flow takes it, when set
        return [{"order": payload, "context": {**EXAMPLE_CONTEXT, **({"journal": journal.upper()} if journal else {})}}]
    if map_name == pm.CATEGORY_MAP:
        return [{"group": {"code": payload["code"], "description": payload.get("description") or ""}}] \
            if _is_group(payload) else []
    grouping = _settings(integration, "products", ProductsSettings).variants
    return [source] if (source := _article_input(sample, Grouper(grouping))) is not None else []


def _article_input(sample: Sample, grouper: Grouper) -> dict[str, Any] | None:
    """A product as the products flow maps it: a simple article by its own code; a variant product (the
    record's key is the parent code) from its own article, else its first variant with its option values taken
    out of its name, with no EAN of its own and no starting stock (each variant has its own)."""
    try:
        articles = [Article.model_validate(a) for a in _articles(sample.payload)]
    except ValidationError:
        return None
    if not articles:
        return None
    own = next((a for a in articles if a.code == sample.key), None)
    lead = own or without_options(articles[0], grouper.place(articles[0].row))
    variant_product = len(articles) > 1 or own is None
    source = article_source(lead.model_copy(update={"ean": ""}) if variant_product else lead)
    source["context"] = {**EXAMPLE_ARTICLE_CONTEXT, "sku": sample.key,
                         "stock": None if variant_product else starting_stock(lead)}
    return source


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
        maps = om.OrderMaps(_settings(integration, "orders", OrdersSettings), {map_name: overrides})
        return maps.apply(map_name, source)
    # the products flow's maps as it builds them: its settings' features, "update product information"
    products = ProductMaps(_settings(integration, "products", ProductsSettings), {map_name: overrides},
                           prices_include_tax=False, vat_rates={})
    spec = products.category_map if map_name == pm.CATEGORY_MAP else products.article_map
    return map_record(spec, source, text=TextRule("utf-8"))


def _settings(integration: Integration, flow: str, model: type[Settings]) -> Settings:
    try:
        return model.model_validate((integration.flows or {}).get(flow) or {})
    except ValidationError:
        return model()  # the settings page names what is wrong; the preview still shows the map


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
    # tried on real records only: an example must not refuse what the shop's own records would allow
    records = recent_records(integration, map_name, SAMPLES)
    inputs = [i for record in records for i in map_inputs(integration, map_name, record)]
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
