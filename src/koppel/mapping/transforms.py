"""The whitelist of transforms a field map may use. Each is a pure function of a value and its arguments;
nothing else can be named in a map, so a map can never run arbitrary code.

Money is Decimal throughout: inputs are read from strings (a float is read through its shortest repr,
i.e. the digits the JSON held) and arithmetic never touches float. Rounding is ROUND_HALF_UP.
A transform that refuses a value raises MappingError saying why and what to do; the engine adds the
target field and source path. One that lets a doubtful value through returns it `Noted`, and the engine
puts the note on the record's warnings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from koppel.mapping import address
from koppel.mapping.errors import MappingError
from koppel.mapping.paths import read_path
from koppel.mapping.spec import PathRef, ValueTable
from koppel.reasons import reason, reason_in


@dataclass(frozen=True)
class Transform:
    name: str
    func: Callable[[Any, Any, Mapping[str, ValueTable]], Any]
    args_model: type[BaseModel]
    takes_empty: bool  # False: an empty value skips this transform and stays empty
    summary: str


TRANSFORMS: dict[str, Transform] = {}


@dataclass(frozen=True)
class Noted:
    """A value a transform let through with a note a person should see (a warning on the activity)."""

    value: Any
    note: str


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(Args):
    pass


def _transform(name: str, args: type[Args] = NoArgs, *, takes_empty: bool = False) -> Callable[..., Any]:
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        summary = (func.__doc__ or "").strip().splitlines()[0]
        TRANSFORMS[name] = Transform(name, func, args, takes_empty, summary)
        return func

    return register


# -- running ---------------------------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | dict | tuple) and not value


def check_step(name: str, args: Mapping[str, Any]) -> None:
    """Raise ValueError naming an unknown transform or a bad argument (before a map is saved or run)."""
    transform = _named(name)
    try:
        transform.args_model.model_validate(args)
    except ValidationError as exc:
        raise ValueError(f"transform {name!r}: {_describe(exc)}") from None


def _named(name: str) -> Transform:
    transform = TRANSFORMS.get(name)
    if transform is None:
        raise ValueError(f"unknown transform {name!r}; known transforms: {', '.join(sorted(TRANSFORMS))}")
    return transform


def run_transform(
    name: str,
    value: Any,
    args: Mapping[str, Any] | None = None,
    *,
    source: Any = None,
    tables: Mapping[str, ValueTable] | None = None,
) -> Any:
    """Apply one transform. `{"path": …}` arguments are read from `source` (the record being mapped)."""
    transform = _named(name)
    if is_empty(value) and not transform.takes_empty:
        return None
    resolved = {key: _resolve(arg, source) for key, arg in (args or {}).items()}
    try:
        parsed = transform.args_model.model_validate(resolved)
    except ValidationError as exc:
        raise _with_name(
            MappingError.of(
                reason("its arguments read from the record are not usable ({problem})", problem=_describe(exc)),
                reason("Check the fields the map reads its arguments from."),
                value=value,
            ),
            name,
        ) from None
    try:
        return transform.func(value, parsed, tables or {})
    except MappingError as exc:
        raise _with_name(exc, name) from None


def _resolve(arg: Any, source: Any) -> Any:
    if isinstance(arg, PathRef) or (isinstance(arg, dict) and set(arg) == {"path"}):
        return read_path(source, arg.path if isinstance(arg, PathRef) else arg["path"])
    if isinstance(arg, list):
        return [_resolve(item, source) for item in arg]
    return arg


def _with_name(exc: MappingError, name: str) -> MappingError:
    return MappingError([replace(p, transform=p.transform or name) for p in exc.problems])


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"argument {'.'.join(str(p) for p in err['loc']) or '(all)'}: {err['msg']}" for err in exc.errors()
    )


def _refuse(reason: str, hint: str, value: Any) -> MappingError:
    return MappingError.of(reason, hint, value=value)


def _several(value: list[Any]) -> MappingError:
    return _refuse(
        reason("expected one value but got {count}: {value}", count=len(value), value=repr(value)),
        reason("An order line priced at several VAT rates must be split into one line per rate before "
               "mapping; otherwise check the path the map reads."),
        value,
    )


# -- text -------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise _refuse(
        reason("expected text but got {kind} {value}", kind=type(value).__name__, value=repr(value)),
        reason("Map a text field here, or adjust the map."),
        value,
    )


@_transform("trim")
def trim(value: Any, args: NoArgs, tables: Mapping[str, ValueTable]) -> str:
    """Strip leading and trailing whitespace and collapse runs of inner whitespace."""
    return " ".join(_text(value).split())


@_transform("upper")
def upper(value: Any, args: NoArgs, tables: Mapping[str, ValueTable]) -> str:
    """Upper-case."""
    return _text(value).upper()


@_transform("lower")
def lower(value: Any, args: NoArgs, tables: Mapping[str, ValueTable]) -> str:
    """Lower-case."""
    return _text(value).lower()


class LengthArgs(Args):
    length: int = Field(ge=1)


@_transform("truncate", LengthArgs)
def truncate(value: Any, args: LengthArgs, tables: Mapping[str, ValueTable]) -> str:
    """Cut to `length` characters: an explicit choice that losing the end is acceptable (names, streets)."""
    return _text(value)[: args.length].rstrip()


@_transform("max_length", LengthArgs)
def max_length(value: Any, args: LengthArgs, tables: Mapping[str, ValueTable]) -> str:
    """Refuse a value longer than `length` where cutting it would make it wrong (e-mail, VAT number)."""
    text = _text(value)
    if len(text) > args.length:
        raise _refuse(
            reason("{value} is {length} characters, AccountView allows {limit}", value=repr(text), length=len(text),
                   limit=args.length),
            reason("Shorten it in the shop."),
            value,
        )
    return text


class ReplaceArgs(Args):
    old: str = Field(min_length=1)
    new: str = ""


@_transform("replace", ReplaceArgs)
def replace_text(value: Any, args: ReplaceArgs, tables: Mapping[str, ValueTable]) -> str:
    """Replace every `old` with `new` (plain text, not a pattern), e.g. spaces out of an IBAN."""
    return _text(value).replace(args.old, args.new)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")


@_transform("email")
def email(value: Any, args: NoArgs, tables: Mapping[str, ValueTable]) -> str:
    """Trim and lower-case an e-mail address; refuse one that is not an address."""
    text = _text(value).strip().lower()
    if not _EMAIL.fullmatch(text):
        raise _refuse(
            reason("{value} is not an e-mail address", value=repr(value)),
            reason("Correct the customer's e-mail address in the shop."), value
        )
    return text


# -- addresses --------------------------------------------------------------------------------------------


class SplitArgs(Args):
    part: Literal["street", "number", "suffix"]
    street_key: str = "street"
    number_key: str = "number"


@_transform("split_house_number", SplitArgs)
def split_house_number(value: Any, args: SplitArgs, tables: Mapping[str, ValueTable]) -> str | Noted:
    """One part (street, number or suffix) of an address object's street and house number (12A → 12, A).

    The value is the address object (`{street, number, …}`) or a single string such as `12A` or
    `Hoofdstraat 12A`. A house number that does not start with a number (`zie boven`) is not a reason to
    park an order: the street goes as it is, the number as typed in the suffix, with a warning.
    """
    if isinstance(value, Mapping):
        street, number = value.get(args.street_key), value.get(args.number_key)
    else:
        text = _text(value)
        street, number = (None, text) if text.strip()[:1].isdigit() else (text, None)
    try:
        parts = address.split_house_number(street, number)
    except ValueError as exc:
        if args.part == "number":
            return Noted("", reason("{problem}; the street and house number go as typed", problem=exc))
        typed = street if args.part == "street" else number
        return " ".join(_text(typed or "").split())
    return {"street": parts.street, "number": parts.number_text, "suffix": parts.suffix}[args.part]


class PostcodeArgs(Args):
    # a code or name, or a list of them (read from the record) of which the first non-empty counts
    country: str | PathRef | list[str | PathRef | None] | None = None
    # a postcode that does not fit its country's pattern: sent as typed (trimmed) with a warning, or refused
    invalid: Literal["keep", "refuse"] = "keep"


@_transform("normalise_postcode", PostcodeArgs)
def normalise_postcode(value: Any, args: PostcodeArgs, tables: Mapping[str, ValueTable]) -> str | Noted:
    """Postcode in the country's format: NL `1234ab` → `1234 AB`, BE 4 digits, DE 5 digits; others trimmed.
    One that does not fit its country goes as typed, trimmed, with a warning (address clean-up alone never
    parks an order), unless `invalid = "refuse"`."""
    candidates = args.country if isinstance(args.country, list) else [args.country]
    named = next((c for c in candidates if isinstance(c, str) and c.strip()), None)
    try:
        country = address.country_code(named) if named else None
    except ValueError:
        country = None  # an unknown country is the country field's problem, not the postcode's
    try:
        return address.normalise_postcode(_text(value), country)
    except ValueError as exc:
        if args.invalid == "refuse":
            raise _refuse(reason_in(exc), reason("Correct the postcode (or the country) in the order."),
                          value) from None
        typed = " ".join(_text(value).split())
        return Noted(typed, reason("{problem}; sent as typed: {typed}", problem=exc, typed=repr(typed)))


@_transform("country_code")
def country_code(value: Any, args: NoArgs, tables: Mapping[str, ValueTable]) -> str:
    """ISO 3166 two-letter code from a code (NL, NLD, nl) or a name (Nederland, Deutschland, Belgique)."""
    try:
        return address.country_code(_text(value))
    except ValueError as exc:
        raise _refuse(
            reason_in(exc), reason("Correct the country in the order, or use its two-letter ISO code."), value
        ) from None


@_transform("gtin")
def gtin(value: Any, args: NoArgs, tables: Mapping[str, ValueTable]) -> str:
    """An EAN/GTIN (8, 12, 13 or 14 digits, spaces removed) whose check digit is right; refuse others."""
    code = _text(value).replace(" ", "")
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        raise _refuse(reason("{code} is not an EAN (8, 12, 13 or 14 digits)", code=repr(code)),
                      reason("Correct the EAN at its source."), value)
    body, check = code[:-1], int(code[-1])
    total = sum(int(digit) * (3 if position % 2 == 0 else 1) for position, digit in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        raise _refuse(
            reason("{code} has a wrong check digit (expected {digit})", code=repr(code), digit=(10 - total % 10) % 10),
            reason("Correct the EAN at its source: a digit was probably typed wrong."),
            value,
        )
    return code


# -- numbers and money ------------------------------------------------------------------------------------


def as_decimal(value: Any) -> Decimal:
    """A Decimal from a Decimal, int or numeric string; a float is read through its repr."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, list):
        raise _several(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _refuse(reason("expected a number but got {value}", value=repr(value)),
                      reason("Check the field the map reads."), value)
    text = repr(value) if isinstance(value, float) else str(value).strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # a Dutch decimal comma: "12,50"
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _refuse(reason("{value} is not a number", value=repr(value)), reason("Check the field the map reads."),
                      value) from None
    if not number.is_finite():
        raise _refuse(reason("{value} is not a finite number", value=repr(value)),
                      reason("Check the field the map reads."), value)
    return number


def quantize(number: Decimal, places: int | None) -> Decimal:
    return number if places is None else number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


class DecimalArgs(Args):
    places: int | None = Field(default=None, ge=0, le=10)


@_transform("to_decimal", DecimalArgs)
def to_decimal(value: Any, args: DecimalArgs, tables: Mapping[str, ValueTable]) -> Decimal:
    """Read a number as a Decimal, optionally rounded to `places`."""
    return quantize(as_decimal(value), args.places)


class RoundArgs(Args):
    places: int = Field(default=2, ge=0, le=10)


@_transform("round", RoundArgs)
def round_(value: Any, args: RoundArgs, tables: Mapping[str, ValueTable]) -> Decimal:
    """Round a Decimal to `places` decimals, half up (2.675 → 2.68)."""
    return quantize(as_decimal(value), args.places)


class VatArgs(Args):
    rate: Decimal | PathRef
    places: int | None = Field(default=2, ge=0, le=10)


def _rate_factor(args: VatArgs, value: Any) -> Decimal:
    rate = as_decimal(args.rate)
    if rate < 0 or rate >= 100:
        raise _refuse(
            reason("VAT rate {rate} is not a percentage between 0 and 100", rate=rate),
            reason("Check the VAT rate the map reads."),
            value,
        )
    return 1 + rate / 100


@_transform("vat_incl_to_excl", VatArgs)
def vat_incl_to_excl(value: Any, args: VatArgs, tables: Mapping[str, ValueTable]) -> Decimal:
    """Amount excluding VAT from an amount including VAT at `rate` percent, rounded to `places`."""
    return quantize(as_decimal(value) / _rate_factor(args, value), args.places)


@_transform("vat_excl_to_incl", VatArgs)
def vat_excl_to_incl(value: Any, args: VatArgs, tables: Mapping[str, ValueTable]) -> Decimal:
    """Amount including VAT from an amount excluding VAT at `rate` percent, rounded to `places`."""
    return quantize(as_decimal(value) * _rate_factor(args, value), args.places)


class BetweenArgs(Args):
    minimum: Decimal | None = None
    maximum: Decimal | None = None


@_transform("between", BetweenArgs)
def between(value: Any, args: BetweenArgs, tables: Mapping[str, ValueTable]) -> Decimal:
    """Refuse a number below `minimum` or above `maximum` (a negative or absurd price)."""
    number = as_decimal(value)
    if args.minimum is not None and number < args.minimum:
        raise _refuse(reason("{number} is below {minimum}", number=number, minimum=args.minimum),
                      reason("Correct the amount at its source."), value)
    if args.maximum is not None and number > args.maximum:
        raise _refuse(
            reason("{number} is above {maximum}", number=number, maximum=args.maximum),
            reason("Correct the amount at its source, or raise the maximum in the mapping."),
            value,
        )
    return number


class ArithmeticArgs(Args):
    value: Decimal | PathRef
    places: int | None = Field(default=None, ge=0, le=10)


def _arithmetic(name: str, operate: Callable[[Decimal, Decimal], Decimal], summary: str) -> None:
    def apply(value: Any, args: ArithmeticArgs, tables: Mapping[str, ValueTable]) -> Decimal:
        operand = as_decimal(args.value)
        if name == "divide" and operand == 0:
            raise _refuse(reason("division by zero"), reason("Check the quantity or amount the map divides by."),
                          value)
        return quantize(operate(as_decimal(value), operand), args.places)

    apply.__doc__ = summary
    _transform(name, ArithmeticArgs)(apply)


_arithmetic("add", lambda a, b: a + b, "Add `value` (Decimal), optionally rounded to `places`.")
_arithmetic("subtract", lambda a, b: a - b, "Subtract `value` (Decimal), optionally rounded to `places`.")
_arithmetic("multiply", lambda a, b: a * b, "Multiply by `value` (Decimal), optionally rounded to `places`.")
_arithmetic("divide", lambda a, b: a / b, "Divide by `value` (Decimal), optionally rounded to `places`.")


# -- dates ------------------------------------------------------------------------------------------------


class DateArgs(Args):
    format: str = "%Y-%m-%d"
    input_format: str | None = None  # None: ISO 8601 (2024-03-06, 2024-03-06T14:02:11, with or without zone)


@_transform("date_format", DateArgs)
def date_format(value: Any, args: DateArgs, tables: Mapping[str, ValueTable]) -> str:
    """Reformat a date or date-time (ISO 8601 in by default) with a strftime `format`."""
    text = _text(value).strip()
    try:
        if args.input_format:
            moment = datetime.strptime(text, args.input_format)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _refuse(reason("{value} is not a date", value=repr(text)), reason("Check the date in the order."),
                      value) from None
    return moment.strftime(args.format)


# -- values from elsewhere --------------------------------------------------------------------------------


class LookupArgs(Args):
    table: str


@_transform("lookup", LookupArgs, takes_empty=True)
def lookup(value: Any, args: LookupArgs, tables: Mapping[str, ValueTable]) -> Any:
    """Translate a value through a value table (mapping table, default value, force default)."""
    table = tables.get(args.table)
    if table is None:
        raise _refuse(
            reason("value table {table} is not set up for this integration", table=repr(args.table)),
            reason("Add the {table} table to the integration's settings.", table=repr(args.table)),
            value,
        )
    if table.force:
        return table.default
    if isinstance(value, list) and value:
        raise _several(value)
    if not is_empty(value):
        found, result = _table_entry(table, value)
        if found:
            return result
    if table.default is not None:
        return table.default
    if is_empty(value):
        return None
    raise _refuse(
        reason("{value} is not in value table {table} and the table has no default", value=repr(value),
               table=repr(args.table)),
        reason("Add {value} to the {table} table, or give the table a default value.", value=repr(value),
               table=repr(args.table)),
        value,
    )


def _table_entry(table: ValueTable, value: Any) -> tuple[bool, Any]:
    key = value if isinstance(value, str) else str(value)
    if key in table.entries:
        return True, table.entries[key]
    folded = key.strip().casefold()
    for entry_key, result in table.entries.items():
        if entry_key.strip().casefold() == folded:
            return True, result
    number = _number_or_none(key)
    if number is not None:
        for entry_key, result in table.entries.items():
            if _number_or_none(entry_key) == number:
                return True, result
    return False, None


def _number_or_none(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class DefaultArgs(Args):
    value: JsonValue | PathRef


@_transform("default", DefaultArgs, takes_empty=True)
def default(value: Any, args: DefaultArgs, tables: Mapping[str, ValueTable]) -> Any:
    """`value` when the input is empty, else the input."""
    return args.value if is_empty(value) else value


class ConcatArgs(Args):
    values: list[JsonValue | PathRef] = []
    separator: str = " "
    skip_empty: bool = True


@_transform("concat", ConcatArgs, takes_empty=True)
def concat(value: Any, args: ConcatArgs, tables: Mapping[str, ValueTable]) -> str | None:
    """Join the input and `values` with `separator`, leaving out empty parts."""
    parts = (value if isinstance(value, list) else [value]) + list(args.values)
    texts = ["" if is_empty(p) else trim(p, NoArgs(), tables) for p in parts]
    if args.skip_empty:
        texts = [t for t in texts if t]
    return args.separator.join(texts) or None


class CoalesceArgs(Args):
    values: list[JsonValue | PathRef]


@_transform("coalesce", CoalesceArgs, takes_empty=True)
def coalesce(value: Any, args: CoalesceArgs, tables: Mapping[str, ValueTable]) -> Any:
    """The first non-empty of the input and `values`."""
    return next((v for v in [value, *args.values] if not is_empty(v)), None)


def transform_names() -> list[str]:
    return sorted(TRANSFORMS)
