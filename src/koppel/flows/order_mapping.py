"""How a MijnWebwinkel order becomes AccountView records: the declarative default maps (with the
integration's overrides and the settings' value tables) applied, and their rows read into the AccountView
connector's models. A model is a typed view of its row (each typed field is one column, every other
column rides along), so what a map says is what the connector sends: nothing is translated twice.

Every text column is fitted to the administration's code page (transliterated with a warning, or the
order parked naming the field, as the settings say). Pure: no remote calls. Every failing field of a
record is reported at once (`MappingError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import JsonValue

from koppel.connectors.accountview.models import (
    Address,
    ContactPerson,
    DebtorIn,
    DeliveryAddressIn,
    SalesInvoiceIn,
    SalesInvoiceLineIn,
    SalesOrderIn,
    SalesOrderLineIn,
)
from koppel.connectors.mijnwebwinkel.models import Order, OrderLine
from koppel.flows.settings import OrdersSettings, ValueMapping
from koppel.mapping import (
    Mapped,
    MappingError,
    MapSpec,
    Mode,
    TextRule,
    TransformStep,
    ValueTable,
    load_default_map,
    map_record,
    merge_overrides,
    without_nul,
)
from koppel.reasons import reason

DEBTOR_COMPANY = "mww_order_to_av_debtor_company"
DEBTOR_PERSON = "mww_order_to_av_debtor_person"
DELIVERY_ADDRESS = "mww_order_to_av_delivery_address"
SALES_ORDER = "mww_order_to_av_sales_order"
SALES_ORDER_LINE = "mww_order_line_to_av_sales_order_line"
COST_LINE = "mww_cost_line_to_av_sales_order_line"
INVOICE = "mww_order_to_av_invoice"
INVOICE_LINE = "mww_order_line_to_av_invoice_line"
ORDER_MAPS = (
    DEBTOR_COMPANY,
    DEBTOR_PERSON,
    DELIVERY_ADDRESS,
    SALES_ORDER,
    SALES_ORDER_LINE,
    COST_LINE,
    INVOICE,
    INVOICE_LINE,
)
# Maps holding names and addresses: over-long values are refused there unless the settings allow cutting.
_NAME_MAPS = (DEBTOR_COMPANY, DEBTOR_PERSON, DELIVERY_ADDRESS)
_ABBREVIATIONS = {"SRC_CODE"}  # cut by design: a search code is a short form of the name
COST_LINE_TYPES = ("shipping", "payment", "discount")
# The settings name VAT cases by Koppel's words; the maps by MijnWebwinkel's tax strategies.
VAT_KEY_ALIASES = {"reverse_charge": "reverse_charged_vat", "export": "zero_percent"}


def order_source(order: Order) -> dict[str, Any]:
    """The order as the maps read it (and the activity log keeps it): MijnWebwinkel's own field names,
    money as strings, NUL characters removed (they mean nothing, and PostgreSQL refuses them in JSON)."""
    return without_nul(order.model_dump(mode="json"))  # type: ignore[no-any-return]


def split_by_rate(line: OrderLine) -> list[dict[str, Any]]:
    """One map input per VAT rate: a payment-cost or discount line may be priced at several rates."""
    data = without_nul(line.model_dump(mode="json"))
    parts = data["price"] or [{"amount": "0", "amount_including_tax": "0", "rate": "0"}]
    return [{**data, "price": part} for part in parts]


def vat_key(order: Order, rate: Decimal) -> str:
    """The key the VAT-code table is read with: the tax strategy, or else the rate ("21")."""
    if order.tax_strategy in ("reverse_charged_vat", "zero_percent"):
        return order.tax_strategy
    return f"{rate.normalize():f}"


def _value_table(mapping: ValueMapping) -> ValueTable:
    return ValueTable(entries=dict(mapping.table), default=mapping.default, force=mapping.force)


def _configured(mapping: ValueMapping) -> bool:
    return bool(mapping.table) or mapping.default is not None


def _strict(spec: MapSpec) -> tuple[MapSpec, set[str]]:
    """The map with each `truncate` turned into `max_length`: over-long values refused, not cut."""
    cut: set[str] = set()
    fields = []
    for field in spec.fields:
        if field.target in _ABBREVIATIONS:
            fields.append(field)
            continue
        steps = [
            TransformStep(name="max_length", args=step.args) if step.name == "truncate" else step
            for step in field.transforms
        ]
        if steps != field.transforms:
            cut.add(field.target)
        fields.append(field.model_copy(update={"transforms": steps}))
    return spec.model_copy(update={"fields": fields}), cut


class OrderMaps:
    """The maps of one integration, ready to apply to its orders."""

    def __init__(
        self,
        settings: OrdersSettings,
        overrides: Mapping[str, Any] | None = None,
        *,
        collective_account: str = "1300",
        code_page: str = "cp1252",
    ) -> None:
        self.settings = settings
        self.collective_account = collective_account
        self.text = TextRule(code_page, settings.text_outside_code_page)
        overrides = overrides or {}
        self.specs: dict[str, MapSpec] = {}
        for name in ORDER_MAPS:
            spec = merge_overrides(load_default_map(name), overrides.get(name) or {})
            self.specs[name] = self._without_unset_tables(spec)
        self.strict: dict[str, tuple[MapSpec, set[str]]] = {name: _strict(self.specs[name]) for name in _NAME_MAPS}
        vat = {VAT_KEY_ALIASES.get(k, k): v for k, v in settings.vat_codes.items()}
        self.tables: dict[str, ValueTable] = {
            "vat_codes": ValueTable(entries=dict[str, JsonValue](vat)),
            "payment_methods": _value_table(settings.payment_methods),
            "payment_terms": _value_table(settings.payment_terms),
            "cost_articles": ValueTable(
                entries={
                    "shipping": settings.shipping_article,
                    "payment": settings.payment_cost_article,
                    "discount": settings.discount_article,
                }
            ),
            "revenue_accounts": ValueTable(
                entries=dict(settings.revenue_accounts), default=settings.revenue_accounts.get("article")
            ),
        }

    def _without_unset_tables(self, spec: MapSpec) -> MapSpec:
        """Payment terms and methods are optional: unset, AccountView uses the debtor's own."""
        unset = {
            "payment_terms": not _configured(self.settings.payment_terms),
            "payment_methods": not _configured(self.settings.payment_methods),
        }
        fields = [
            f
            for f in spec.fields
            if not any(step.name == "lookup" and unset.get(str(step.args.get("table")), False) for step in f.transforms)
        ]
        return spec.model_copy(update={"fields": fields})

    def apply(self, name: str, source: Mapping[str, Any], *, mode: Mode = "create") -> Mapped:
        """The mapped row and its warnings (text fitted to the code page, values cut to fit when the
        settings allow cutting, an address sent as typed)."""
        if name not in self.strict:
            return map_record(self.specs[name], source, tables=self.tables, mode=mode, text=self.text)
        strict, cut = self.strict[name]
        try:
            return map_record(strict, source, tables=self.tables, mode=mode, text=self.text)
        except MappingError as error:
            too_long = [p for p in error.problems if p.transform == "max_length" and p.field in cut]
            if not self.settings.truncate_long_fields or len(too_long) != len(error.problems):
                raise
        mapped = map_record(self.specs[name], source, tables=self.tables, mode=mode, text=self.text)
        mapped.warnings += [reason("{field}: {value} was cut to {cut}", field=p.field, value=repr(p.value),
                                   cut=repr(mapped.row.get(p.field or ""))) for p in too_long]
        return mapped

    # -- debtors ---------------------------------------------------------------------------------------

    def debtor(self, order: Order, *, mode: Mode = "create") -> tuple[DebtorIn, list[str]]:
        """A company debtor with its contact person when the order names a company, else a person debtor.
        In update mode the row holds only what the map does not mark `only_create`."""
        company = bool(order.customer.company)
        source = {"order": order_source(order), "context": {"collective_account": self.collective_account}}
        mapped = self.apply(DEBTOR_COMPANY if company else DEBTOR_PERSON, source, mode=mode)
        row = dict(mapped.row)
        # The e-mail is the key the debtor is found by: it is there even when a map leaves it out.
        row.setdefault("MAIL_BUS", (order.customer.email or "").strip().lower())
        contact = ContactPerson(name=row["MAIN_CONT"], email=row.get("MC_MAILB")) if row.get("MAIN_CONT") else None
        debtor = DebtorIn.model_validate({**row, "kind": "company" if company else "person", "contact": contact})
        return debtor, mapped.warnings

    def delivery_address(self, order: Order, debtor_number: str) -> tuple[DeliveryAddressIn, list[str]]:
        source = {"order": order_source(order), "context": {"sub_nr": debtor_number}}
        mapped = self.apply(DELIVERY_ADDRESS, source)
        return DeliveryAddressIn.model_validate({**mapped.row, "address": _address(mapped.row)}), mapped.warnings

    # -- documents -------------------------------------------------------------------------------------

    def sales_order(
        self,
        order: Order,
        *,
        debtor_number: str,
        delivery_code: str | None = None,
        article_codes: Mapping[str, str] | None = None,
        warnings: list[str] | None = None,
    ) -> SalesOrderIn:
        """The sales order; `article_codes` maps shop SKUs to AV codes where they differ (EAN match), and
        a variant product's lines ("line:<id>") to their variant's AV code.
        What was changed on the way is added to `warnings`."""
        source_order = order_source(order)
        notes: list[str] = []
        header = self.apply(
            SALES_ORDER,
            {"order": source_order, "context": {"sub_nr": debtor_number, "del_code": delivery_code}},
        )
        notes += header.warnings
        lines: list[SalesOrderLineIn] = []
        problems: list[MappingError] = []
        for line in order.orderlines:
            name = COST_LINE if line.type in COST_LINE_TYPES else SALES_ORDER_LINE
            for part in split_by_rate(line):
                try:
                    mapped = self.apply(name, {"order": source_order, "line": part})
                except MappingError as error:
                    problems.append(error)
                    continue
                notes += mapped.warnings
                row = dict(mapped.row)
                known = article_codes or {}
                row["ART_CODE"] = known.get(f"line:{line.id}") or known.get(row["ART_CODE"], row["ART_CODE"])
                lines.append(SalesOrderLineIn.model_validate(row))
        if problems:
            raise MappingError([p for error in problems for p in error.problems], map_name=SALES_ORDER_LINE)
        if warnings is not None:
            warnings += notes
        return SalesOrderIn.model_validate({**header.row, "external_ref": header.row["COMMENT1"], "lines": lines})

    def invoice(
        self, order: Order, *, debtor_number: str, journal: str, warnings: list[str] | None = None
    ) -> SalesInvoiceIn:
        source_order = order_source(order)
        header = self.apply(
            INVOICE, {"order": source_order, "context": {"sub_nr": debtor_number, "journal": journal}}
        )
        notes = list(header.warnings)
        lines: list[SalesInvoiceLineIn] = []
        problems: list[MappingError] = []
        for line in order.orderlines:
            for part in split_by_rate(line):
                try:
                    mapped = self.apply(INVOICE_LINE, {"order": source_order, "line": part})
                except MappingError as error:
                    problems.append(error)
                    continue
                notes += mapped.warnings
                lines.append(SalesInvoiceLineIn.model_validate({"TRN_DESC": line.type, **mapped.row}))
        if problems:
            raise MappingError([p for error in problems for p in error.problems], map_name=INVOICE_LINE)
        if warnings is not None:
            warnings += notes
        external_ref = header.row.get("EXT_DESC") or header.row["INV_NR"]
        return SalesInvoiceIn.model_validate({**header.row, "external_ref": external_ref, "lines": lines})


def _address(row: Mapping[str, Any]) -> Address:
    """The typed address a delivery address is matched on, read from the same row that is sent."""
    return Address(
        street=row.get("ST_STREET") or "",
        house_number=row.get("ST_NR") or "",
        house_number_suffix=row.get("ST_EXTRA") or "",
        postcode=row.get("POST_CODE") or "",
        city=row.get("CITY") or "",
        country_code=row.get("CNT_CODE") or "NL",
        address_line=row.get("ADDRESS1") or "",
    )
