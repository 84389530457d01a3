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
