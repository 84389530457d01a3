"""The setup guides: one per system in every language of the dashboard, each shown in the user's language,
keeping the English one's sections and pictures, and every picture and video a guide shows exists (the
wizard's browser test makes them, in each language where the page has words)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from koppel.core.accounts.models import Profile
from koppel.web.guides.views import GUIDES, HERE, MEDIA

pytestmark = pytest.mark.django_db
LANGUAGES = [code for code, _name in settings.LANGUAGES]
PICTURE = re.compile(r'(?:!\[[^\]]*\]\(|src=")\.\./media/([^)"]+)[)"]')


def guide_file(system: str, language: str) -> Path:
    return HERE / (f"{system}.md" if language == "en" else f"{system}.{language}.md")


def pictures(path: Path) -> list[str]:
    return PICTURE.findall(path.read_text(encoding="utf-8"))


def sections(path: Path) -> list[str]:
    return re.findall(r"^#+ .*$", path.read_text(encoding="utf-8"), re.M)


@pytest.fixture
def user() -> User:
    return User.objects.create_user("reader", password="correct horse battery")


def client_for(user: User, language: str = "") -> Client:
    if language:
        Profile.objects.update_or_create(user=user, defaults={"language": language})
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("system", list(GUIDES))
def test_every_guide_exists_in_every_language_with_the_english_ones_sections_and_pictures(
        system: str, language: str) -> None:
    path, english = guide_file(system, language), guide_file(system, "en")
    assert path.is_file(), path.name
    assert len(sections(path)) == len(sections(english)), path.name
    shown, original = pictures(path), pictures(english)
    assert len(shown) == len(original) and shown, path.name
    for name, english_name in zip(shown, original, strict=True):
        assert (MEDIA / name).is_file(), f"{path.name} shows {name}, which does not exist"
        # the same picture, or the same page taken in this language
        assert name == english_name or name == english_name.replace(".png", f"-{language}.png"), (name, path.name)


def test_every_picture_the_browser_test_takes_is_shown_in_some_guide() -> None:
    shown = {name for system in GUIDES for language in LANGUAGES for name in pictures(guide_file(system, language))}
    assert "wizard.webm" in shown
    assert {p.name for p in MEDIA.glob("wizard-*.png")} <= shown


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_guide_renders_in_the_users_language_with_its_pictures(user: User, language: str) -> None:
    client = client_for(user, language)
    for system in GUIDES:
        response = client.get(f"/setup/guides/{system}/", HTTP_ACCEPT_LANGUAGE="nl" if language != "nl" else "de")
        html = response.content.decode()
        assert response.status_code == 200 and f'<html lang="{language}">' in html
        heading = sections(guide_file(system, language))[1].lstrip("# ")
        assert heading.replace("&", "&amp;") in html, (system, heading)
        found = re.findall(r'src="\.\./media/([^"]+)"', html)
        assert found == pictures(guide_file(system, language))
        for name in found:
            media = client.get(f"/setup/guides/media/{name}")
            assert media.status_code == 200, name
            assert media["Content-Type"] in ("image/png", "video/webm")


def test_without_a_choice_the_browser_picks_the_guides_language(user: User) -> None:
    client = client_for(user)
    page = client.get("/setup/guides/mijnwebwinkel/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert "Der API-Schlüssel" in page and "wizard-2-shop-de.png" in page
    assert "The API key" in client.get("/setup/guides/mijnwebwinkel/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()


@pytest.mark.parametrize("name", ["../views.py", "wizard.md", "x.exe", "nothing.png", "wizard-2-shop.nl.png"])
def test_nothing_but_the_guides_pictures_is_served(user: User, name: str) -> None:
    assert client_for(user).get(f"/setup/guides/media/{name}").status_code == 404


def test_guides_need_a_signed_in_user() -> None:
    assert Client().get("/setup/guides/wizard/").status_code == 302
