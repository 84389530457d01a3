"""The sandbox's OAuth2 server: authorization codes, grants, rotating refresh tokens, access tokens."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field


@dataclass
class AuthSettings:
    client_id: str = "koppel-sandbox"
    client_secret: str = "sandbox-secret"
    access_token_ttl: int = 3600  # seconds; `expires_in` of every token answer
    code_ttl: int = 300
    rotate_refresh_tokens: bool = True
    revoke_grant_on_reuse: bool = True  # reuse of a rotated refresh token kills the whole grant


@dataclass
class Grant:
    id: str
    client_id: str
    scope: str
    refresh_token: str
    revoked: bool = False
    old_refresh_tokens: set[str] = field(default_factory=set)
    refreshes: int = 0


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class AuthServer:
    def __init__(self, settings: AuthSettings | None = None) -> None:
        self.settings = settings or AuthSettings()
        self._lock = threading.RLock()
        self._codes: dict[str, tuple[str, str, str, float]] = {}  # code → client, redirect, scope, expiry
        self._grants: dict[str, Grant] = {}
        self._by_refresh: dict[str, str] = {}  # any refresh token ever issued → grant id
        self._access: dict[str, tuple[str, float]] = {}  # access token → grant id, expiry

    def issue_code(self, client_id: str, redirect_uri: str, scope: str) -> str:
        if client_id != self.settings.client_id:
            raise OAuthError("unauthorized_client", "unknown client_id")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = (client_id, redirect_uri, scope, time.time() + self.settings.code_ttl)
        return code

    def token(self, form: dict[str, str]) -> dict[str, object]:
        if (
            form.get("client_id") != self.settings.client_id
            or form.get("client_secret") != self.settings.client_secret
        ):
            raise OAuthError("invalid_grant", "invalid client credentials")
        grant_type = form.get("grant_type", "")
        with self._lock:
            if grant_type == "authorization_code":
                return self._from_code(form)
            if grant_type == "refresh_token":
                return self._from_refresh(form.get("refresh_token", ""))
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def token_for_implicit(self, client_id: str, scope: str) -> dict[str, object]:
        """The implicit grant (`response_type=token`, S5): an access token without a refresh token."""
        if client_id != self.settings.client_id:
            raise OAuthError("unauthorized_client", "unknown client_id")
        with self._lock:
            grant = Grant(id=secrets.token_hex(8), client_id=client_id, scope=scope, refresh_token="")
            self._grants[grant.id] = grant
            return self._answer(grant)

    def _from_code(self, form: dict[str, str]) -> dict[str, object]:
        entry = self._codes.pop(form.get("code", ""), None)
        if entry is None or entry[3] < time.time():
            raise OAuthError("invalid_grant", "unknown, used or expired code")
        client_id, redirect_uri, scope, _ = entry
        if form.get("redirect_uri") != redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
        grant = Grant(
            id=secrets.token_hex(8), client_id=client_id, scope=scope, refresh_token=secrets.token_urlsafe(32)
        )
        self._grants[grant.id] = grant
        self._by_refresh[grant.refresh_token] = grant.id
        return self._answer(grant)

    def _from_refresh(self, refresh_token: str) -> dict[str, object]:
        grant = self._grants.get(self._by_refresh.get(refresh_token, ""))
        if grant is None or grant.revoked:
            raise OAuthError("invalid_grant", "unknown or revoked refresh token")
        if refresh_token != grant.refresh_token:
            if self.settings.revoke_grant_on_reuse:
                grant.revoked = True
            raise OAuthError("invalid_grant", "refresh token was already used")
        grant.refreshes += 1
        if self.settings.rotate_refresh_tokens:
            grant.old_refresh_tokens.add(grant.refresh_token)
            grant.refresh_token = secrets.token_urlsafe(32)
            self._by_refresh[grant.refresh_token] = grant.id
        return self._answer(grant)

    def _answer(self, grant: Grant) -> dict[str, object]:
        access = secrets.token_urlsafe(32)
        ttl = self.settings.access_token_ttl
        self._access[access] = (grant.id, time.time() + ttl)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ttl,
            "refresh_token": grant.refresh_token,
            "scope": grant.scope,
        }

    def check_access(self, token: str) -> bool:
        with self._lock:
            entry = self._access.get(token)
            if entry is None or entry[1] < time.time():
                return False
            grant = self._grants.get(entry[0])
            return grant is not None and not grant.revoked

    def expire_access_tokens(self) -> int:
        """Fault: every access token issued so far is expired from now on."""
        with self._lock:
            for token, (grant_id, _) in list(self._access.items()):
                self._access[token] = (grant_id, 0.0)
            return len(self._access)

    def revoke_all(self) -> None:
        with self._lock:
            for grant in self._grants.values():
                grant.revoked = True

    def grants(self) -> list[Grant]:
        with self._lock:
            return list(self._grants.values())

    def reset(self) -> None:
        with self._lock:
            self._codes.clear()
            self._grants.clear()
            self._by_refresh.clear()
            self._access.clear()
