"""Reads as `GET /api/v3/accountviewdata` answers them: numbered filters with operators and value types,
`MatchAnyFilter`, sorting, `PageNumber` or `lastKey` paging, `Fields`, and the DataSet-like response
shape with `<TABLE>_Id`, `EXT_KEY` and detail rows (NOTES §5, §14.4)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from koppel.connectors.accountview.fields import FieldSpec
from koppel.connectors.accountview.profile import BusinessObject
from koppel.connectors.accountview.sandbox.columns import parse_when
from koppel.connectors.accountview.sandbox.errors import ApiError, field_error
from koppel.connectors.accountview.sandbox.quirks import Quirks
from koppel.connectors.accountview.sandbox.state import Row, Sandbox

# Operator names match case-insensitively; 42/43 are S2's numeric values for a date range.
_OPERATORS = {
    name.lower(): name
    for name in (
        "Equal",
        "NotEqual",
        "Contains",
        "StartsWith",
        "GreaterThan",
        "GreaterThanOrEqual",
        "LessThan",
        "LessThanOrEqual",
        "DateOnOrAfterDate",
        "DateOnOrBeforeDate",
    )
}
_OPERATORS.update({"42": "DateOnOrAfterDate", "43": "DateOnOrBeforeDate"})
READ_CACHE_SIZE = 16  # listings whose filtered, sorted rows are kept between pages


@dataclass(frozen=True)
class Condition:
    spec: FieldSpec
    operator: str
    value_type: str
    values: tuple[Any, ...]
    is_list: bool

    def matches(self, row: Row) -> bool:
        actual = _comparable(row.get(self.spec.name), self.value_type)
        results = [_compare(self.operator, actual, wanted) for wanted in self.values]
        if self.operator == "NotEqual":
            return all(results)
        return any(results)


def _comparable(value: Any, value_type: str) -> Any:
    if value_type in "DT":
        when = parse_when(value) if value not in (None, "") else None
        return when.date() if when and value_type == "D" else when
    if value_type == "N":
        return float(value or 0)
    if value_type == "L":
        return value.strip().lower() in ("true", "1", ".t.", "t") if isinstance(value, str) else bool(value)
    return str(value if value is not None else "").rstrip()


def _compare(operator: str, actual: Any, wanted: Any) -> bool:
    if actual is None or wanted is None:
        return operator == "NotEqual" and actual != wanted
    match operator:
        case "Equal":
            return bool(actual == wanted)
        case "NotEqual":
            return bool(actual != wanted)
        case "Contains":
            return str(wanted) in str(actual)
        case "StartsWith":
            return str(actual).startswith(str(wanted))
        case "GreaterThan":
            return bool(actual > wanted)
        case "GreaterThanOrEqual" | "DateOnOrAfterDate":
            return bool(actual >= wanted)
        case "LessThan":
            return bool(actual < wanted)
        case "LessThanOrEqual" | "DateOnOrBeforeDate":
            return bool(actual <= wanted)
    return False


class ReadRequest:
    """The query parameters of one read, parsed and checked (names case-insensitive)."""

    def __init__(self, sandbox: Sandbox, params: Mapping[str, str]) -> None:
        self.sandbox = sandbox
        self.params = {k.lower(): v for k, v in params.items()}
        self.bo: BusinessObject = sandbox.business_object(self.params.get("businessobject", ""))
        self.table = self.bo.header
        self.page_size = self._int("pagesize", 100)
        self.page_number = self._int("pagenumber", 1)
        self.last_key = self.params.get("lastkey")
        self.match_any = self.params.get("matchanyfilter", "").lower() in ("true", "1")
        self.conditions = [self._condition(n) for n in range(1, 10) if self.params.get(f"filtercontrolsource{n}")]
        self.fields = [self._field(f).name for f in self.params.get("fields", "").split(",") if f.strip()]
        self.sort = [self._field(f).name for f in self.params.get("sortfields", "").split(",") if f.strip()]
        self.descending = self.params.get("sortorder", "ascending").lower() in ("descending", "desc", "1")

    def _int(self, name: str, default: int) -> int:
        raw = self.params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(
                f"Parameter {name} moet een getal zijn / Parameter {name} must be a number", number=1020
            ) from None
        if value < 1:
            raise ApiError(f"Parameter {name} moet positief zijn / Parameter {name} must be positive", number=1020)
        return value

    def _field(self, text: str) -> FieldSpec:
        name = text.strip().upper()
        table, _, bare = name.rpartition(".")
        table = table or self.table
        spec = self.sandbox.dictionary.field(table, bare) if table == self.table else None
        if spec is None:
            raise field_error(table, bare, "is onbekend in deze lijst", "is unknown in this list", number=1021)
        return spec

    def _condition(self, n: int) -> Condition:
        spec = self._field(self.params[f"filtercontrolsource{n}"])
        op_raw = self.params.get(f"filteroperator{n}", "Equal").strip().lower()
        operator = _OPERATORS.get(op_raw)
        if operator is None:
            raise ApiError(f"Onbekende filteroperator '{op_raw}' / Unknown filter operator '{op_raw}'", number=1022)
        value_type = (self.params.get(f"filtervaluetype{n}") or spec.type).strip().upper()[:1]
        value_type = "C" if value_type == "M" else "N" if value_type in "YBI" else value_type
        raw = self.params.get(f"filtervalue{n}", "")
        is_list = self.params.get(f"filterislistofvalues{n}", "false").lower() in ("true", "1")
        pieces = raw.split(",") if is_list else [raw]
        try:
            values = tuple(_comparable(p if value_type != "C" else p.rstrip(), value_type) for p in pieces)
        except (ValueError, TypeError):
            raise ApiError(
                f"Filterwaarde {n} '{raw}' past niet bij type {value_type} / Filter value {n} "
                f"'{raw}' does not fit type {value_type}",
                number=1023,
            ) from None
        if operator.startswith("Date") and value_type not in "DT":
            value_type = "T"
            values = tuple(_comparable(p, "T") for p in pieces)
        return Condition(spec, operator, value_type, values, is_list)

    def select(self, quirks: Quirks) -> list[Row]:
        """The rows of this page, in order."""
        keys, by_key = self._matching()
        if quirks.ignore_paging:
            return self._rows(keys[: self.page_size])
        if self.last_key is not None:
            wanted = self.last_key.rstrip()
            if not by_key:
                keys = sorted(k for k in keys if k > wanted)
            start = bisect.bisect_right(keys, wanted)  # sorted on the key: find the start, do not scan
            return self._rows(keys[start : start + self.page_size])
        start = (self.page_number - 1) * self.page_size
        return self._rows(keys[start : start + self.page_size])

    def _rows(self, keys: list[str]) -> list[Row]:
        with self.sandbox.lock:
            table = self.sandbox.tables.get(self.table, {})
            return [row for row in (table.get(k) for k in keys) if row is not None]

    def _matching(self) -> tuple[list[str], bool]:
        """The keys of every row matching the filters, in the order asked, and whether that is key order.
        Kept per sandbox version (`Sandbox.changed()`), so the pages of one listing filter and sort the
        table once, not once per page: a 100,000-article listing in pages of 1,000 would otherwise sort it
        100 times. Rows are looked up live by key; a change made in place to a filtered or sorted field
        without `changed()` is not seen by a listing already cached."""
        key = self.sandbox.schema.keys[self.table]
        sort = self.sort or [key]
        signature = (
            self.table,
            tuple((c.spec.name, c.operator, c.value_type, c.values) for c in self.conditions),
            self.match_any,
            tuple(sort),
            self.descending,
        )
        with self.sandbox.lock:
            table = self.sandbox.tables.get(self.table, {})
            version = (self.sandbox.version, len(table))
            cached = self.sandbox.read_cache.get(signature)
            if cached is not None and cached[0] == version:
                return cached[1], cached[2]
            narrowed = self._indexed(version)
            rows = list(table.items()) if narrowed is None else [(k, table[k]) for k in narrowed if k in table]
        if self.conditions:
            test: Callable[[Row], bool] = (
                (lambda r: any(c.matches(r) for c in self.conditions))
                if self.match_any
                else (lambda r: all(c.matches(r) for c in self.conditions))
            )
            rows = [(k, r) for k, r in rows if test(r)]
        rows.sort(key=lambda kr: tuple(_sort_value(kr[1].get(f)) for f in sort), reverse=self.descending)
        keys = [k for k, _ in rows]
        by_key = sort == [key] and not self.descending and all(k == r.get(key) for k, r in rows)
        with self.sandbox.lock:
            cache = self.sandbox.read_cache
            cache[signature] = (version, keys, by_key)
            while len(cache) > READ_CACHE_SIZE:
                del cache[next(iter(cache))]
        return keys, by_key


    def _indexed(self, version: tuple[int, int]) -> list[str] | None:
        """The keys of the only rows that can match, when a filter asks for text values of a field (Equal, or
        StartsWith) and every filter must hold: found in that field's index, not by testing every row, as a
        database finds them by an index (an article by its code, a group's variants by their parent). None:
        every row has to be tested. The filters are still applied to the rows found (this only narrows).
        Called under the sandbox's lock."""
        if self.match_any:
            return None
        usable = [c for c in self.conditions if c.value_type == "C" and c.operator in ("Equal", "StartsWith")]
        if not usable:
            return None
        condition = usable[0]
        values, keys = self._index(condition.spec.name, version)
        found: dict[str, None] = {}
        for wanted in condition.values:
            start = bisect.bisect_left(values, wanted)
            if condition.operator == "Equal":
                end = bisect.bisect_right(values, wanted, lo=start)
            else:  # every value starting with `wanted` sorts between it and it followed by the highest character
                end = bisect.bisect_left(values, wanted + "\U0010ffff", lo=start)
            found.update(dict.fromkeys(keys[start:end]))
        return list(found)

    def _index(self, field: str, version: tuple[int, int]) -> tuple[list[str], list[str]]:
        """The field of every row as a text filter compares it, sorted, and the rows' keys in that order; built
        once per version."""
        signature = ("index", self.table, field)
        cache = self.sandbox.read_cache
        cached = cache.pop(signature, None)  # taken out and put back last: listings do not push it out
        if cached is None or cached[0] != version:
            table = self.sandbox.tables.get(self.table, {})
            index = sorted((_comparable(row.get(field), "C"), k) for k, row in table.items())
            cached = (version, [[value for value, _ in index], [key for _, key in index]], True)
        cache[signature] = cached
        values, keys = cached[1]
        return values, keys


def _sort_value(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value if value is not None else ""))


