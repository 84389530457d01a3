"""The wizard in Dutch and German: every message has its translation, the compiled catalogues (committed,
since CI may have no msgfmt) say what the .po files say, every string the templates and code mark for
translation is in them, and a page renders in the user's language."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

import koppel.web.wizard
from koppel.core.accounts.models import Membership, Workspace
from koppel.core.integrations.models import Connection

WIZARD = Path(koppel.web.wizard.__file__).parent
LANGUAGES = ("nl", "de")
MARKED = [re.compile(r'{% translate "([^"]+)" %}'), re.compile(r"{% translate '([^']+)' %}"),
          re.compile(r'\b_\("((?:[^"\\]|\\.)+)"\)')]


def po_messages(language: str) -> dict[str, str]:
    """msgid → msgstr of a .po file (the plural's first form), unescaped."""
    text = (WIZARD / "locale" / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    found = {}
    for entry in text.split("\n\n"):
        msgid = re.search(r'^msgid ((?:"[^\n]*"\n?)+)', entry, re.M)
        msgstr = re.search(r'^msgstr(?:\[0\])? ((?:"[^\n]*"\n?)+)', entry, re.M)
        if msgid and msgstr:
            key = "".join(re.findall(r'"(.*)"', msgid.group(1))).replace('\\"', '"')
            found[key] = "".join(re.findall(r'"(.*)"', msgstr.group(1))).replace('\\"', '"')
    found.pop("", None)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_compiled(language: str) -> None:
    messages = po_messages(language)
    assert len(messages) > 100
    assert [key for key, value in messages.items() if not value] == []
    with (WIZARD / "locale" / language / "LC_MESSAGES" / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    for key, value in messages.items():
        if "%(looked)s" not in key:  # the one plural, looked up with ngettext
            assert catalogue.gettext(key) == value, key


def test_every_marked_string_is_in_the_catalogue() -> None:
    marked: set[str] = set()
    for path in [*WIZARD.rglob("*.html"), *WIZARD.glob("*.py"), *(WIZARD.parent / "guides").glob("*.py")]:
        for pattern in MARKED:
            marked.update(m.replace('\\"', '"') for m in pattern.findall(path.read_text(encoding="utf-8")))
    assert len(marked) > 80
    for language in LANGUAGES:
        assert sorted(marked - set(po_messages(language))) == [], language


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "words"), [
    ("nl", ["Verder: de winkel", "Proefrun", "Naam van de koppeling"]),
    ("de", ["Weiter: der Shop", "Probelauf", "Name der Verknüpfung"])])
def test_the_wizard_speaks_the_users_language(language: str, words: list[str]) -> None:
    client = Client()
    client.force_login(User.objects.create_user("merchant", password="correct horse battery"))
    html = client.get("/setup/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for english, translated in [("Next: the shop", words[0]), ("Dry run", words[1]),
                                ("Name of the integration", words[2])]:
        assert translated in html and english not in html
    with translation.override(language):  # the dashboard's catalogue may say it in its own words
        assert translation.gettext("Set up an integration") in html


def compiled(catalogue: Path, language: str) -> dict[str, str]:
    with (catalogue / language / "LC_MESSAGES" / "django.mo").open("rb") as found:
        return {str(k): str(v) for k, v in gettext.GNUTranslations(found)._catalog.items() if k}  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_message_the_dashboard_and_the_wizard_both_hold_is_said_alike(language: str) -> None:
    """Django takes a message from the first catalogue that holds it (the dashboard's comes first), so two
    translations of one message mix the two words on one page (the books step said "Verbinden" over a
    button "Koppelen")."""
    dashboard = compiled(WIZARD.parent / "locale", language)
    wizard = compiled(WIZARD / "locale", language)
    assert {key: (dashboard[key], wizard[key]) for key in dashboard.keys() & wizard.keys()
            if dashboard[key] != wizard[key]} == {}


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "said", "not_said"), [
    ("nl", ["Onderneming", '"Koppelen" brengt je', ">Koppelen</button>"], ["Bedrijf", "Verbind", "verbind"]),
    ("de", ["Unternehmen", '"Verbinden" führt Sie', ">Verbinden</button>"], ["Firma", "Koppeln"])])
def test_the_books_step_names_the_company_and_the_button_as_the_guide_and_accountview_do(
        language: str, said: list[str], not_said: list[str]) -> None:
    user = User.objects.create_user("merchant", password="correct horse battery")
    workspace = Workspace.objects.create(name="acme")
    Membership.objects.create(workspace=workspace, user=user, role="owner")
    shop = Connection(workspace=workspace, name="acme-shop", system="mijnwebwinkel", settings={})
    shop.credentials = {"token": "t", "partner_token": "p"}
    shop.save()
    client = Client()
    client.force_login(user)
    session = client.session
    session["koppel.wizard"] = {"workspace": workspace.pk, "name": "acme-shop", "shop": shop.pk}
    session.save()
    html = client.get(f"/setup/w/{workspace.pk}/books/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    main = html[html.index("<main"):]
    for words in said:
        assert words in main, words
    for words in not_said:
        assert words not in main, words


def test_dutch_keeps_koppeling_for_the_integration_and_verbinding_for_a_connection() -> None:
    """In Dutch an integration is a "koppeling" (the wizard, the guides); a connection to one system called
    that too made "Koppelingen" on an integration's page list its two systems."""
    mixed = {key: value for catalogue in (WIZARD.parent / "locale", WIZARD / "locale")
             for key, value in compiled(catalogue, "nl").items()
             if "connection" in key.lower() and "koppeling" in value.lower() and key != "Test connection"}
    assert mixed == {}  # "Koppeling testen" is the guides' name of that button


def test_dutch_calls_an_integration_a_koppeling_as_the_wizard_and_the_guides_do() -> None:
    said = {key: value for catalogue in (WIZARD.parent / "locale", WIZARD / "locale")
            for key, value in compiled(catalogue, "nl").items() if "integratie" in value.lower()}
    assert said == {}


def test_german_calls_an_integration_a_verknuepfung_as_the_wizard_and_the_guides_do() -> None:
    said = {key: value for catalogue in (WIZARD.parent / "locale", WIZARD / "locale")
            for key, value in compiled(catalogue, "de").items() if "integration" in value.lower()}
    assert said == {}
