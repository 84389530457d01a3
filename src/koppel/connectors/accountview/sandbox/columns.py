"""What a Visual FoxPro column holds, and how it stores what a client sends: text in the tables' Windows code
page, numbers within their width and decimals, dates without a time, logicals. A value a column cannot
hold raises `ColumnError`, which the sandbox answers as AccountView would, naming the field (NOTES §6.2,
§7). The code page, decimals and NUL rules are assumptions, documented in README.md ("Columns").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from koppel.connectors.accountview.fields import FieldSpec

CURRENCY_LIMIT = Decimal("922337203685477.5807")  # FoxPro currency (Y): 8 bytes, 4 fixed decimals
INTEGER_LIMIT = 2**31 - 1  # FoxPro integer (I): 4 bytes


class ColumnError(ValueError):
    """A value the column cannot hold; the message says why, in Dutch and English."""

    def __init__(self, dutch: str, english: str) -> None:
        super().__init__(english)
        self.dutch, self.english = dutch, english


def decimals(spec: FieldSpec) -> int | None:
    """Decimals a numeric column keeps; None for doubles (B), which have no fixed number.

    The dictionary gives a numeric column's width but not its decimals. Currency keeps 4 (FoxPro's type);
    percentages keep 2 (their masks read `99.99`); quantities and weights follow the administration's
    quantity mask, assumed 3 (as the orders flow assumes); GRAY_SCORE's mask reads `99.9`; every other
    N column holds whole numbers.
    """
    if spec.type == "Y":
        return 4
    if spec.type == "I":
        return 0
    if spec.type != "N":
        return None
    if "PCT" in spec.name:
        return 2
    if "QTY" in spec.name or spec.name.endswith("_WGT"):
        return 3
    if spec.name == "GRAY_SCORE":
        return 1
    return 0


def is_empty(spec: FieldSpec, value: Any) -> bool:
    """FoxPro's EMPTY(): blank text, zero, false, no date. A mandatory field must not be empty."""
    if value is None:
        return True
    if spec.type in "CMDT":
        return str(value).strip() == ""
    if spec.type == "L":
        return value is False
    return bool(value == 0)


def default_value(spec: FieldSpec) -> Any:
    """What an unlisted column holds in a new row."""
    return {"N": 0.0, "Y": 0.0, "B": 0.0, "I": 0, "L": False}.get(spec.type, "")


def store(spec: FieldSpec, value: Any, *, code_page: str, truncate_at_nul: bool = False) -> Any:
    """The value as the column stores it; ColumnError when it cannot hold it."""
    if spec.type in "CM":
        return _text(spec, value, code_page=code_page, truncate_at_nul=truncate_at_nul)
    if spec.type in "NYBI":
        return _number(spec, value)
    if spec.type == "L":
        return _logical(value)
    if spec.type in "DT":
        return _when(spec, value)
    return value


def _invalid(value: Any, spec: FieldSpec) -> ColumnError:
    return ColumnError(
        f"heeft een ongeldige waarde '{value}' (type {spec.type})",
        f"has an invalid value '{value}' (type {spec.type})",
    )


def in_code_page(text: str, code_page: str) -> str:
    """Text as a table in this code page stores it: characters outside it become `?`, one per character,
    as Windows' conversion to a single-byte code page does."""
    return text.encode(code_page, errors="replace").decode(code_page)


def _upper(text: str, code_page: str) -> str:
    """FoxPro's UPPER() maps one character to one character within the code page (`ß` stays `ß`)."""
    out = []
    for char in text:
        up = char.upper()
        out.append(up if len(up) == 1 and in_code_page(up, code_page) == up else char)
    return "".join(out)


def _text(spec: FieldSpec, value: Any, *, code_page: str, truncate_at_nul: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | dict | list):
        raise _invalid(value, spec)
    text = in_code_page(str(value), code_page).rstrip()
    if "\x00" in text:
        if not truncate_at_nul:
            raise ColumnError("bevat een NUL-teken", "contains a NUL character")
        text = text.split("\x00", 1)[0].rstrip()
    return _upper(text, code_page) if spec.upper else text


def _number(spec: FieldSpec, value: Any) -> float | int:
    if value in (None, ""):
        return 0 if spec.type == "I" else 0.0
    if isinstance(value, bool | dict | list):
        raise _invalid(value, spec)
    try:
        exact = Decimal(str(value).strip())
    except InvalidOperation:
        raise _invalid(value, spec) from None
    if not exact.is_finite():
        raise _invalid(value, spec)
    kept = decimals(spec)
    if kept is not None:
        given = -exact.normalize().as_tuple().exponent  # type: ignore[operator]
        if given > kept:
            if spec.type == "I":
                raise ColumnError("moet een geheel getal zijn", "must be a whole number")
            raise ColumnError(
                f"heeft {given} decimalen; het veld bewaart er {kept}",
                f"has {given} decimals; the field keeps {kept}",
            )
    if spec.type == "Y" and abs(exact) > CURRENCY_LIMIT:
        raise ColumnError("is te groot voor een bedrag", "is too large for a currency amount")
    if spec.type == "I":
        if abs(exact) > INTEGER_LIMIT:
            raise ColumnError("is te groot voor een geheel getal", "is too large for an integer")
        return int(exact)
    if spec.type == "N" and kept is not None:
        shown = f"{exact:.{kept}f}"
        if len(shown) > spec.length:
            raise ColumnError(
                f"'{value}' past niet: het veld is {spec.length} posities breed",
                f"'{value}' does not fit: the field is {spec.length} positions wide",
            )
    return float(exact)


def _logical(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, ""):
        return False
    text = str(value).strip().lower()
    if text in ("true", "1", ".t.", "t", "yes"):
        return True
    if text in ("false", "0", ".f.", "f", "no"):
        return False
    raise ColumnError(f"heeft een ongeldige waarde '{value}' (type L)", f"has an invalid value '{value}' (type L)")


def parse_when(value: Any) -> datetime | None:
    """ISO dates and datetimes (with or without `Z`/milliseconds) and FoxPro literals `{^2024-01-31}`."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    if text.startswith("{^") and text.endswith("}"):
        text = text[2:-1].strip()
    text = text.replace(" ", "T").rstrip("Z")
    if "+" in text[10:]:
        text = text[:10] + text[10:].split("+")[0]
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r}")


def format_when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S") if value else ""


def _when(spec: FieldSpec, value: Any) -> str:
    try:
        when = parse_when(value)
    except (ValueError, TypeError):
        raise _invalid(value, spec) from None
    if spec.type == "D" and when is not None and when.time() != datetime.min.time():
        # A date column has no time; midnight is how dates travel as datetimes, anything else is refused.
        raise ColumnError(
            f"is een datumveld en kan geen tijd bevatten ('{value}')",
            f"is a date field and cannot hold a time ('{value}')",
        )
    return format_when(when)