def serialise(
    sandbox: Sandbox,
    bo: BusinessObject,
    headers: list[Row],
    *,
    fields: list[str] | None = None,
    details: dict[str, list[Row]] | None = None,
    quirks: Quirks,
) -> dict[str, Any]:
    """The answer shape: `{HEADER: [...], DETAIL: [...]}` with `<TABLE>_Id` (0-based index in this answer),
    `EXT_KEY` and, on detail rows, the header's `<HEADER>_Id`. Detail rows are those of the headers unless
    given (a write echoes only what it wrote)."""
    out_headers: list[Row] = []
    out_details: dict[str, list[Row]] = {d: [] for d in bo.details}
    for index, row in enumerate(headers):
        shown = {f: row.get(f) for f in fields} if fields else dict(row)
        out_headers.append(_finish(sandbox, bo.header, shown, quirks) | {f"{bo.header}_Id": index, "EXT_KEY": 0})
        for detail in bo.details:
            lines = (
                sandbox.details_of(detail, row)
                if details is None
                else [
                    d
                    for d in details.get(detail, [])
                    if all(d.get(c) == row.get(c) for c in sandbox.schema.links[detail])
                ]
            )
            for line in lines:
                n = len(out_details[detail])
                out_details[detail].append(
                    _finish(sandbox, detail, dict(line), quirks)
                    | {f"{detail}_Id": n, f"{bo.header}_Id": index, "EXT_KEY": 0}
                )
    answer: dict[str, Any] = {bo.header: out_headers}
    for detail, rows in out_details.items():
        answer[detail] = rows
    if quirks.single_object:
        answer = {k: (v[0] if len(v) == 1 else v) for k, v in answer.items()}
    return answer


def _finish(sandbox: Sandbox, table: str, row: Row, quirks: Quirks) -> Row:
    if quirks.image_name_object and table == "ARTICLE":
        name = sandbox.profile.article_image_name_field
        if isinstance(row.get(name), str) and row[name]:
            row = {**row, name: {"name": row[name]}}
    if not quirks.padded_strings:
        return row
    specs = sandbox.dictionary.fields(table)
    return {
        k: (v.ljust(specs[k].length) if isinstance(v, str) and k in specs and specs[k].type == "C" else v)
        for k, v in row.items()
    }
