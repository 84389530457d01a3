"""Which shop product an AccountView article belongs to, and with which option values: the grouping rule of
the settings (a parent-code field, a code pattern, or a mapping table; AccountView has no variant concept),
and the check of a whole variant group before anything of it is written.

Pure: articles in, places and reasons out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from koppel.errors import NeedsAttention
from koppel.flows.products_settings import Grouping
from koppel.reasons import joined, reason


@dataclass(frozen=True)
class Place:
    """Where an article goes: the product's key (its own code for a simple article, its parent's code for a
    variant) and, for a variant, its value per option list."""

    product: str
    options: dict[str, str] = field(default_factory=dict)
    variant: bool = False


def code_of(article: Mapping[str, Any]) -> str:
    return str(article.get("ART_CODE") or "").strip().upper()


def _text(article: Mapping[str, Any], name: str) -> str:
    value = article.get(name)
    return "" if value is None else str(value).strip()


class Grouper:
    """The settings' grouping rule, ready to place articles."""

    def __init__(self, grouping: Grouping) -> None:
        self.grouping = grouping
        self.pattern = re2.compile(grouping.code_pattern) if grouping.rule == "code_pattern" else None

    @property
    def enabled(self) -> bool:
        return self.grouping.rule != "none"

    def fields(self) -> list[str]:
        """The ARTICLE fields the rule reads besides the code."""
        names = [a.field for a in self.grouping.attributes if a.field]
        if self.grouping.rule == "parent_field" and self.grouping.parent_field:
            names.insert(0, self.grouping.parent_field)
        return list(dict.fromkeys(names))

    def parent_of(self, article: Mapping[str, Any]) -> str | None:
        """The parent code of a variant article; None for a simple article (or a parent's own article)."""
        code = code_of(article)
        parent: str | None = None
        if self.grouping.rule == "parent_field" and self.grouping.parent_field:
            parent = _text(article, self.grouping.parent_field).upper() or None
        elif self.pattern is not None:
            match = self.pattern.fullmatch(code)
            parent = (match.group("parent") or "").strip().upper() or None if match else None
        elif self.grouping.rule == "table":
            entry = self.grouping.table.get(code)
            parent = entry.parent.strip().upper() if entry else None
        return None if parent == code else parent

    def place(self, article: Mapping[str, Any]) -> Place:
        """The product an article belongs to, with its option values (missing ones as "")."""
        code = code_of(article)
        parent = self.parent_of(article)
        if parent is None:
            return Place(code)
        values = {a.list_name: self._value(article, a.list_name, a.field) for a in self.grouping.attributes}
        return Place(parent, values, variant=True)

    def _value(self, article: Mapping[str, Any], list_name: str, field_name: str | None) -> str:
        if field_name:
            return _text(article, field_name)
        code = code_of(article)
        if self.pattern is not None:
            match = self.pattern.fullmatch(code)
            return (match.group(list_name) or "").strip() if match else ""
        entry = self.grouping.table.get(code)
        return (entry.options.get(list_name) or "").strip() if entry else ""

    def member_codes(self, parent: str) -> list[str] | None:
        """The table rule's members of `parent` (the other rules find them in AccountView)."""
        if self.grouping.rule != "table":
            return None
        return sorted(code for code, entry in self.grouping.table.items() if entry.parent.strip().upper() == parent)

    def where(self) -> str:
        """The rule as a person reads it in a reason."""
        rule = self.grouping.rule
        if rule == "parent_field":
            return reason("the parent-code field {field}", field=self.grouping.parent_field)
        if rule == "code_pattern":
            return reason("the code pattern {pattern}", pattern=repr(self.grouping.code_pattern))
        return reason("the grouping table") if rule == "table" else reason("no grouping")


def attribute_source(grouping: Grouping, list_name: str) -> str:
    """Where an option list's value is read, for a reason: an ARTICLE field, or the rule itself."""
    attribute = next(a for a in grouping.attributes if a.list_name == list_name)
    if attribute.field:
        return f"ARTICLE.{attribute.field}"
    if grouping.rule == "code_pattern":
        return reason("the code pattern's group {list}", list=list_name)
    return reason("the table's {list}", list=list_name)


def check_group(key: str, grouping: Grouping, members: Sequence[tuple[str, Place]]) -> None:
    """Refuse a variant group that the shop can't show as one product: a variant without a value for an
    option list, or two variants with the same combination. Names every variant and field at once."""
    problems: list[str] = []
    seen: dict[tuple[str, ...], str] = {}
    for code, place in members:
        missing = [name for name, value in place.options.items() if not value]
        for name in missing:
            problems.append(reason("variant {code} has no value for {list} ({source})", code=code, list=name,
                                   source=attribute_source(grouping, name)))
        if missing:
            continue
        combination = tuple(place.options[a.list_name].casefold() for a in grouping.attributes)
        if combination in seen:
            shown = ", ".join(f"{a.list_name} {place.options[a.list_name]}" for a in grouping.attributes)
            problems.append(reason("variants {first} and {code} share the combination {combination}",
                                   first=seen[combination], code=code, combination=shown))
        else:
            seen[combination] = code
    if problems:
        raise NeedsAttention(
            reason("Variant product {product} can't go to the shop: {problems}. Correct the articles in AccountView "
                   "(each variant needs its own combination), then retry.", product=key, problems=joined(problems)),
            field="variants",
            value=key,
        )
