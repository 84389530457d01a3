"""Connecting AccountView (koppel.sync.grants) against the sandbox's real OAuth server over HTTP: the
consent page, the state check, the code exchange, tokens stored encrypted and replaced on a reconnect
after the grant was revoked, and every refusal leaving the stored tokens as they were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection as db

from koppel.connectors.accountview.sandbox import REDIRECT_URI, AccountViewSandbox
from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection
from koppel.errors import BrokenConnection
from koppel.sync import grants
from koppel.sync.clients import books_client
from koppel.sync.grants import GrantError, finish_grant, finish_grant_from_url, grant_connection, start_grant

# Tokens must commit at once (ConnectionTokenStore refuses to save inside a transaction).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(koppel_data_dir: Path) -> Iterator[AccountViewSandbox]:
    with AccountViewSandbox(seed=1, size=5) as box:
        yield box


@pytest.fixture
def books(sandbox: AccountViewSandbox) -> Connection:
    return make_connection(sandbox, "books")


def make_connection(sandbox: AccountViewSandbox, name: str, workspace: str = "acme") -> Connection:
    row = Connection(workspace=Workspace.objects.get_or_create(name=workspace)[0], name=name,
                     system="accountview", settings={"base_url": sandbox.url, "company_id": sandbox.company_id})
    row.credentials = {"client_id": sandbox.info.client_id, "client_secret": sandbox.info.client_secret}
    row.save()
    return row


def consent(url: str, *, decision: str | None = None) -> str:
    """What the user's browser does at AccountView: the page approves at once, or shows the consent form
    whose button the user clicks. Returns the URL AccountView redirects back to."""
    page = httpx.get(url, follow_redirects=False)
    if decision is not None:
        assert page.status_code == 200 and "Toestaan" in page.text  # the consent page itself
        form = {k: v[0] for k, v in _params(url).items()}
        page = httpx.post(url.split("?")[0], data={**form, "decision": decision}, follow_redirects=False)
    assert page.status_code == 302, page.text
    return page.headers["location"]


def _params(url: str) -> dict[str, list[str]]:
    from urllib.parse import parse_qs, urlparse

    return {k.lower(): v for k, v in parse_qs(urlparse(url).query).items()}


def stored(row: Connection) -> dict[str, object]:
    return Connection.objects.get(pk=row.pk).credentials


def journals(row: Connection) -> int:
    fresh = Connection.objects.get(pk=row.pk)
    with books_client(fresh.pk, fresh.settings, fresh.credentials) as client:
        return len(client.journals())


def test_connect_stores_the_tokens_encrypted_and_names_the_companies_reached(
    sandbox: AccountViewSandbox, books: Connection
) -> None:
    started = start_grant(books.pk, REDIRECT_URI)
    assert started.url.startswith(f"{sandbox.url}/ams/authorize.aspx?") and "client_secret" not in started.url
    assert grant_connection(started.state) == books.pk
    result = finish_grant_from_url(consent(started.url))
    assert [c.code for c in result.companies] == [sandbox.company_code]
    assert result.company is not None and result.company.id == sandbox.company_id
    tokens = stored(books)["tokens"]
    assert isinstance(tokens, dict) and tokens["refresh_token"]
    assert journals(books) > 0  # the stored grant reaches AccountView
    db.ensure_connection()
    dump = "\n".join(db.connection.iterdump())
    assert tokens["refresh_token"] not in dump and tokens["access_token"] not in dump


def test_the_consent_page_approved_or_declined(sandbox: AccountViewSandbox, books: Connection) -> None:
    sandbox.auto_approve = False
    declined = consent(start_grant(books.pk, REDIRECT_URI).url, decision="deny")
    with pytest.raises(GrantError, match="access was denied"):
        finish_grant_from_url(declined)
    assert "tokens" not in stored(books)
    approved = consent(start_grant(books.pk, REDIRECT_URI).url, decision="approve")
    assert finish_grant_from_url(approved).company is not None
    assert journals(books) > 0


def test_reconnect_after_a_revoked_grant_replaces_the_dead_tokens(
    sandbox: AccountViewSandbox, books: Connection
) -> None:
    finish_grant_from_url(consent(start_grant(books.pk, REDIRECT_URI).url))
    dead = stored(books)["tokens"]
    httpx.post(f"{sandbox.url}/_sandbox/tokens/revoke").raise_for_status()
    sandbox.expire_tokens()  # the next call must refresh, and the refresh is refused
    with pytest.raises(BrokenConnection):
        journals(books)
    Connection.objects.filter(pk=books.pk).update(broken_reason="AccountView refused the authorisation")
    finish_grant_from_url(consent(start_grant(books.pk, REDIRECT_URI).url))
    fresh = Connection.objects.get(pk=books.pk)
    assert fresh.broken_reason == ""
    assert fresh.credentials["tokens"] != dead and fresh.credentials["refresh_token"] != dead["refresh_token"]  # type: ignore[index]
    assert journals(books) > 0


def test_a_state_is_refused_when_forged_expired_or_from_another_session(
    sandbox: AccountViewSandbox, books: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = start_grant(books.pk, REDIRECT_URI, bound_to="session-a")
    answer = consent(started.url)
    code = _params(answer)["code"][0]
    with pytest.raises(GrantError, match="started elsewhere"):
        finish_grant(started.state, code=code, bound_to="session-b")
    with pytest.raises(GrantError, match="unknown state"):
        finish_grant(started.state[:-2] + "xx", code=code, bound_to="session-a")
    other = make_connection(sandbox, "other-books", workspace="other")
    forged = start_grant(other.pk, REDIRECT_URI)  # a state is the connection it was issued for, nothing else
    assert grant_connection(forged.state) == other.pk
    monkeypatch.setattr(grants, "STATE_MAX_AGE", -1)
    with pytest.raises(GrantError, match="start again"):
        finish_grant(started.state, code=code, bound_to="session-a")
    assert "tokens" not in stored(books) and "tokens" not in stored(other)


def test_a_code_used_twice_or_a_foreign_url_changes_nothing(books: Connection) -> None:
    answer = consent(start_grant(books.pk, REDIRECT_URI).url)
    finish_grant_from_url(answer)
    kept = stored(books)["tokens"]
    with pytest.raises(GrantError, match="invalid_grant"):
        finish_grant_from_url(answer)
    assert stored(books)["tokens"] == kept
    with pytest.raises(GrantError, match="no state"):
        finish_grant_from_url("http://127.0.0.1/koppel/oauth/accountview?code=abc")


def test_a_connection_without_client_credentials_is_named(books: Connection) -> None:
    books.credentials = {"client_id": "x"}
    books.save()
    with pytest.raises(GrantError, match="books has no client_secret"):
        start_grant(books.pk, REDIRECT_URI)
    with pytest.raises(GrantError, match="no AccountView connection"):
        start_grant(books.pk + 100, REDIRECT_URI)
