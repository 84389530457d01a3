"""`{{ activity|reason }}`: a stored reason shown in the user's language from its template and values,
and the stored text as it is whenever the translatable form is missing, unknown or no longer fits."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.utils import translation

from koppel.reasons import reason

KIND = reason("{kind} {target} for debtor {debtor}", kind=reason("invoice"), target="INV-7", debtor="D12")


def shown(value: object, language: str) -> str:
    with translation.override(language):
        return Template("{% load reasons %}{{ value|reason }}").render(Context({"value": value}))


@pytest.mark.parametrize("form", ["row", "dict", "reason"])
def test_a_reason_inside_a_reason_is_translated_and_its_values_kept(form: str) -> None:
    value = {"row": SimpleNamespace(reason=str(KIND), reason_args=KIND.as_args()),
             "dict": {"reason": str(KIND), "reason_args": KIND.as_args()}, "reason": KIND}[form]
    assert shown(value, "en") == "invoice INV-7 for debtor D12"
    assert shown(value, "nl").startswith("factuur INV-7")
    assert shown(value, "de").startswith("Rechnung INV-7")


def test_without_a_form_or_with_one_that_no_longer_fits_the_stored_text_is_shown() -> None:
    erased = {"reason": "invoice INV-7 for debtor [erased]", "reason_args": KIND.as_args()}
    assert shown(erased, "nl") == "invoice INV-7 for debtor [erased]"
    assert shown({"reason": "recorded before", "reason_args": None}, "de") == "recorded before"
    broken = {"reason": "x", "reason_args": {"template": "{missing}", "params": {}}}
    assert shown(broken, "de") == "x"
    assert shown(None, "nl") == "" and shown("plain & text", "nl") == "plain &amp; text"


def test_values_are_escaped_not_trusted() -> None:
    evil = reason("{kind} {target} for debtor {debtor}", kind=reason("invoice"), target="<b>x</b>", debtor="1")
    assert "&lt;b&gt;x&lt;/b&gt;" in shown(evil, "de")
