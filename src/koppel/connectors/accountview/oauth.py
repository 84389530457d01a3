"""OAuth2 for AccountView.net: the authorization-code flow, refresh with rotating refresh tokens, and the
token-store interface that lets the platform serialise refreshes per connection across processes.

Refresh tokens rotate (NOTES §3.3): a refresh token works once, and reusing an old one may revoke the
whole grant. So a refresh happens under the store's `refresh_lock()`, re-reads the store first (another
process may have refreshed already) and saves the new token set durably the instant it arrives, before
anything else can fail: `TokenStore.save` must have committed when it returns.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
import structlog
from pydantic import BaseModel

from koppel.errors import BrokenConnection, NeedsAttention, RetryableError
from koppel.reasons import reason

SYSTEM = "accountview"
DEFAULT_SCOPES = ("readaccountviewdata", "updateaccountviewdata")
CRASH_AT = "KOPPEL_CRASH_AT"  # crash tests: the refresh step at which this process kills itself
log = structlog.get_logger(__name__)


class TokenSet(BaseModel):
    access_token: str
    refresh_token: str
    expires_at: float  # unix time
    token_type: str = "bearer"
    scope: str = ""

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        return self.expires_at - (time.time() if now is None else now) <= seconds

    @classmethod
    def from_response(
        cls,
        body: dict[str, Any],
        *,
        now: float | None = None,
        lifetime: float = 3600,
        refresh_token: str = "",
    ) -> TokenSet:
        """The token set of a token answer. An answer without `refresh_token` keeps the one given (the
        refresh token just used: the server did not rotate it); without `expires_in`, `lifetime` counts."""
        issued = time.time() if now is None else now
        return cls(
            access_token=body["access_token"],
            refresh_token=str(body.get("refresh_token") or refresh_token),
            expires_at=issued + float(body.get("expires_in") or lifetime),
            token_type=str(body.get("token_type") or "bearer"),
            scope=str(body.get("scope") or ""),
        )


class TokenStore(Protocol):
    """Where one connection's tokens live. The platform implements it in its database."""

    def load(self) -> TokenSet | None: ...

    def save(self, tokens: TokenSet) -> None:
        """Store durably: when this returns, a process killed the next instant has the new tokens."""
        ...

    def refresh_lock(self) -> contextlib.AbstractContextManager[None]:
        """Held while refreshing; must exclude every other process refreshing the same connection."""
        ...


class MemoryTokenStore:
    """Tokens in memory; the lock serialises threads of one process only."""

    def __init__(self, tokens: TokenSet | None = None) -> None:
        self._tokens = tokens
        self._lock = threading.RLock()

    def load(self) -> TokenSet | None:
        return self._tokens

    def save(self, tokens: TokenSet) -> None:
        self._tokens = tokens

    @contextlib.contextmanager
    def refresh_lock(self) -> Iterator[None]:
        with self._lock:
            yield


class FileTokenStore:
    """Tokens in a JSON file, written atomically; `refresh_lock()` is an OS lock (fcntl) on `<path>.lock`,
    so processes sharing the file never refresh at the same time."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._thread_lock = threading.RLock()

    def load(self) -> TokenSet | None:
        try:
            return TokenSet.model_validate_json(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def save(self, tokens: TokenSet) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(tokens.model_dump_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def refresh_lock(self) -> Iterator[None]:
        with self._thread_lock, open(self.path.with_name(self.path.name + ".lock"), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class OAuthEndpoints:
    """The two OAuth2 calls of AccountView.net; client id and secret travel in the form body (NOTES §3.2)."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        *,
        client_id: str,
        client_secret: str,
        api_prefix: str = "/api/v3",
        token_lifetime: float = 3600,
    ) -> None:
        self.token_lifetime = token_lifetime
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = f"{self.base_url}{api_prefix}/token"

    def authorize_url(
        self, redirect_uri: str, *, state: str | None = None, scopes: tuple[str, ...] = DEFAULT_SCOPES
    ) -> tuple[str, str]:
        """The URL to send the user's browser to, and the `state` to check on the way back."""
        state = state or secrets.token_urlsafe(16)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(scopes),
                "state": state,
            }
        )
        return f"{self.base_url}/ams/authorize.aspx?{query}", state

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        tokens = self._token_call(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        )
        if not tokens.refresh_token:
            raise BrokenConnection(
                reason("AccountView granted access without a refresh token: access ends when the token expires; "
                       "check the app's scopes and connect again"),
                system=SYSTEM,
            )
        return tokens

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, keep_refresh_token=refresh_token
        )

    def _token_call(self, form: dict[str, str], *, keep_refresh_token: str = "") -> TokenSet:
        form = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        # Never retried here: a lost answer to a refresh already rotated the token.
        try:
            response = self.http.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.TimeoutException as exc:
            raise RetryableError(reason("AccountView token endpoint timed out: {error}", error=exc),
                                 system=SYSTEM) from exc
        except httpx.TransportError as exc:
            raise RetryableError(reason("AccountView token endpoint unreachable: {error}", error=exc),
                                 system=SYSTEM) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableError(
                reason("AccountView token endpoint answered {status}", status=response.status_code),
                system=SYSTEM,
                status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise RetryableError(
                reason("AccountView token endpoint sent no JSON"), system=SYSTEM, status=response.status_code
            ) from exc
        if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
            return TokenSet.from_response(body, lifetime=self.token_lifetime, refresh_token=keep_refresh_token)
        error = body.get("error") if isinstance(body, dict) else None
        if error in ("invalid_grant", "invalid_client", "unauthorized_client"):
            raise BrokenConnection(
                reason("AccountView refused the authorisation ({error}); reconnect the administration", error=error),
                system=SYSTEM,
                status=response.status_code,
            )
        raise NeedsAttention(
            reason("AccountView token endpoint answered {status}: {body}", status=response.status_code, body=body),
            system=SYSTEM,
            status=response.status_code,
        )


def refresh_tokens(store: TokenStore, endpoints: OAuthEndpoints, *, used: TokenSet, margin: float) -> TokenSet:
    """A fresh token set for the connection, refreshed at most once however many callers ask: under the
    store's lock, a caller whose `used` tokens were replaced meanwhile gets the replacement. The rotated
    refresh token is saved the instant the answer arrives; from then on the old one is dead."""
    with store.refresh_lock():
        current = store.load()
        if current is None:
            raise BrokenConnection(reason("AccountView tokens are gone: reconnect the administration"), system=SYSTEM)
        if current.access_token != used.access_token and not current.expires_within(margin):
            return current  # another worker refreshed while we waited for the lock
        crash_point("before_token_request")
        fresh = endpoints.refresh(current.refresh_token)
        crash_point("token_answered")
        store.save(fresh)
        crash_point("token_saved")
    log.info("accountview.token_refreshed", expires_at=fresh.expires_at)
    return fresh


def crash_point(name: str) -> None:
    """Crash tests: kill this process here, as a power cut or OOM kill would, when KOPPEL_CRASH_AT names
    this point (before_token_request, token_answered, token_saved)."""
    if os.environ.get(CRASH_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
