"""Why a record went the way it did, in a form the dashboard can show in the user's language.

A `Reason` is the English text itself (a `str`: the CLI, logs, DBOS and the activity log's `reason`
read it as before) that also remembers how it was made: an English template with `{name}` fields and
the values that filled them. The dashboard translates the template and fills in the same values, so an
order number stays an order number in every language. A value may itself be a reason (a sentence
inside a sentence, or a word such as "invoice"): it is translated too.

    reason("Order {order} is a credit order.", order="100234")

A settings model refuses a value with `invalid(reason(…))`: a pydantic error whose English message is the
reason's text and which carries the reason itself, so the settings pages show it translated too.

Every layer may import this module; it imports nothing of Koppel and nothing of Django.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import PydanticCustomError

SETTING_ERROR = "koppel_setting"  # the pydantic error type of `invalid`; its ctx["reason"] is the Reason

Value = str | int | float | bool | None  # what a field may hold besides another reason


class Reason(str):
    """English text that remembers its `template` (English, `{name}` fields) and `params`."""

    template: str
    params: dict[str, Reason | Value]

    def __new__(cls, template: str, params: Mapping[str, object] | None = None) -> Reason:
        values = {name: _value(value) for name, value in (params or {}).items()}
        missing = set(fields(template)) - set(values)
        if missing:
            raise ValueError(f"reason {template!r} needs a value for {', '.join(sorted(missing))}")
        self = super().__new__(cls, template.format_map(values))
        self.template = template
        self.params = values
        return self

    def as_args(self) -> dict[str, Any]:
        """The JSON form kept next to the text: {"template": …, "params": {name: value or a reason's form}}."""
        return {"template": self.template,
                "params": {name: value.as_args() if isinstance(value, Reason) else value
                           for name, value in self.params.items()}}

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles keep the template (dataclasses.asdict copies)
        return (Reason, (self.template, self.params))

    def __deepcopy__(self, memo: dict[int, Any]) -> Reason:
        return self  # immutable, like str


def reason(template: str, /, **params: object) -> Reason:
    """A reason: `template` is the English text with `{name}` fields, filled from `params`.

    Fields are plain names (no `!r`, no `:.2f`): format a value before passing it, so every language
    shows it the same. Values that are not numbers or text are kept as their text.
    """
    return Reason(template, params)


def invalid(why: Reason) -> PydanticCustomError:
    """A settings model's refusal (raise it in a validator): its message is the English text, its context
    the reason, which the settings pages translate."""
    return PydanticCustomError(SETTING_ERROR, "{reason}", {"reason": why})


def from_args(text: str, args: Mapping[str, Any] | None) -> str:
    """A reason again from its stored form (e.g. read back from a run's JSON output); `text` when it has
    none or the form does not fit."""
    if not args or not isinstance(args.get("template"), str):
        return text
    try:
        return _rebuild(args)
    except (ValueError, KeyError, TypeError, IndexError):
        return text


def as_args(text: str) -> dict[str, Any] | None:
    """The stored form of a reason; None for text that was not made as a reason."""
    return text.as_args() if isinstance(text, Reason) else None


def fields(template: str) -> list[str]:
    """The names of a template's fields; ValueError for a field with a conversion, a format or an index."""
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"reason {template!r}: field {{{name}}} must be a plain name (format the value first)")
        names.append(name)
    return names


def worded(template: str) -> bool:
    """A template with words to translate (one of only fields and punctuation, such as `joined`'s, reads the
    same in every language)."""
    return bool(re.search(r"[^\W\d_]", re.sub(r"\{\w+\}", "", template)))


def _rebuild(args: Mapping[str, Any]) -> Reason:
    params = {name: _rebuild(value) if isinstance(value, Mapping) else value
              for name, value in dict(args.get("params") or {}).items()}
    return Reason(str(args["template"]), params)


def reason_in(error: BaseException) -> str:
    """What an error says: the reason it was made with (a Reason, translatable), else its text."""
    if isinstance(error, PydanticCustomError) and isinstance((error.context or {}).get("reason"), Reason):
        return (error.context or {})["reason"]  # type: ignore[no-any-return]
    return error.args[0] if len(error.args) == 1 and isinstance(error.args[0], Reason) else str(error)


def _value(value: object) -> Reason | Value:
    if isinstance(value, BaseException):  # an error made with a reason says that reason
        value = reason_in(value)
    if isinstance(value, Reason) or value is None or type(value) in (str, int, float, bool):
        return value  # type: ignore[return-value]
    return str(value)  # a Decimal, a date, an enum, a str subclass: its text, as the English shows it


def joined(items: Sequence[str], separator: str = "; ", *, before: str = "") -> Reason:
    """Reasons (or texts) one after another, each translated on its own: `before` each, `separator`
    between them. The punctuation is the same in every language (its template has no words)."""
    names = [f"item{number}" for number in range(len(items))]
    punctuation = before.replace("{", "{{").replace("}", "}}")
    template = separator.replace("{", "{{").replace("}", "}}").join(punctuation + "{" + name + "}" for name in names)
    return Reason(template, dict(zip(names, items, strict=True)))


# A param a reason may carry beside the fields of its text: the setting that fixes it (the dashboard links to
# it). No template uses it as a field, so no language shows it.
FIX_SETTING = "fix_setting"


def fixed_in(setting: str | None, why: str) -> str:
    """`why`, remembering the setting that fixes it; as it is without a setting, or for a plain text."""
    if not setting or not isinstance(why, Reason):
        return why
    return Reason(why.template, {**why.params, FIX_SETTING: setting})


def setting_to_fix(args: Mapping[str, Any] | None) -> str:
    """The setting that fixes a reason, from its stored form ("" when it names none)."""
    params = (args or {}).get("params")
    found = params.get(FIX_SETTING) if isinstance(params, Mapping) else None
    return found if isinstance(found, str) else ""
