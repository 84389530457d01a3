"""The dashboard in Dutch, English and German: no text in any template under src/koppel/web outside a
translation tag (the wizard's and the alerts' included), every string marked for translation translated
in Dutch and German, and each main page rendered in each language, for a user who chose one or by what
the browser asks for."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.test import Client
from django.utils import translation
from django.utils.translation import trans_real
from django.utils.translation.template import templatize

from koppel.core.accounts.models import Profile
from koppel.core.integrations.models import Connection, Integration
from tests.web.world import World, build_world

WEB = Path(__file__).resolve().parents[2] / "src" / "koppel" / "web"
ACCOUNTS = WEB.parent / "core" / "accounts"
TRANSLATED = ("nl", "de")
# Names and symbols that read the same in every language.
SAME_IN_EVERY_LANGUAGE = {"Koppel", "AccountView", "MijnWebwinkel", "MyOnlineStore", "HTMX", "OAuth", "ID",
                          "API", "URI", "https", "EUR"}
ATTRIBUTES = re.compile(r'\b(?:title|placeholder|alt|aria-label)="([^"]*)"')
HIDDEN = re.compile(r"<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>|<[^>]*>|&[#\w]+;", re.S)
GETTEXT_CALLS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
                 "npgettext", "npgettext_lazy"}


def templates() -> list[Path]:
    found = sorted(p for p in WEB.rglob("*.html") if "templates" in p.parts)
    assert len(found) >= 8, found
    return found


def untranslated_text(source: str) -> list[str]:
    """Words a template shows outside translation tags and outside the names above."""
    text, skipping = [], ""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            word = token.contents.split()[0] if token.contents.split() else ""
            if skipping and word == skipping:
                skipping = ""
            elif word in ("blocktranslate", "blocktrans"):
                skipping = "end" + word
            elif word == "comment":
                skipping = "endcomment"
            text.append("\x00")
        elif token.token_type == TokenType.TEXT and not skipping:
            text.append(token.contents)
        else:
            text.append("\x00")
    page = "".join(text)
    shown = [value for value in ATTRIBUTES.findall(page)] + [HIDDEN.sub(" ", page)]
    words = []
    for piece in shown:
        for word in re.findall(r"[^\W\d_][\w'’-]*", piece.replace("\x00", " ")):
            if word not in SAME_IN_EVERY_LANGUAGE:
                words.append(word)
    return words


def template_messages(path: Path) -> set[str | tuple[str, ...]]:
    """The msgids a template asks to translate, as makemessages would extract them."""
    found: set[str | tuple[str, ...]] = set()
    for call, args in re.findall(r"\b(n?p?gettext)\((u'(?:[^'\\]|\\.)*'(?:, u'(?:[^'\\]|\\.)*')*)",
                                 templatize(path.read_text(), origin=str(path))):
        values = ast.literal_eval(f"({args},)")
        found.add(_msgid(call, values))
    return found


def python_messages(path: Path) -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT_CALLS:
            values = tuple(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
            if values:
                found.add(_msgid(node.func.id.removesuffix("_lazy"), values))
    return found


def _msgid(call: str, values: tuple[str, ...]) -> str | tuple[str, ...]:
    if call.startswith("np"):
        return (f"{values[0]}\x04{values[1]}", values[2])
    if call.startswith("p"):
        return f"{values[0]}\x04{values[1]}"
    if call.startswith("n"):
        return values[:2]
    return values[0]


def missing_translations(messages: set[str | tuple[str, ...]], language: str) -> list[str]:
    catalog = trans_real.translation(language)._catalog  # type: ignore[attr-defined]
    missing = []
    for message in messages:
        key = (message[0], 0) if isinstance(message, tuple) else message
        if not catalog.get(key):
            missing.append(message if isinstance(message, str) else message[0])
    return sorted(missing)


@pytest.mark.parametrize("template", templates(), ids=lambda p: str(p.relative_to(WEB)))
def test_no_template_shows_text_outside_a_translation_tag(template: Path) -> None:
    assert untranslated_text(template.read_text()) == []


def test_the_check_finds_text_outside_translation_tags() -> None:
    source = ('{% load i18n %}<h1 title="Hover me">{% translate "Fine" %} Koppel</h1><p>Forgot this</p>'
              '{% blocktranslate %}Also fine {{ x }}{% endblocktranslate %}<script>var x;</script>&nbsp;')
    assert untranslated_text(source) == ["Hover", "me", "Forgot", "this"]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_template_string_is_translated(language: str) -> None:
    """Named per template: each part's .po files are its own (web/locale, web/wizard/locale, …)."""
    assert sum(len(template_messages(path)) for path in templates()) > 50
    missing = {str(path.relative_to(WEB)): missing_translations(template_messages(path), language)
               for path in templates()}
    assert {path: found for path, found in missing.items() if found} == {}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_python_string_of_the_web_and_the_roles_is_translated(language: str) -> None:
    sources = [*WEB.rglob("*.py"), *ACCOUNTS.glob("*.py")]
    missing = {str(path.relative_to(WEB.parent)): missing_translations(python_messages(path), language)
               for path in sources}
    assert {path: found for path, found in missing.items() if found} == {}


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_message_two_catalogues_hold_is_said_alike_in_both(language: str) -> None:
    """Each part of the dashboard keeps its own catalogue, and Django takes a message from the first one that
    holds it: two translations of one message would mix two words for one thing across pages (the alerts'
    "Bewaren" beside "Opslaan" everywhere else, the insights' "Flow" beside the wizard's "Stroom")."""
    said: dict[str, tuple[str, Path]] = {}
    differ = []
    for compiled in sorted(WEB.rglob(f"locale/{language}/LC_MESSAGES/django.mo")):
        with compiled.open("rb") as found:
            catalogue = gettext.GNUTranslations(found)._catalog  # type: ignore[attr-defined]
        for key, text in catalogue.items():
            if isinstance(key, str) and key:
                first = said.setdefault(key, (text, compiled))
                if first[0] != text:
                    differ.append((key, first[0], str(first[1].relative_to(WEB)), text,
                                   str(compiled.relative_to(WEB))))
    assert differ == []


