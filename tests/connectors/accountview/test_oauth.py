"""OAuth against the sandbox over real HTTP: code flow, consent page, refresh (proactive and on 401),
rotation, reuse detection, and two processes refreshing at once without losing the grant."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.oauth import FileTokenStore, MemoryTokenStore, TokenSet
from koppel.connectors.accountview.sandbox import REDIRECT_URI, AccountViewSandbox
from koppel.connectors.sandboxkit import Fault, serve_in_thread
from koppel.errors import BrokenConnection

from .conftest import fast_options


def test_full_code_flow_stores_tokens_and_reaches_data(sandbox: AccountViewSandbox) -> None:
    store = MemoryTokenStore()
    client = sandbox.client(token_store=store, options=fast_options(sandbox))
    url, state = client.authorize_url(REDIRECT_URI)
    assert url.startswith(f"{sandbox.url}/ams/authorize.aspx?")
    query = parse_qs(urlparse(url).query)
    assert query["response_type"] == ["code"] and query["scope"] == [
        "readaccountviewdata updateaccountviewdata"
    ]

    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302
    back = parse_qs(urlparse(answer.headers["location"]).query)
    assert back["state"] == [state]
    tokens = client.exchange_code(back["code"][0], REDIRECT_URI)

    assert store.load() == tokens and tokens.refresh_token
    assert [c.code for c in client.companies()] == ["DEMO"]
    assert client.article_groups()
    with pytest.raises(BrokenConnection):  # a code works once
        client.exchange_code(back["code"][0], REDIRECT_URI)


def test_consent_page_approves_and_denies(sandbox: AccountViewSandbox) -> None:
    client = sandbox.client()
    url, state = client.authorize_url(REDIRECT_URI)
    page = httpx.get(url + "&prompt=consent")
    assert page.status_code == 200 and "Toestaan" in page.text and "readaccountviewdata" in page.text
    form = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    approved = httpx.post(f"{sandbox.url}/ams/authorize.aspx", data={**form, "decision": "approve"})
    assert "code=" in approved.headers["location"]
    denied = httpx.post(f"{sandbox.url}/ams/authorize.aspx", data={**form, "decision": "deny"})
    assert (
        "error=access_denied" in denied.headers["location"] and f"state={state}" in denied.headers["location"]
    )


def test_implicit_grant_returns_token_in_fragment(sandbox: AccountViewSandbox) -> None:
    answer = httpx.get(
        f"{sandbox.url}/AMS/Authorize.aspx",
        params={
            "response_type": "token",
            "client_id": sandbox.info.client_id,
            "redirect_uri": REDIRECT_URI,
            "state": "s",
        },
    )
    fragment = parse_qs(urlparse(answer.headers["location"]).fragment)
    assert fragment["token_type"] == ["bearer"] and fragment["access_token"][0]


def test_bad_client_secret_is_a_broken_connection(sandbox: AccountViewSandbox) -> None:
    client = sandbox.client()
    client._oauth.client_secret = "wrong"
    with pytest.raises(BrokenConnection):
        sandbox.authorise(client)


def test_proactive_refresh_rotates_and_old_refresh_token_is_refused(sandbox: AccountViewSandbox) -> None:
    store = MemoryTokenStore()
    client = sandbox.authorised_client(token_store=store, options=fast_options(sandbox))
    first = store.load()
    assert first is not None
    store.save(first.model_copy(update={"expires_at": time.time() + 5}))  # inside the refresh margin
    client.companies()
    second = store.load()
    assert second is not None
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token

    reuse = httpx.post(
        f"{sandbox.url}/api/v3/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.refresh_token,
            "client_id": sandbox.info.client_id,
            "client_secret": sandbox.info.client_secret,
        },
    )
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    # Reuse of a rotated token revokes the grant: the connection is broken from now on.
    sandbox.expire_tokens()
    with pytest.raises(BrokenConnection):
        client.companies()


def test_expired_access_token_is_refreshed_once_on_401(sandbox: AccountViewSandbox) -> None:
    store = MemoryTokenStore()
    client = sandbox.authorised_client(token_store=store, options=fast_options(sandbox))
    before = store.load()
    sandbox.expire_tokens()  # the server says 401 although our clock thinks the token is fine
    assert client.journals()
    after = store.load()
    assert before is not None and after is not None and after.access_token != before.access_token
    assert sum(g.refreshes for g in sandbox.auth.grants()) == 1


def test_short_token_lifetime_from_sandbox_settings(sandbox: AccountViewSandbox) -> None:
    sandbox.auth.settings.access_token_ttl = 30
    store = MemoryTokenStore()
    sandbox.authorised_client(token_store=store)
    tokens = store.load()
    assert tokens is not None and tokens.expires_within(31) and not tokens.expires_within(20)


def test_without_the_lock_concurrent_refreshes_lose_the_grant(sandbox: AccountViewSandbox) -> None:
    """The control experiment for the two-process test: with a lock that locks nothing, two workers
    refresh with the same refresh token and the reuse detection revokes the grant."""

    class NoLockStore(MemoryTokenStore):
        def refresh_lock(self):  # type: ignore[no-untyped-def]
            return nullcontext()

    store = NoLockStore()
    sandbox.authorised_client(token_store=store)
    tokens = store.load()
    assert tokens is not None
    store.save(tokens.model_copy(update={"expires_at": 0}))
    sandbox.faults.add(Fault(kind="latency", path="/api/v3/token", seconds=0.3))
    errors: list[Exception] = []

    def work() -> None:
        try:
            sandbox.client(token_store=store, options=fast_options(sandbox)).journals()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert any(isinstance(e, BrokenConnection) for e in errors)
    assert all(g.revoked for g in sandbox.auth.grants())


WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from koppel.connectors.accountview.client import AccountViewClient, AccountViewOptions
    from koppel.connectors.accountview.oauth import FileTokenStore
    url, client_id, secret, company, store_path, ready, go = sys.argv[1:8]
    client = AccountViewClient(url, client_id=client_id, client_secret=secret, company_id=company,
                               token_store=FileTokenStore(store_path), timeout=5.0,
                               options=AccountViewOptions(retry_attempts=1))
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.005)
    print(len(client.journals()))
""")


