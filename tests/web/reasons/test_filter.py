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


@pytest.mark.django_db
def test_an_erased_address_leaves_neither_the_text_nor_the_translatable_form() -> None:
    from django.utils import timezone

    from koppel.core.accounts.models import Workspace
    from koppel.core.activity.models import Activity
    from koppel.core.integrations.models import Integration
    from koppel.sync import record_actions
    from tests.sync.scenarios import integration

    workspace = Workspace.objects.create(name="privé")
    shop = Integration.objects.get(pk=integration("privé-shop"))
    Integration.objects.filter(pk=shop.pk).update(workspace=workspace)
    said = reason("The mapped order does not fit AccountView: {model}.{field}: {problem} (value {value}). "
                  "Correct the order in the shop, or the mapping.", model="DebtorIn", field="email",
                  problem="not an address", value="'Piet@Example.nl;x'")
    now = timezone.now()
    kept = reason("{kind} {target} for debtor {debtor} ({how})", kind=reason("invoice"), target="F1", debtor="D1",
                  how=reason("created"))
    for key, text in (("1001", said), ("1002", kept)):
        Activity.objects.create(integration=shop, entity="order", key=key, outcome="needs_attention", reason=text,
                                reason_args=text.as_args(), created_at=now, updated_at=now)
    record_actions.erase_customer(workspace, "piet@example.nl", by="anna")
    erased = Activity.objects.get(key="1001")
    assert "Piet@Example.nl" not in erased.reason and erased.reason_args is None
    assert "Piet" not in shown(erased, "de")
    assert Activity.objects.get(key="1002").reason_args == kept.as_args()  # no address: its form stays
