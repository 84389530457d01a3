"""How the datamapper says in the reader's language what the maps hold: the default maps' descriptions and
field notes (English in the map files, which must not import Django: their Dutch and German are in this
part's catalogue, keyed by the English text), a target field's kind, a transform step in words, and the
record a preview is for.

The technical form of a transform (its name and arguments, as typed in the form's JSON list) stays on the
page beside the words, so what a person reads there is what they can type."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext_lazy

from koppel.mapping import TargetField, TransformStep

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
KIND_WORDS: dict[str, Promise] = {
    "text": gettext_lazy("text"),
    "memo": gettext_lazy("long text"),
    "number": gettext_lazy("number"),
    "integer": gettext_lazy("whole number"),
    "money": gettext_lazy("amount"),
    "date": gettext_lazy("date"),
    "datetime": gettext_lazy("date and time"),
    "bool": gettext_lazy("yes/no"),
}

# A transform step in words; `%(…)s` are its arguments as `_argument` writes them.
STEP_WORDS: dict[str, Promise] = {
    "trim": gettext_lazy("spaces around removed"),
    "upper": gettext_lazy("in capitals"),
    "lower": gettext_lazy("in lower case"),
    "truncate": gettext_lazy("cut to %(length)s characters"),
    "max_length": gettext_lazy("at most %(length)s characters (a longer value is refused)"),
    "replace": gettext_lazy("%(old)s replaced by %(new)s"),
    "email": gettext_lazy("checked as an e-mail address"),
    "normalise_postcode": gettext_lazy("postcode written as its country writes it (by %(country)s)"),
    "country_code": gettext_lazy("as a two-letter country code"),
    "gtin": gettext_lazy("EAN with its check digit checked"),
    "to_decimal": gettext_lazy("as a number"),
    "round": gettext_lazy("rounded to %(places)s decimals"),
    "vat_incl_to_excl": gettext_lazy("VAT taken off at the rate %(rate)s"),
    "vat_excl_to_incl": gettext_lazy("VAT added at the rate %(rate)s"),
    "between": gettext_lazy("between %(minimum)s and %(maximum)s (another value is refused)"),
    "add": gettext_lazy("plus %(value)s"),
    "subtract": gettext_lazy("minus %(value)s"),
    "multiply": gettext_lazy("times %(value)s"),
    "divide": gettext_lazy("divided by %(value)s"),
    "date_format": gettext_lazy("date written as %(format)s"),
    "lookup": gettext_lazy("looked up in the table %(table)s (integration settings)"),
    "default": gettext_lazy("if empty: %(value)s"),
    "concat": gettext_lazy("followed by %(values)s"),
    "coalesce": gettext_lazy("if empty: %(values)s"),
}
# split_house_number says which part it keeps.
HOUSE_NUMBER_PARTS: dict[str, Promise] = {
    "street": gettext_lazy("the street, without the house number"),
    "number": gettext_lazy("the house number"),
    "suffix": gettext_lazy("the house number's suffix (A, bis, -3)"),
}


# MijnWebwinkel's objects a map writes, by the name the API gives them (AccountView's tables keep their codes).
SHOP_OBJECTS: dict[str, Promise] = {
    "article": pgettext_lazy("shop object", "article"),
    "category": pgettext_lazy("shop object", "category"),
}


def target_name(system: str, target: str) -> str:
    """What a map writes, as its heading names it: "CONTACT" (an AccountView table), "artikel"."""
    return str(SHOP_OBJECTS.get(target, target)) if system == "mijnwebwinkel" else target


def said(text: str) -> str:
    """A default map's description or field note in the active language (the English when there is none)."""
    return gettext(text) if text else ""


def kind_text(field: TargetField) -> str:
    """A target field's kind, with its length: "text (40)"."""
    kind = str(KIND_WORDS.get(field.kind, field.kind))
    return f"{kind} ({field.max_length})" if field.max_length else kind


def target_text(field: TargetField) -> str:
    """A target field as the form's list offers it: "ACCT_NAME — text, at most 40 characters, mandatory"."""
    parts = [str(KIND_WORDS.get(field.kind, field.kind))]
    if field.max_length:
        parts.append(ngettext("at most %(n)s character", "at most %(n)s characters", field.max_length)
                     % {"n": field.max_length})
    if field.mandatory:
        parts.append(gettext("mandatory"))
    return f"{field.name} — {', '.join(parts)}"


def step_text(step: TransformStep) -> str:
    """A transform step in words ("cut to 40 characters"); its technical form when it has no words yet."""
    if step.name == "split_house_number" and step.args.get("part") in HOUSE_NUMBER_PARTS:
        return str(HOUSE_NUMBER_PARTS[step.args["part"]])
    words = STEP_WORDS.get(step.name)
    args = {name: _argument(value) for name, value in step.args.items()}
    if step.name == "replace" and not step.args.get("new"):
        return gettext("%(old)s removed") % args
    if words is None:
        return step_code(step)
    try:
        return str(words) % _Blank(args)
    except (TypeError, ValueError):
        return step_code(step)


def step_code(step: TransformStep) -> str:
    """A transform step as the form's JSON list writes it."""
    return json.dumps(step.model_dump(exclude_defaults=True) if step.args else step.name, ensure_ascii=False)


def _argument(value: Any) -> str:
    """An argument as a person reads it: a field read from the record by its path, a number as it is, other text
    in quotes (so a space shows), a list joined with "or"."""
    if isinstance(value, Mapping) and set(value) == {"path"}:
        return str(value["path"])
    if isinstance(value, list | tuple):
        return f" {gettext('or')} ".join(_argument(v) for v in value)
    if isinstance(value, str) and not NUMBER.fullmatch(value):
        return f"“{value}”"
    return str(value)


class _Blank(dict[str, str]):
    """Arguments a step's words name but the step leaves out read as "nothing"."""

    def __missing__(self, key: str) -> str:
        return gettext("nothing")


SENT_FOR: dict[tuple[str, bool], Promise] = {
    ("order", False): gettext_lazy("What would be sent for order %(key)s:"),
    ("order", True): gettext_lazy("What would be sent for the example order %(key)s:"),
    ("product", False): gettext_lazy("What would be sent for product %(key)s:"),
    ("product", True): gettext_lazy("What would be sent for the example product %(key)s:"),
    ("category", False): gettext_lazy("What would be sent for article group %(key)s:"),
    ("category", True): gettext_lazy("What would be sent for the example article group %(key)s:"),
}


def sent_for(entity: str, key: str, example: bool) -> str:
    """The preview's heading: which record it shows."""
    return str(SENT_FOR[(entity, example)]) % {"key": key}