@pytest.mark.slow  # two Python processes racing
def test_two_processes_refreshing_at_once_never_lose_the_grant(
    sandbox: AccountViewSandbox, tmp_path: Path
) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    sandbox.authorised_client(token_store=store)
    tokens = store.load()
    assert tokens is not None
    store.save(tokens.model_copy(update={"expires_at": 0}))  # both workers must refresh first
    sandbox.faults.add(Fault(kind="latency", path="/api/v3/token", seconds=0.3))  # widen the race
    info, go = sandbox.info, tmp_path / "go"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                info.url,
                info.client_id,
                info.client_secret,
                info.company_id,
                str(store.path),
                str(tmp_path / f"ready{n}"),
                str(go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 60  # generous: imports are slow on a busy machine
    while not all((tmp_path / f"ready{n}").exists() for n in range(2)):
        exited = [w for w in workers if w.poll() is not None]
        assert not exited, exited[0].communicate()
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.01)
    go.touch()
    results = [w.communicate(timeout=20) for w in workers]

    assert [w.returncode for w in workers] == [0, 0], results
    grants = sandbox.auth.grants()
    assert len(grants) == 1 and not grants[0].revoked
    assert grants[0].refreshes == 1  # the second worker used the token the first one saved
    final = store.load()
    assert isinstance(final, TokenSet) and not final.expires_within(60)
    sandbox.expire_tokens()
    assert sandbox.client(token_store=store).journals()  # the stored grant still works


def test_expired_token_answered_with_http_200_is_refreshed(sandbox: AccountViewSandbox) -> None:
    client = sandbox.authorised_client(options=fast_options(sandbox))
    sandbox.quirks.error_200 = True
    sandbox.expire_tokens()
    assert client.journals()


def test_customer_host_with_a_path_prefix(sandbox: AccountViewSandbox) -> None:
    """Customers' own AccountView.net hosts: the base URL may carry a path."""
    with serve_in_thread(Starlette(routes=[Mount("/accountview", app=sandbox.app())])) as server:
        info = sandbox.info
        client = AccountViewClient(
            f"{server.url}/accountview",
            client_id=info.client_id,
            client_secret=info.client_secret,
            token_store=MemoryTokenStore(),
            company_id=info.company_id,
            options=fast_options(sandbox),
            timeout=2.0,
        )
        url, _ = client.authorize_url(REDIRECT_URI)
        assert url.startswith(f"{server.url}/accountview/ams/authorize.aspx")
        sandbox.authorise(client)
        assert [c.code for c in client.companies()] == ["DEMO"] and client.vat_codes()


def test_a_refresh_answer_without_refresh_token_keeps_the_old_one() -> None:
    """A server that does not rotate may leave `refresh_token` (and `expires_in`) out of its answer."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from koppel.connectors.accountview.oauth import OAuthEndpoints, refresh_tokens

    async def token(request: Request) -> JSONResponse:
        form = parse_qs((await request.body()).decode())
        assert form["refresh_token"] == ["the-only-refresh-token"]
        return JSONResponse({"access_token": "fresh-access", "token_type": "bearer"})

    with serve_in_thread(Starlette(routes=[Route("/api/v3/token", token, methods=["POST"])])) as server:
        endpoints = OAuthEndpoints(httpx.Client(), server.url, client_id="c", client_secret="s", token_lifetime=900)
        store = MemoryTokenStore(TokenSet(access_token="old", refresh_token="the-only-refresh-token", expires_at=0))
        before = time.time()
        fresh = refresh_tokens(store, endpoints, used=store.load(), margin=60)  # type: ignore[arg-type]
    assert store.load() == fresh
    assert (fresh.access_token, fresh.refresh_token) == ("fresh-access", "the-only-refresh-token")
    assert before + 900 <= fresh.expires_at <= time.time() + 900