def test_the_languages_are_dutch_english_and_german() -> None:
    assert [code for code, _name in settings.LANGUAGES] == ["en", "nl", "de"]
    with translation.override("nl"):
        assert translation.gettext("Your workspaces") == "Jouw werkruimtes"


# --- rendered pages ------------------------------------------------------------------------------------

EXPECTED = {"en": ("Your workspaces", "Sign out"), "nl": ("Jouw werkruimtes", "Afmelden"),
            "de": ("Ihre Arbeitsbereiche", "Abmelden")}


def main_pages(world: World) -> list[str]:
    workspace = world.mine.workspace.pk
    books = world.mine.records[Connection][1].pk
    integration = world.mine.records[Integration][0].pk
    return ["/", f"/w/{workspace}/", f"/w/{workspace}/members/", f"/w/{workspace}/connections/{books}/",
            f"/w/{workspace}/connections/{books}/edit/", f"/w/{workspace}/connections/new/mijnwebwinkel/",
            f"/w/{workspace}/integrations/{integration}/"]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "nl", "de"])
def test_each_language_renders_the_main_pages_for_a_user_who_chose_it(language: str) -> None:
    world = build_world()
    owner = world.mine.users["owner"]
    Profile.objects.create(user=owner, language=language)
    client = Client()
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    english = set(_english_texts())
    for page in main_pages(world):
        answer = client.get(page, HTTP_ACCEPT_LANGUAGE="de" if language != "de" else "nl")
        html = answer.content.decode()
        assert answer.status_code == 200, page
        assert f'<html lang="{language}">' in html and answer["Content-Language"] == language
        if language != "en":
            shown = {t.strip() for t in re.findall(r">([^<>]+)<", html)}
            assert shown & english == set(), page
    home = client.get("/").content.decode()
    assert all(text in home for text in EXPECTED[language])


def _english_texts() -> list[str]:
    """English template texts that differ in translation (a page in Dutch or German must not show them)."""
    def differs(message: str) -> bool:
        catalogs = [trans_real.translation(lang)._catalog for lang in TRANSLATED]  # type: ignore[attr-defined]
        return all(catalog.get(message) not in (None, message) for catalog in catalogs)

    return [message for path in templates() for message in template_messages(path)
            if isinstance(message, str) and "%(" not in message and len(message) > 3 and differs(message)]


@pytest.mark.django_db
def test_without_a_choice_the_browser_decides_and_the_switch_remembers() -> None:
    world = build_world()
    client = Client()
    client.force_login(world.mine.users["member"], backend="django.contrib.auth.backends.ModelBackend")
    assert "Ihre Arbeitsbereiche" in client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert "Anmelden" in Client().get("/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    switched = client.post("/language/", {"language": "nl", "next": f"/w/{world.mine.workspace.pk}/"},
                           HTTP_ACCEPT_LANGUAGE="de")
    assert switched.status_code == 302 and switched["Location"] == f"/w/{world.mine.workspace.pk}/"
    assert "Jouw werkruimtes" in client.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<option value="nl" selected>' in client.get("/").content.decode()
    assert client.post("/language/", {"language": "xx", "next": "https://evil.example/"})["Location"] == "/"
    assert Profile.objects.get(user=world.mine.users["member"]).language == "nl"
    client.post("/language/", {"language": "", "next": "/"})  # back to the browser's
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Ihre Arbeitsbereiche" in page and '<option value="" selected>' in page
