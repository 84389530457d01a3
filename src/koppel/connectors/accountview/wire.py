"""The `accountviewdata` wire format: filters and query parameters for reads, the positional write body,
and tolerant decoding of answers (NOTES §5, §6, §7, §8).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from koppel.connectors.accountview.fields import DataDictionary

Row = dict[str, Any]

OPERATORS = (
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
MAX_FILTERS = 9


@dataclass(frozen=True)
class Filter:
    """One numbered filter. A list/tuple value becomes an IN-style `FilterIsListOfValues` filter."""

    field: str
    value: Any
    operator: str = "Equal"
    value_type: str | None = None  # C N D T; derived from the value when None

    def params(self, n: int) -> dict[str, str]:
        is_list = isinstance(self.value, list | tuple)
        values = list(self.value) if is_list else [self.value]
        value_type = self.value_type or _value_type(values[0] if values else "")
        return {
            f"FilterControlSource{n}": self.field,
            f"FilterOperator{n}": self.operator,
            f"FilterValueType{n}": value_type,
            f"FilterValue{n}": ",".join(filter_literal(v) for v in values),
            f"FilterIsListOfValues{n}": "true" if is_list else "false",
        }


def _value_type(value: Any) -> str:
    if isinstance(value, datetime):
        return "T"
    if isinstance(value, date):
        return "D"
    if isinstance(value, bool):
        return "L"
    if isinstance(value, int | float | Decimal):
        return "N"
    return "C"


def filter_literal(value: Any) -> str:
    """Dates as FoxPro literals (`{^2024-01-31}`, `{^2024-01-31 10:00:00}`), the rest as text."""
    if isinstance(value, datetime):
        return "{^" + value.strftime("%Y-%m-%d %H:%M:%S") + "}"
    if isinstance(value, date):
        return "{^" + value.isoformat() + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_params(
    business_object: str,
    *,
    fields: Sequence[str] | None,
    filters: Sequence[Filter],
    match_any: bool,
    sort: Sequence[str] | None,
    descending: bool,
    page_size: int,
    book_date: date | None,
) -> dict[str, str]:
    if len(filters) > MAX_FILTERS:
        raise ValueError(f"AccountView takes at most {MAX_FILTERS} filters per read")
    params: dict[str, str] = {"BusinessObject": business_object, "PageSize": str(page_size)}
    if fields:
        params["Fields"] = ",".join(fields)
    for n, flt in enumerate(filters, start=1):
        params.update(flt.params(n))
    if match_any:
        params["MatchAnyFilter"] = "true"
    if sort:
        params["SortFields"] = ",".join(sort)
        params["SortOrder"] = "Descending" if descending else "Ascending"
    if book_date:
        params["BookDate"] = book_date.isoformat()
    return params


def field_type(dictionary: DataDictionary, table: str, name: str, value: Any) -> str:
    spec = dictionary.field(table, name)
    if spec is not None:
        return "C" if spec.type == "M" else spec.type
    return {"T": "T", "D": "D", "L": "L", "N": "N"}.get(_value_type(value), "C")


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_body(
    dictionary: DataDictionary,
    business_object: str,
    table: str,
    header: Mapping[str, Any],
    details: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    book_date: date | None,
) -> dict[str, Any]:
    """One header row with its detail rows; columns in one stable order; RowId/HeaderId assigned here."""

    def definition(name: str, columns: list[str], sample: Mapping[str, Any], link: bool) -> dict[str, Any]:
        labels = [{"Name": "RowId", "FieldType": "C"}]
        if link:
            labels.append({"Name": "HeaderId", "FieldType": "C"})
        labels += [{"Name": c, "FieldType": field_type(dictionary, name, c, sample.get(c))} for c in columns]
        return {"Name": name, "Fields": labels}

    header_columns = list(header)
    body: dict[str, Any] = {
        "BusinessObject": business_object,
        "Table": {"Definition": definition(table, header_columns, header, link=False)},
        "TableData": {
            "Data": {"Rows": [{"Values": ["1", *(json_value(header[c]) for c in header_columns)]}]}
        },
    }
    if book_date:
        body["BookDate"] = book_date.isoformat() + "T00:00:00"
    if details:
        body["Table"]["DetailDefinitions"] = []
        body["TableData"]["DetailData"] = []
        for name, rows in details.items():
            columns = sorted({c for row in rows for c in row}, key=lambda c: _first_seen(rows, c))
            sample = {c: next((r[c] for r in rows if c in r), None) for c in columns}
            body["Table"]["DetailDefinitions"].append(definition(name, columns, sample, link=True))
            body["TableData"]["DetailData"].append(
                {
                    "Rows": [
                        {"Values": [str(i), "1", *(json_value(row.get(c)) for c in columns)]}
                        for i, row in enumerate(rows, start=1)
                    ]
                }
            )
    return body


def _first_seen(rows: Sequence[Mapping[str, Any]], column: str) -> tuple[int, int]:
    for i, row in enumerate(rows):
        if column in row:
            return (i, list(row).index(column))
    return (len(rows), 0)


# --- decoding -------------------------------------------------------------------------------------------


def error_message(body: Any) -> str | None:
    """A non-empty `ErrorMessage` is an error whatever the HTTP status (NOTES §8)."""
    if isinstance(body, Mapping):
        for key, value in body.items():
            if key.lower() == "errormessage" and value:
                return str(value)
    return None


def error_type(body: Any) -> str:
    if isinstance(body, Mapping):
        for key, value in body.items():
            if key.lower() == "errortype" and value:
                return str(value)
    return ""


_QUALIFIED = re.compile(r"\b([A-Z][A-Z0-9_]*)\.([A-Z][A-Z0-9_]*)\b")


def field_in_message(dictionary: DataDictionary, message: str) -> str | None:
    """The first `TABLE.FIELD` in an error message that the dictionary knows."""
    for table, name in _QUALIFIED.findall(message.upper()):
        if dictionary.field(table, name) is not None:
            return f"{table}.{name}"
    return None


_SCALARS = frozenset({int, float, bool, type(None)})


def clean(value: Any) -> Any:
    """Right-trim padded character values; recurse into nested rows. Decoded JSON holds only dicts, lists and
    scalars, so the checks are on those types (an abstract `Mapping` check costs more than the trimming, and
    a stock read cleans 100,000 rows)."""
    kind = type(value)
    if kind is str:
        return value.rstrip()
    if kind is dict:
        return {(k if k.endswith("_Id") else k.upper()): clean(v) for k, v in value.items()}
    if kind is list:
        return [clean(v) for v in value]
    if kind in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return {str(k).upper() if not str(k).endswith("_Id") else str(k): clean(v) for k, v in value.items()}
    return value


def table_rows(body: Any, table: str) -> list[Row]:
    """Rows of `table` from an answer: tolerate a missing key, another letter case, a single object."""
    if not isinstance(body, Mapping):
        return []
    found = next((v for k, v in body.items() if str(k).upper() == table.upper()), None)
    if found is None:
        return []
    if isinstance(found, Mapping):
        found = [found]
    return [clean(row) for row in found if isinstance(row, Mapping)]


def nest_details(body: Any, header: str, details: Sequence[str]) -> list[Row]:
    """Header rows with their detail rows attached under the detail table's name (linked by `<HEADER>_Id`)."""
    headers = table_rows(body, header)
    link = f"{header}_Id"
    for detail in details:
        by_parent: dict[Any, list[Row]] = {}
        for row in table_rows(body, detail):
            by_parent.setdefault(row.get(link), []).append(row)
        for index, row in enumerate(headers):
            row[detail] = by_parent.get(row.get(link, index), [])
    return headers


def parse_json(raw: bytes) -> Any:
    return json.loads(raw) if raw.strip() else {}


def parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    text = str(value).strip().rstrip("Z")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None
