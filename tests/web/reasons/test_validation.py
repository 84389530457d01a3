"""Settings errors in the user's language: a settings page posted with values the settings model refuses,
in German and Dutch, names each problem in that language (our validators' reasons and pydantic's own
errors), with the offending value as typed, and saves nothing; every built-in message has its translation;
the CLI and the runner keep the English."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from pydantic import ValidationError

from koppel.core.integrations.models import Integration, Schedule
from koppel.demo import INTEGRATION
from koppel.flows.products_settings import ProductsSettings
from koppel.flows.settings import OrdersSettings
from koppel.flows.stock_settings import StockSettings
from koppel.web.reasons.validation import BUILT_IN, problem
from tests.web.wizard.test_settings_pages import answer, demo, merchant, page, sandboxes  # noqa: F401  (fixtures)

EXPECTED = {
    "de": ["wählen Sie mindestens einen zu sendenden Bestellstatus",
           "Steuercode-Schlüssel &#x27;NLX&#x27;: verwenden Sie einen Satz",
           "Wählen Sie eines von &#x27;none&#x27;, &#x27;parent_field&#x27;",
           "Es wurde nichts gespeichert"],
    "nl": ["kies minstens één orderstatus om te versturen",
           "btw-codesleutel &#x27;NLX&#x27;: gebruik een tarief",
           "Kies een van &#x27;none&#x27;, &#x27;parent_field&#x27;"],
}
ENGLISH = ["choose at least one order status", "VAT code key", "Input should be", "Value error"]


def _refused(client: Client, integration: Integration, language: str, flow: str, **changes: Any) -> str:
    before = Integration.objects.get(pk=integration.pk).flows
    schedules = list(Schedule.objects.filter(integration=integration).values())
    response = client.post(page(integration, flow), answer(client, integration, flow, **changes),
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert Integration.objects.get(pk=integration.pk).flows == before
    assert list(Schedule.objects.filter(integration=integration).values()) == schedules
    return response.content.decode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["de", "nl"])
def test_a_refused_settings_page_speaks_the_users_language_and_saves_nothing(merchant: Client,  # noqa: F811
                                                                             language: str) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    shown = _refused(merchant, integration, language, "orders", statuses=None, vat_codes__extra="NLX = H1")
    shown += _refused(merchant, integration, language, "products", variants='{"rule": "nope"}')
    for text in EXPECTED[language]:
        assert text in shown, (language, text)
    for text in ENGLISH:
        assert text not in shown, (language, text)


@pytest.mark.parametrize(("model", "raw", "english", "german"), [
    (OrdersSettings, {"statuses": []}, "choose at least one order status to send",
     "wählen Sie mindestens einen zu sendenden Bestellstatus"),
    (OrdersSettings, {"interval_seconds": "oft"}, "Input should be a valid integer",
     "Geben Sie eine ganze Zahl ein."),
    (OrdersSettings, {"interval_seconds": 3}, "Input should be greater than or equal to 10",
     "Geben Sie 10 oder mehr ein."),
    (OrdersSettings, {"write_as": "fax"}, "Input should be 'sales_order' or 'invoice'",
     "Wählen Sie eines von 'sales_order', 'invoice'."),
    (ProductsSettings, {"category_parents": {"A": "B", "B": "A"}}, "category_parents has a loop",
     "Übergeordnete Kategorien: eine Schleife über Artikelgruppe"),
    (StockSettings, {"formula": "custom", "expression": "available / free"},
     "with free 0 (available 12, reserved 3, free 0, technical 15) it divides by zero",
     "mit free 0 (available 12, reserved 3, free 0, technical 15) teilt sie durch null"),
    (StockSettings, {"unit_factors": {"A1": "0"}}, "the unit factor of A1 is '0': a unit factor must be above 0",
     "der Einheitenfaktor von A1 ist '0': ein Einheitenfaktor muss größer als 0 sein"),
])
def test_each_kind_of_refusal_is_german_on_the_page_and_english_for_the_cli(model: type, raw: dict[str, Any],
                                                                           english: str, german: str) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(raw)
    error = refused.value.errors()[0]
    assert english in str(error["msg"])  # what `koppel integration apply` and a run's error say
    with translation.override("de"):
        assert german in problem(error)


def test_every_built_in_message_is_translated() -> None:
    context = {"max_digits": 3, "decimal_places": 2, "whole_digits": 4, "min_length": 1, "max_length": 40,
               "pattern": "^x$", "expected": "'a' or 'b'", "gt": 0, "ge": 10, "lt": 5, "le": 9, "multiple_of": 2,
               "expected_schemes": "'https'"}
    for kind, said in BUILT_IN.items():
        with translation.override("en"):
            english = said(context)
        for language in ("nl", "de"):
            with translation.override(language):
                assert said(context) != english, (kind, language)
    with translation.override("nl"):  # both plural forms
        assert BUILT_IN["string_too_long"]({"max_length": 1}) == "Vul hoogstens 1 teken in."
        assert BUILT_IN["string_too_long"]({"max_length": 40}) == "Vul hoogstens 40 tekens in."
