"""The sandbox's administration: tables of rows in memory, and the writes AccountView would accept.

Writes are validated against the data dictionary (columns, types, lengths, upper case, mandatory fields)
and the schema (keys, references), applied all-or-nothing, and have AccountView's side effects: numbers
assigned by the server, audit fields, and a sales-order line raising the article's reserved quantity.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from koppel.connectors.accountview.fields import DataDictionary
from koppel.connectors.accountview.profile import AccountViewProfile, BusinessObject
from koppel.connectors.accountview.sandbox import documents, stock
from koppel.connectors.accountview.sandbox.columns import (
    ColumnError,
    default_value,
    format_when,
    is_empty,
    store,
)
from koppel.connectors.accountview.sandbox.errors import ApiError, field_error
from koppel.connectors.accountview.sandbox.quirks import Quirks
from koppel.connectors.accountview.sandbox.schema import AUDIT_FIELDS, Schema, build_schema

Row = dict[str, Any]


def _ci(mapping: Any, name: str, default: Any = None) -> Any:
    """JSON property names are matched case-insensitively (NOTES §6.1)."""
    if isinstance(mapping, Mapping):
        for key, value in mapping.items():
            if str(key).lower() == name.lower():
                return value
    return default


@dataclass
class Sandbox:
    """All rows of the one company, plus settings of the simulated server."""

    profile: AccountViewProfile = field(default_factory=AccountViewProfile)
    debtor_number_width: int = 0
    quirks: Quirks = field(default_factory=Quirks)

    def __post_init__(self) -> None:
        self.dictionary: DataDictionary = self.profile.dictionary()  # assumed fields under the profile's names
        self.schema: Schema = build_schema(self.profile, debtor_number_width=self.debtor_number_width)
        self.business_objects: dict[str, BusinessObject] = self.profile.business_objects()
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, Row]] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.order_status: dict[str, str] = {}  # sales-order number → "delivered" | "invoiced" (absent: open)
        self.version = 0  # raised by every change of rows; reads cache their sorted, filtered rows per version
        self._templates: dict[str, Row] = {}
        # query signature → ((version, rows in table), keys of the matching rows in order, key order?): query.py
        self.read_cache: dict[Any, tuple[Any, list[Any], bool]] = {}
        self.clock: Callable[[], datetime] = lambda: datetime.now().replace(microsecond=0)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tables = {table: {} for table in self.schema.keys}
            self.counters = {(n.table, n.field): n.start for n in self.schema.numbering}
            self.order_status = {}
            self.changed()

    def changed(self) -> None:
        """Rows were added, replaced or changed: cached read results are stale."""
        self.version += 1

    def snapshot(self) -> Any:
        with self.lock:
            return copy.deepcopy((self.tables, self.counters, self.order_status))

    def restore(self, snapshot: Any) -> None:
        with self.lock:
            self.tables, self.counters, self.order_status = copy.deepcopy(snapshot)
            self.changed()

    # --- lookups -------------------------------------------------------------------------------------------

    def business_object(self, code: str) -> BusinessObject:
        bo = self.business_objects.get(str(code or "").upper())
        if bo is None:
            raise ApiError(f"Onbekend business object '{code}' / Unknown business object '{code}'", number=1001)
        return bo

    def rows(self, table: str) -> list[Row]:
        with self.lock:
            return [dict(r) for r in self.tables.get(table.upper(), {}).values()]

    def get(self, table: str, key: str) -> Row | None:
        with self.lock:
            row = self.tables.get(table.upper(), {}).get(key)
            return dict(row) if row else None

    def details_of(self, detail: str, header: Row) -> list[Row]:
        link = self.schema.links[detail]
        return [r for r in self.tables.get(detail, {}).values() if all(r.get(c) == header.get(c) for c in link)]

    # --- writes --------------------------------------------------------------------------------------------

    def write(self, body: Any, *, update: bool) -> dict[str, list[Row]]:
        """Apply a POST (insert) or PUT (upsert by primary key) body; all-or-nothing."""
        bo = self.business_object(_ci(body, "BusinessObject"))
        if update and (not bo.update or bo.code.upper() in self.schema.update_rejected):
            raise ApiError(
                f"Wijzigen van {bo.code} wordt niet ondersteund / Updating {bo.code} is not supported",
                number=1002,
            )
        if not update and not bo.insert:
            raise ApiError(
                f"Toevoegen aan {bo.code} is niet toegestaan / Inserting into {bo.code} is not allowed",
                number=1003,
            )
        table_def, table_data = _ci(body, "Table") or {}, _ci(body, "TableData") or {}
        header_rows = self._rows_of(
            _ci(table_def, "Definition"),
            _ci(_ci(table_data, "Data"), "Rows"),
            expected=(bo.header,),
            detail=False,
        )
        detail_defs = _ci(table_def, "DetailDefinitions") or []
        detail_data = _ci(table_data, "DetailData") or []
        if len(detail_defs) != len(detail_data):
            raise ApiError(
                "DetailDefinitions en DetailData verschillen in aantal / "
                "DetailDefinitions and DetailData differ in length",
                number=1004,
            )
        if update and detail_defs:
            raise ApiError(
                "Wijzigen van detailregels wordt niet ondersteund / Updating detail rows is not supported",
                number=1002,
            )
        details = [
            self._rows_of(d, _ci(data, "Rows"), expected=bo.details, detail=True)
            for d, data in zip(detail_defs, detail_data, strict=True)
        ]
        for detail_rows in details:
            for (_, header_id), (detail_table, _) in detail_rows.items():
                if header_id not in header_rows:
                    raise field_error(
                        detail_table,
                        "HeaderId",
                        f"'{header_id}' hoort bij geen kopregel (RowId)",
                        f"'{header_id}' matches no header row (RowId)",
                        number=1016,
                    )
        with self.lock:
            staged = _Staged(self)
            for row_id, (table, values) in header_rows.items():
                header = staged.upsert(bo, table, values) if update else staged.insert(bo, table, values)
                for detail_rows in details:
                    for (_, header_id), (detail_table, detail_values) in detail_rows.items():
                        if header_id == row_id:
                            staged.insert(bo, detail_table, detail_values, parent=header)
            staged.check_references()
            staged.book()
            staged.commit()
            return staged.echo()

    def _rows_of(
        self, definition: Any, rows: Any, *, expected: tuple[str, ...], detail: bool
    ) -> dict[Any, tuple[str, dict[str, Any]]]:
        name = str(_ci(definition, "Name") or "").upper()
        if name not in expected:
            raise ApiError(
                f"Tabel '{name}' hoort niet bij dit business object / Table '{name}' does not "
                f"belong to this business object (expected {', '.join(expected) or 'none'})",
                number=1005,
            )
        columns = [str(_ci(f, "Name") or "") for f in (_ci(definition, "Fields") or [])]
        upper = [c.upper() for c in columns]
        if "ROWID" not in upper or (detail and "HEADERID" not in upper):
            raise ApiError(
                f"Tabel {name}: RowId{' en HeaderId' if detail else ''} ontbreekt / Table {name}: "
                f"RowId{' and HeaderId' if detail else ''} missing",
                number=1006,
            )
        for column in upper:
            if column not in ("ROWID", "HEADERID") and self.dictionary.field(name, column) is None:
                raise field_error(name, column, "bestaat niet", "does not exist", number=1007)
        parsed: dict[Any, tuple[str, dict[str, Any]]] = {}
        for row in rows or []:
            values = _ci(row, "Values") or []
            if len(values) != len(columns):
                raise ApiError(
                    f"Tabel {name}: {len(values)} waarden voor {len(columns)} velden / Table {name}: "
                    f"{len(values)} values for {len(columns)} fields",
                    number=1008,
                )
            record = dict(zip(upper, values, strict=True))
            row_id = str(record.pop("ROWID"))
            key = (row_id, str(record.pop("HEADERID", ""))) if detail else row_id
            if key in parsed:
                raise ApiError(
                    f"Tabel {name}: RowId '{row_id}' komt twee keer voor / Table {name}: RowId "
                    f"'{row_id}' appears twice",
                    number=1017,
                )
            parsed[key] = (name, record)
        if not parsed and not detail:
            raise ApiError(f"Tabel {name}: geen rijen / Table {name}: no rows", number=1009)
        return parsed

    def next_number(self, table: str, field_name: str) -> str:
        numbering = next(n for n in self.schema.numbering if (n.table, n.field) == (table, field_name))
        taken = self.tables.get(table, {})
        while True:
            number = self.counters[(table, field_name)]
            self.counters[(table, field_name)] = number + 1
            text = str(number).zfill(numbering.width) if numbering.width else str(number)
            if field_name != self.schema.keys.get(table) or text not in taken:
                return text

    def new_row(self, table: str) -> Row:
        """A row of `table` holding what unlisted columns hold (the template is made once per table)."""
        template = self._templates.get(table)
        if template is None:
            template = {name: default_value(spec) for name, spec in self.dictionary.fields(table).items()}
            self._templates[table] = template
        return dict(template)

    def numbered_fields(self, table: str) -> list[str]:
        return [n.field for n in self.schema.numbering if n.table == table]


def _sent(values: dict[str, Any]) -> set[str]:
    """The fields a client gave a value; a null in the positional row is a column left out for this row."""
    return {name for name, value in values.items() if value is not None}


def _midnight(when: datetime) -> datetime:
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


class _Staged:
    """One write in progress: rows validated and prepared, committed only when everything is valid."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.rows: list[tuple[str, Row, bool]] = []  # table, row, is_new
        self.given: dict[int, set[str]] = {}  # id(row) → the fields the client sent
        self.echoed: dict[str, list[Row]] = {}

    def _prepare(self, bo: BusinessObject, table: str, values: dict[str, Any], base: Row | None) -> Row:
        sb = self.sandbox
        specs = sb.dictionary.fields(table)
        row: Row = dict(base) if base else sb.new_row(table)
        for name, raw in values.items():
            spec = specs[name]
            if name in AUDIT_FIELDS or (spec.read_only and name not in (sb.schema.keys.get(table), "DJ_CODE")):
                continue
            try:
                value = store(spec, raw, code_page=sb.profile.code_page, truncate_at_nul=sb.quirks.truncate_at_nul)
            except ColumnError as exc:
                raise field_error(table, name, exc.dutch, exc.english, number=1010) from None
            if spec.max_length is not None and len(value) > spec.max_length:
                if not sb.quirks.lenient_lengths:
                    raise field_error(
                        table,
                        name,
                        f"is te lang: maximaal {spec.max_length} tekens",
                        f"is too long: at most {spec.max_length} characters",
                        number=1011,
                    )
                value = value[: spec.max_length]
            row[name] = value
        return row

    def _finish(self, bo: BusinessObject, table: str, row: Row, *, new: bool) -> None:
        sb = self.sandbox
        now = format_when(sb.clock())
        for numbered in sb.numbered_fields(table):
            if new and not row.get(numbered):
                row[numbered] = sb.next_number(table, numbered)
        if "CNG_DATE" in row:
            row["CNG_DATE"] = now
            row["INP_DATE"] = row.get("INP_DATE") or now
            if "CNG_NR" in row:
                row["CNG_NR"] = int(row.get("CNG_NR") or 0) + 1
        if table == "SO_HDR" and not row.get("ORD_DATE"):
            row["ORD_DATE"] = now
        if table == "DJ_PAGE" and not row.get("TRN_DATE"):
            row["TRN_DATE"] = format_when(_midnight(sb.clock()))
        mandatory = [n for n, s in sb.dictionary.fields(table).items() if s.mandatory]
        if table == bo.header:
            mandatory += list(sb.schema.extra_mandatory.get(bo.code.upper(), ()))
        specs = sb.dictionary.fields(table)
        for name in mandatory:
            if is_empty(specs[name], row.get(name)):
                raise field_error(table, name, "is verplicht", "is mandatory", number=1012)
        key = sb.schema.keys[table]
        if new and (row[key] in sb.tables[table] or any(t == table and r[key] == row[key] for t, r, _ in self.rows)):
            raise field_error(table, key, f"'{row[key]}' bestaat al", f"'{row[key]}' already exists", number=1013)
        together = sb.schema.unique_together.get(table)
        if together and all(row.get(f) for f in together):
            existing = list(sb.tables[table].values()) + [r for t, r, _ in self.rows if t == table]
            if any(all(r.get(f) == row.get(f) for f in together) and r[key] != row[key] for r in existing):
                names = "+".join(f"{table}.{f}" for f in together)
                raise ApiError(f"Combinatie {names} bestaat al / Combination {names} already exists", number=1013)

    def insert(self, bo: BusinessObject, table: str, values: dict[str, Any], *, parent: Row | None = None) -> Row:
        row = self._prepare(bo, table, values, None)
        if parent is not None:
            self._link_detail(table, row, parent)
        self.given[id(row)] = _sent(values)
        documents.fill_in(self.sandbox, table, row, self.given[id(row)])
        documents.check_price(self.sandbox, table, row)
        self._finish(bo, table, row, new=True)
        self.rows.append((table, row, True))
        return row

    def upsert(self, bo: BusinessObject, table: str, values: dict[str, Any]) -> Row:
        sb = self.sandbox
        key = sb.schema.keys[table]
        wanted = values.get(key)
        spec = sb.dictionary.field(table, key)
        wanted_key = (
            store(spec, wanted, code_page=sb.profile.code_page) if spec is not None and wanted not in (None, "") else ""
        )
        if not wanted_key:
            raise field_error(table, key, "is verplicht bij wijzigen", "is required for an update", number=1014)
        existing = sb.tables[table].get(wanted_key)
        if existing is None:
            return self.insert(bo, table, values)
        row = self._prepare(bo, table, values, existing)
        self.given[id(row)] = _sent(values)
        self._finish(bo, table, row, new=False)
        self.rows.append((table, row, False))
        return row

    def _link_detail(self, table: str, row: Row, parent: Row) -> None:
        sb = self.sandbox
        for column in sb.schema.links.get(table, ()):
            row[column] = parent.get(column, "")  # the header is finished first, so its number exists
        if table == "DJ_LINE":
            row["TRN_DATE"] = row.get("TRN_DATE") or parent.get("TRN_DATE") or format_when(_midnight(sb.clock()))
            row["SUB_NR"] = row.get("SUB_NR") or parent.get("SUB_NR", "")
            row["INV_NR"] = row.get("INV_NR") or parent.get("INV_NR", "")
            row["SRC_ID"] = row.get("SRC_ID") or parent.get("SUB_NR") or "-"
            row["SRC_TYPE"] = row.get("SRC_TYPE") or 1

    def check_references(self) -> None:
        sb = self.sandbox
        staged_keys: dict[str, set[str]] = {}
        for table, row, _ in self.rows:
            staged_keys.setdefault(table, set()).add(str(row.get(sb.schema.keys[table], "")))
        for table, row, _ in self.rows:
            for ref in sb.schema.references:
                value = row.get(ref.field) if ref.table == table else None
                if not value:
                    continue
                target_rows = sb.tables.get(ref.target, {})
                target_key = sb.schema.keys.get(ref.target)
                if ref.target_field == target_key:
                    found = value in target_rows or value in staged_keys.get(ref.target, set())
                else:
                    found = any(r.get(ref.target_field) == value for r in target_rows.values())
                if not found:
                    raise field_error(
                        table,
                        ref.field,
                        f"verwijst naar onbekende {ref.target} '{value}'",
                        f"refers to unknown {ref.target} '{value}'",
                        number=1015,
                    )
            documents.check_delivery_address(sb, table, row)

    def book(self) -> None:
        """AccountView's VAT and totals on every new invoice page of this write."""
        sb = self.sandbox
        for table, page, new in self.rows:
            if table == "DJ_PAGE" and new:
                lines = [
                    r
                    for t, r, _ in self.rows
                    if t == "DJ_LINE" and all(r.get(c) == page.get(c) for c in sb.schema.links["DJ_LINE"])
                ]
                documents.book_invoice(sb, page, lines, lambda row: self.given.get(id(row), set()))

    def commit(self) -> None:
        sb = self.sandbox
        for table, row, _ in self.rows:
            sb.tables[table][str(row[sb.schema.keys[table]])] = row
            self.echoed.setdefault(table, []).append(dict(row))
            if table == "SO_LINE":
                stock.reserve(sb, row["ART_CODE"], float(row.get("ORD_QTY") or 0))
        sb.changed()

    def echo(self) -> dict[str, list[Row]]:
        return self.echoed
