"""Connecting an AccountView connection: the OAuth authorization-code grant, for the web's "Connect" and
"Reconnect" buttons and for `koppel connect accountview` alike.

    started = start_grant(connection_id, redirect_uri, bound_to=session_key)
    # send the user's browser to started.url; AccountView comes back to redirect_uri?code=…&state=…
    connection_id = grant_connection(state)            # before finishing: check the user may touch it
    result = finish_grant(state, code=code, error=error, bound_to=session_key)
    # or, with the whole redirected URL (pasted back on a headless server):
    result = finish_grant_from_url(redirected_url)
    result.companies                                   # what the grant reaches, to show or pick from

The state is signed (Django's signing with its SECRET_KEY), names the connection and the redirect URI,
and expires after `STATE_MAX_AGE` seconds; nothing is stored until the grant is finished. `bound_to` ties
a state to whoever started it (the web passes the session key, so a state can't be used from another
browser: OAuth's login-CSRF). Finishing stores the new tokens encrypted in the connection, replacing
whatever was there (a revoked grant's dead tokens included), and clears the connection's broken reason.
Every refusal is a `GrantError` with a message a user can act on.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

from django.core import signing

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Company
from koppel.errors import KoppelError
from koppel.reasons import reason
from koppel.sync.clients import books_client

if TYPE_CHECKING:
    from koppel.core.integrations.models import Connection

STATE_MAX_AGE = 15 * 60  # seconds from "Connect" to AccountView's answer: time to sign in and consent
_SALT = "koppel.sync.grants.accountview"


class GrantError(Exception):
    """The grant could not be started or finished; the message says why and what to do."""


@dataclass(frozen=True)
class GrantStart:
    url: str  # AccountView's consent page, to send the user's browser to
    state: str


@dataclass(frozen=True)
class GrantResult:
    connection_id: int
    companies: list[Company]  # every AccountView company the grant reaches
    company: Company | None  # the one the connection's `company_id` names (by id or code), if reached


def start_grant(connection_id: int, redirect_uri: str, *, bound_to: str = "") -> GrantStart:
    """AccountView's consent URL for this connection, with a fresh state that comes back to `redirect_uri`."""
    from koppel.core.integrations.models import Connection

    row = Connection.objects.filter(pk=connection_id, system=Connection.System.ACCOUNTVIEW).first()
    if row is None:
        raise GrantError(reason("no AccountView connection with id {connection}", connection=connection_id))
    state = signing.dumps({"c": connection_id, "r": redirect_uri, "b": _fingerprint(bound_to),
                           "n": secrets.token_urlsafe(8)}, salt=_SALT, compress=True)
    with _client(row) as client:
        url, _ = client.authorize_url(redirect_uri, state=state)
    return GrantStart(url=url, state=state)


def grant_connection(state: str) -> int:
    """The connection a (valid, unexpired) state was issued for."""
    return int(_read_state(state)["c"])


def finish_grant(state: str, *, code: str | None, error: str | None = None, bound_to: str = "") -> GrantResult:
    """Check the state, exchange the code, store the tokens (replacing any before), clear the broken reason,
    and read the companies the grant reaches. `error` is AccountView's answer when the user declined."""
    from koppel.core.integrations.models import Connection

    issued = _read_state(state)
    if issued["b"] != _fingerprint(bound_to):
        raise GrantError(reason("this AccountView answer belongs to a connect started elsewhere: start again"))
    if error:
        why = (reason("access was denied") if error == "access_denied"
               else reason("AccountView answered {status}", status=error))
        raise GrantError(reason("AccountView was not connected: {reason}", reason=why))
    if not code:
        raise GrantError(reason("AccountView's answer has no authorization code: start again"))
    row = Connection.objects.filter(pk=issued["c"], system=Connection.System.ACCOUNTVIEW).first()
    if row is None:
        raise GrantError(reason("the AccountView connection was deleted meanwhile"))
    with _client(row) as client:
        try:
            client.exchange_code(code, issued["r"])  # saved (committed) in the connection before it returns
        except KoppelError as exc:
            raise GrantError(reason("AccountView was not connected: {reason}", reason=exc)) from exc
        Connection.objects.filter(pk=row.pk).update(broken_reason="")
        try:
            companies = client.companies()
        except KoppelError as exc:
            raise GrantError(reason("AccountView is connected, but its companies could not be read: {reason}",
                                    reason=exc)) from exc
    wanted = str(row.settings.get("company_id") or "")
    company = next((c for c in companies if wanted and wanted.lower() in (c.id.lower(), c.code.lower())), None)
    return GrantResult(connection_id=row.pk, companies=companies, company=company)


def finish_grant_from_url(redirected_url: str, *, bound_to: str = "") -> GrantResult:
    """`finish_grant` with the URL AccountView redirected the browser to (its query carries code and state)."""
    query = {k: v[0] for k, v in parse_qs(urlparse(redirected_url.strip()).query).items()}
    if "state" not in query:
        raise GrantError(reason("that is not AccountView's answer: the URL has no state (copy the whole address)"))
    return finish_grant(query["state"], code=query.get("code"), error=query.get("error"), bound_to=bound_to)


def _read_state(state: str) -> dict[str, str]:
    try:
        issued: dict[str, str] = signing.loads(state, salt=_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise GrantError(reason("the connect took longer than {minutes} minutes: start again",
                                minutes=STATE_MAX_AGE // 60)) from None
    except signing.BadSignature:
        raise GrantError(reason("this AccountView answer was not asked for by Koppel (unknown state)")) from None
    return issued


def _fingerprint(bound_to: str) -> str:
    """What the state carries of `bound_to`: a hash, since the state travels through the browser."""
    return hashlib.sha256(bound_to.encode()).hexdigest()[:16] if bound_to else ""


def _client(row: Connection) -> AccountViewClient:
    credentials = row.credentials
    missing = [key for key in ("client_id", "client_secret") if not credentials.get(key)]
    if missing:
        raise GrantError(reason("the AccountView connection {name} has no {setting} yet", name=row.name,
                                setting=missing[0]) if len(missing) == 1 else
                         reason("the AccountView connection {name} has no {first} and no {second} yet",
                                name=row.name, first=missing[0], second=missing[1]))
    try:
        return books_client(row.pk, row.settings, credentials)
    except KoppelError as exc:
        raise GrantError(reason("the AccountView connection {name} can't connect: {reason}", name=row.name,
                                reason=exc)) from exc
