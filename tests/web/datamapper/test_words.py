"""The datamapper in Dutch and German: every default map's description and every field's note has both (the
map files are English; their translations are the datamapper's catalogue), the page shows them and no English
one, a field's kind and each transform step are said in words of the reader's language."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from django.utils import translation

from koppel.core.accounts.models import Workspace
from koppel.mapping import MapSpec, TransformStep, load_default_map, transform_names
from koppel.web.datamapper import words
from tests.web.datamapper.shared import integration_of
from tests.web.datamapper.test_views import url, user_in

DEFAULTS = Path(words.__file__).parents[2] / "mapping" / "defaults"


def default_maps() -> list[MapSpec]:
    found = [load_default_map(path.stem) for path in sorted(DEFAULTS.glob("*.toml"))]
    assert len(found) >= 10
    return found


def descriptions() -> list[str]:
    """Every description and field note of the default maps, in English."""
    texts = [text for spec in default_maps() for text in (spec.description, *(f.note for f in spec.fields))]
    return sorted({text for text in texts if text})


@pytest.mark.parametrize("language", ["nl", "de"])
def test_every_default_map_and_field_description_is_translated(language: str) -> None:
    assert len(descriptions()) > 30
    with translation.override(language):
        missing = [text for text in descriptions() if words.said(text) == text]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "said"), [
    ("nl", ["Bedrijfsdebiteur met contactpersoon", "tekst (40)", "ingekort tot 40 tekens", "Jouw wijzigingen",
            "Voor een bestelling met een bedrijfsnaam.", "(MijnWebwinkel artikel)", "(AccountView CONTACT)"]),
    ("de", ["Firmendebitor mit Kontakt", "Text (40)", "auf 40 Zeichen gekürzt", "Ihre Änderungen",
            "Für eine Bestellung mit Firmennamen.", "(MijnWebwinkel Artikel)", "(AccountView CONTACT)"]),
])
def test_the_page_in_dutch_and_german_shows_no_english_description(language: str, said: list[str]) -> None:
    mine = integration_of(Workspace.objects.create(name="bakkerij"), "bakkerij-shop")
    page = html.unescape(user_in(mine.workspace, "anna").get(url(mine), HTTP_ACCEPT_LANGUAGE=language)
                         .content.decode())
    assert [text for text in descriptions() if text in page] == []
    assert [text for text in said if text not in page] == []
    assert "mww_order_to_av_debtor_company:" not in page and "accountview CONTACT" not in page  # no raw keys
    assert "{'length': 40}" not in page  # transform arguments in words, not as Python
    english = html.unescape(user_in(mine.workspace, "bert").get(url(mine)).content.decode())
    assert "Company debtor with contact person, from the order's invoice address" in english


def test_every_transform_has_words() -> None:
    assert set(transform_names()) - set(words.STEP_WORDS) <= {"split_house_number"}


@pytest.mark.parametrize(("step", "english", "dutch"), [
    ({"name": "truncate", "args": {"length": 40}}, "cut to 40 characters", "ingekort tot 40 tekens"),
    ({"name": "concat", "args": {"values": [{"path": "order.debtor.address.invoice.number"}]}},
     "followed by order.debtor.address.invoice.number", "gevolgd door order.debtor.address.invoice.number"),
    ({"name": "coalesce", "args": {"values": [{"path": "a.b"}, {"path": "c"}]}}, "if empty: a.b or c",
     "indien leeg: a.b of c"),
    ({"name": "replace", "args": {"old": "."}}, "“.” removed", "“.” weggehaald"),
    ({"name": "replace", "args": {"old": "-", "new": " "}}, "“-” replaced by “ ”", "“-” vervangen door “ ”"),
    ({"name": "split_house_number", "args": {"part": "suffix"}}, "the house number's suffix (A, bis, -3)",
     "de toevoeging bij het huisnummer (A, bis, -3)"),
    ({"name": "between", "args": {"minimum": "0", "maximum": "99.5"}}, "between 0 and 99.5 (another value is refused)",
     "tussen 0 en 99.5 (een andere waarde wordt geweigerd)"),
    ("trim", "spaces around removed", "spaties eromheen weg"),
])
def test_a_transform_step_in_words(step: object, english: str, dutch: str) -> None:
    parsed = TransformStep.model_validate(step)
    with translation.override("en"):
        assert words.step_text(parsed) == english
    with translation.override("nl"):
        assert words.step_text(parsed) == dutch
