"""A settings model's complaint in the user's language: pydantic's own errors by their type and context
(missing, not a number, out of range, too long, not one of the choices, …), and our validators' refusals
(`koppel.reasons.invalid`) by the reason they carry. Anything else is shown as pydantic said it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext, ngettext
from pydantic_core import ErrorDetails

from koppel.reasons import SETTING_ERROR, Reason
from koppel.reasons_shown import translated


def _counted(singular: str, plural: str, name: str) -> Callable[[Mapping[str, Any]], str]:
    def said(ctx: Mapping[str, Any]) -> str:
        count = ctx.get(name)
        number = count if isinstance(count, int) else 2
        return ngettext(singular, plural, number) % {name: count}
    return said


def _plain(message: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda ctx: gettext(message) % {key: _shown(value) for key, value in ctx.items()}


def _shown(value: Any) -> str:
    # pydantic lists the allowed values as "'a', 'b' or 'c'": the "or" is English, a comma reads in any language
    return str(value).replace("' or '", "', '")


BUILT_IN: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": _plain("This setting is required."),
    "extra_forbidden": _plain("This setting is not known."),
    "int_parsing": _plain("Enter a whole number."),
    "int_type": _plain("Enter a whole number."),
    "int_from_float": _plain("Enter a whole number."),
    "float_parsing": _plain("Enter a number."),
    "float_type": _plain("Enter a number."),
    "decimal_parsing": _plain("Enter a number."),
    "decimal_type": _plain("Enter a number."),
    "finite_number": _plain("Enter a number."),
    "decimal_max_digits": _counted("Enter at most %(max_digits)s digit.", "Enter at most %(max_digits)s digits.",
                                   "max_digits"),
    "decimal_max_places": _counted("Enter at most %(decimal_places)s decimal.",
                                   "Enter at most %(decimal_places)s decimals.", "decimal_places"),
    "decimal_whole_digits": _counted("Enter at most %(whole_digits)s digit before the decimal point.",
                                     "Enter at most %(whole_digits)s digits before the decimal point.",
                                     "whole_digits"),
    "bool_parsing": _plain("Choose yes or no."),
    "bool_type": _plain("Choose yes or no."),
    "string_type": _plain("Enter text."),
    "string_too_short": _counted("Enter at least %(min_length)s character.",
                                 "Enter at least %(min_length)s characters.", "min_length"),
    "string_too_long": _counted("Enter at most %(max_length)s character.", "Enter at most %(max_length)s characters.",
                                "max_length"),
    "string_pattern_mismatch": _plain("This does not have the expected form (%(pattern)s)."),
    "too_short": _counted("Give at least %(min_length)s value.", "Give at least %(min_length)s values.",
                          "min_length"),
    "too_long": _counted("Give at most %(max_length)s value.", "Give at most %(max_length)s values.", "max_length"),
    "list_type": _plain("Give a list of values."),
    "dict_type": _plain("Give a table of keys and values."),
    "model_type": _plain("Give a group of settings."),
    "model_attributes_type": _plain("Give a group of settings."),
    "literal_error": _plain("Choose one of %(expected)s."),
    "enum": _plain("Choose one of %(expected)s."),
    "greater_than": _plain("Enter a number above %(gt)s."),
    "greater_than_equal": _plain("Enter %(ge)s or more."),
    "less_than": _plain("Enter a number below %(lt)s."),
    "less_than_equal": _plain("Enter %(le)s or less."),
    "multiple_of": _plain("Enter a multiple of %(multiple_of)s."),
    "date_parsing": _plain("Enter a date as YYYY-MM-DD."),
    "date_type": _plain("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": _plain("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": _plain("Enter a date as YYYY-MM-DD."),
    "url_parsing": _plain("Enter a web address."),
    "url_type": _plain("Enter a web address."),
    "url_scheme": _plain("Enter a web address starting with %(expected_schemes)s."),
}


def problem(error: ErrorDetails) -> str:
    """What is wrong with a setting, in the active language."""
    ctx = error.get("ctx") or {}
    if error["type"] == SETTING_ERROR and isinstance(ctx.get("reason"), Reason):
        return translated(ctx["reason"])
    said = BUILT_IN.get(error["type"])
    if said is None:
        return str(error["msg"]).removeprefix("Value error, ")
    try:
        return said(ctx)
    except (KeyError, TypeError, ValueError):  # a context without the value the sentence names
        return str(error["msg"])
