"""Why a connection is broken and why an integration is paused, shown in the user's language: a revoked
AccountView grant, found by the alerts' probe against the sandbox, reads in German and Dutch on the
connection's, the workspace's and the integration's pages; a reason kept as plain text is shown as stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from koppel.alerts.connections import mark_broken, probe, recover
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.core.integrations.models import Connection, Integration
from tests.web.dashboard.test_connections import MODEL_BACKEND, add_books, books_row, connect
from tests.web.world import World, build_world

# Tokens commit at once (the token store refuses to save inside a transaction).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books_box(koppel_data_dir: Path) -> Iterator[AccountViewSandbox]:
    with AccountViewSandbox(seed=1, size=5) as box:
        yield box


def signed_in(world: World, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(world.mine.users["owner"], backend=MODEL_BACKEND)
    return client


def page(client: Client, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200
    return answer.content.decode()


@pytest.mark.parametrize(("language", "broken", "paused"), [
    ("de", "AccountView hat die Autorisierung verweigert (invalid_grant); verbinden Sie die Administration neu",
     "Von Koppel pausiert: die AccountView-Verbindung books ist unterbrochen: AccountView hat die Autorisierung"),
    ("nl", "AccountView weigerde de autorisatie (invalid_grant); verbind de administratie opnieuw",
     "Gepauzeerd door Koppel: de AccountView-verbinding books is verbroken: AccountView weigerde de autorisatie"),
])
def test_a_revoked_grant_is_told_in_the_users_language(
        books_box: AccountViewSandbox, language: str, broken: str, paused: str) -> None:
    world = build_world()
    owner = signed_in(world, language)
    add_books(owner, world, books_box)
    row = books_row(world)
    connect(owner, row)
    integration = Integration.objects.create(workspace=row.workspace, name="zqalpha-revoked", shop=row, books=row)
    httpx.post(f"{books_box.url}/_sandbox/tokens/revoke").raise_for_status()
    books_box.expire_tokens()

    state, message = probe(row)
    assert state == "broken"
    mark_broken(row, message, timezone.now())

    stored = Connection.objects.get(pk=row.pk)
    assert "AccountView refused the authorisation (invalid_grant)" in stored.broken_reason  # English, as stored
    assert stored.broken_reason_args["params"] == {"error": "invalid_grant"}
    workspace = f"/w/{row.workspace_id}/"
    for url in (f"{workspace}connections/{row.pk}/", workspace):
        shown = page(owner, url)
        assert broken in shown and "refused the authorisation" not in shown, url
    shown = page(owner, f"{workspace}integrations/{integration.pk}/")
    assert paused in shown and "Paused by Koppel" not in shown

    recover(row, timezone.now())  # works again: the reasons and their forms go together
    fixed = Connection.objects.get(pk=row.pk)
    resumed = Integration.objects.get(pk=integration.pk)
    assert (fixed.broken_reason, fixed.broken_reason_args) == ("", None)
    assert (resumed.paused_reason, resumed.paused_reason_args) == ("", None)


def test_a_reason_kept_as_plain_text_is_shown_as_stored(books_box: AccountViewSandbox) -> None:
    """A reason that was never made as one (an unreachable system's last error, escalated): no form, so
    no language but the one it was written in; it is shown, not hidden or guessed at."""
    world = build_world()
    owner = signed_in(world, "de")
    add_books(owner, world, books_box)
    row = books_row(world)
    mark_broken(row, "relay said: 'verbinding verloren' <b>", timezone.now())

    stored = Connection.objects.get(pk=row.pk)
    assert stored.broken_reason_args is None
    shown = page(owner, f"/w/{row.workspace_id}/connections/{row.pk}/")
    assert "relay said: &#x27;verbinding verloren&#x27; &lt;b&gt;" in shown  # as stored, escaped
