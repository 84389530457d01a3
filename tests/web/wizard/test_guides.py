"""The setup guides: each renders in the app, in the user's language when there is a translation, and
every picture and video it shows exists (the wizard's browser test makes them)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from koppel.web.guides.views import GUIDES, HERE, MEDIA

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("reader", password="correct horse battery"))
    return client


def test_every_guide_renders_and_everything_it_shows_exists(client: Client) -> None:
    shown: set[str] = set()
    for system in GUIDES:
        response = client.get(f"/setup/guides/{system}/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "<h1>" in html
        found = re.findall(r'src="\.\./media/([^"]+)"', html)
        assert found, system
        shown.update(found)
        for name in found:
            media = client.get(f"/setup/guides/media/{name}")
            assert media.status_code == 200, name
            assert media["Content-Type"] in ("image/png", "video/webm")
    assert "wizard.webm" in shown
    assert {p.name for p in MEDIA.glob("wizard-*.png")} <= shown  # every screenshot the test takes is used


@pytest.mark.parametrize("language", ["nl", "de"])
def test_a_guide_in_the_users_language_when_there_is_one(client: Client, language: str) -> None:
    translated = HERE / f"wizard.{language}.md"
    title = translated.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
    assert title in client.get("/setup/guides/wizard/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    english = client.get("/setup/guides/mijnwebwinkel/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "The API key" in english  # no translation yet: the English guide


@pytest.mark.parametrize("name", ["../views.py", "wizard.md", "x.exe", "nothing.png"])
def test_nothing_but_the_guides_pictures_is_served(client: Client, name: str) -> None:
    assert client.get(f"/setup/guides/media/{name}").status_code == 404


def test_guides_need_a_signed_in_user() -> None:
    assert Client().get("/setup/guides/wizard/").status_code == 302
