"""Where a mapped value came from is said in the reader's language: a constant or an expression inside a Dutch
or German reason reads "(uit een vaste waarde)", not "(uit a constant)"; a source path stays as it is."""

from __future__ import annotations

import html

import pytest
from django.template import Context, Template
from django.utils import translation

from koppel.mapping import FieldMap, MappingError, MapSpec, apply_map


def shown(text: str, language: str) -> str:
    with translation.override(language):
        return html.unescape(Template("{% load reasons %}{{ value|reason }}").render(Context({"value": text})))


def parked(*fields: dict[str, object]) -> str:
    spec = MapSpec.model_validate({"name": "contact", "target": "CONTACT", "fields": list(fields)})
    with pytest.raises(MappingError) as raised:
        apply_map(spec, {"order": {"email": ""}})
    return raised.value.args[0]  # the reason, with its template and values


def test_a_required_field_from_a_constant_or_an_expression_says_so_in_dutch_and_german() -> None:
    said = parked({"target": "ACCT_NAME", "const": None, "required": True},
                  {"target": "MAIL_BUS", "expr": "order.email", "required": True})
    assert "ACCT_NAME (from a constant)" in said and "MAIL_BUS (from expression 'order.email')" in said
    dutch = shown(said, "nl")
    assert "ACCT_NAME (uit een vaste waarde)" in dutch and "MAIL_BUS (uit expressie 'order.email')" in dutch
    assert "a constant" not in dutch and "expression" not in dutch
    german = shown(said, "de")
    assert "ACCT_NAME (aus einem festen Wert)" in german and "MAIL_BUS (aus dem Ausdruck 'order.email')" in german


def test_a_source_path_is_named_as_it_is_in_every_language() -> None:
    assert FieldMap.model_validate({"target": "ACCT_NAME", "source": "order.name"}).origin == "order.name"
    said = parked({"target": "ACCT_NAME", "source": "order.name", "required": True})
    assert "ACCT_NAME (uit order.name)" in shown(said, "nl")
