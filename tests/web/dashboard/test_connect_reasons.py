"""Connecting AccountView: a refusal on the way back from its consent page (declined, or a state we never
issued) is shown in the user's language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from koppel.connectors.accountview.sandbox import AccountViewSandbox
from tests.web.dashboard.test_connections import MODEL_BACKEND, add_books, books_row
from tests.web.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books_box(koppel_data_dir: Path) -> Iterator[AccountViewSandbox]:
    with AccountViewSandbox(seed=1, size=5) as box:
        yield box


@pytest.mark.parametrize(("language", "declined", "unknown"), [
    ("de", "AccountView wurde nicht verbunden: der Zugriff wurde verweigert",
     "Koppel hat diese Antwort von AccountView nicht angefordert (unbekannter State)"),
    ("nl", "AccountView is niet verbonden: de toegang werd geweigerd",
     "Koppel heeft niet om dit antwoord van AccountView gevraagd (onbekende state)"),
])
def test_a_declined_or_unknown_answer_is_told_in_the_users_language(
        books_box: AccountViewSandbox, language: str, declined: str, unknown: str) -> None:
    world = build_world()
    owner = Client(HTTP_ACCEPT_LANGUAGE=language)
    owner.force_login(world.mine.users["owner"], backend=MODEL_BACKEND)
    add_books(owner, world, books_box)
    row = books_row(world)
    started = owner.post(f"/w/{row.workspace_id}/connections/{row.pk}/connect/")
    state = parse_qs(urlparse(started["Location"]).query)["state"][0]
    back = owner.get("/oauth/accountview/", {"state": state, "error": "access_denied"}, follow=True)
    assert declined in back.content.decode()
    stranger = owner.get("/oauth/accountview/", {"state": "not-ours", "code": "x"}, follow=True)
    assert unknown in stranger.content.decode()
