"""The connector clients of an integration, built from its stored connections: settings from the
connection (AccountView's with its installation profile and rate limit), secrets decrypted from its
credentials, AccountView tokens in a `ConnectionTokenStore`. Their calls and rate-limit waits are counted
per system for the operators' metrics (Prometheus, `koppel.alerts.metrics`) and, for an integration's
clients, per integration and day for its insights (`koppel.sync.api_usage`).

This is the engine's side of the wiring (it reads the database); flows receive ready clients and
never see a Connection row. Cached per process, since clients hold connection pools and rate limiters.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx
from django.db import close_old_connections, connection
from pydantic import ValidationError

from koppel.alerts.metrics import MeteredTransport, TimedPostgresRateLimiter, timed
from koppel.connectors.accountview.client import AccountViewClient, AccountViewOptions
from koppel.connectors.accountview.oauth import SYSTEM as ACCOUNTVIEW
from koppel.connectors.http import account_key
from koppel.connectors.http.rate_limit import RateLimiter, process_rate_limiter
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.core.integrations.settings import AccountViewSettings, problems
from koppel.errors import BrokenConnection
from koppel.settings import get_settings
from koppel.sync.api_usage import counted_limiter, counted_transport
from koppel.sync.token_store import ConnectionTokenStore


@dataclass
class IntegrationClients:
    """What a flow run needs of an integration: both clients, its flow settings and mapping overrides."""

    integration_id: int
    shop: MijnWebwinkelClient
    books: AccountViewClient
    flows: dict[str, Any]
    mapping_overrides: dict[str, Any]


_cache: dict[int, tuple[str, IntegrationClients]] = {}
_lock = threading.Lock()


def integration_id(name: str) -> int:
    """The id of the integration called `name`; LookupError naming the known ones otherwise."""
    from koppel.core.integrations.models import Integration

    try:
        found = Integration.objects.filter(name=name).values_list("pk", flat=True).first()
        if found is None:
            known = ", ".join(Integration.objects.order_by("name").values_list("name", flat=True)) or "none"
            raise LookupError(f"no integration {name!r}; known: {known}")
        return int(found)
    finally:
        _release()


def integration_clients(integration_id: int) -> IntegrationClients:
    """The clients of an integration, rebuilt when the integration or its connections changed."""
    from koppel.core.integrations.models import Integration

    try:
        integration = Integration.objects.select_related("shop", "books").get(pk=integration_id)
        version = "|".join(str(x.updated_at) for x in (integration, integration.shop, integration.books))
        with _lock:
            cached = _cache.get(integration_id)
            if cached and cached[0] == version:
                return cached[1]
        built = IntegrationClients(
            integration_id=integration_id,
            shop=shop_client(integration.shop.settings, integration.shop.credentials, integration_id=integration_id),
            books=books_client(integration.books.pk, integration.books.settings, integration.books.credentials,
                               integration_id=integration_id),
            flows=dict(integration.flows or {}),
            mapping_overrides=dict(integration.mapping_overrides or {}),
        )
        with _lock:
            _cache[integration_id] = (version, built)
        return built
    finally:
        _release()


def shared_rate_limiter(rate_per_second: float | None, *identity: str) -> RateLimiter | None:
    """With PostgreSQL (several workers, perhaps on several machines) one limit per remote account held in
    the database, so workers together keep to the account's rate instead of each to all of it; with SQLite
    (one process) None: the client's limiter shared by the clients of this process."""
    database_url = get_settings().database_url
    if not rate_per_second or not database_url or not get_settings().uses_postgres:
        return None
    key = account_key(*identity)
    with _lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = TimedPostgresRateLimiter(identity[0], database_url, account=key,
                                                                rate_per_second=rate_per_second)
        return limiter


_limiters: dict[str, RateLimiter] = {}
MWW = "mijnwebwinkel"
RATE_BURST = 5  # the clients' default burst


def shop_client(settings: dict[str, Any], credentials: dict[str, Any], *,
                transport: httpx.BaseTransport | None = None, integration_id: int | None = None) -> MijnWebwinkelClient:
    """The MijnWebwinkel client of a connection; `transport` replaces its HTTP transport (the dry run's
    read-only one). With `integration_id`, its calls and rate-limit waits are counted for the integration's
    insights (`api_usage`)."""
    base_url = settings.get("base_url", "https://api.myonlinestore.com")
    rate = settings.get("rate_per_second", 5.0)
    limiter = shared_rate_limiter(rate, MWW, base_url, credentials["token"]) or timed(MWW, process_rate_limiter(
        account_key(base_url, credentials["token"]), rate, RATE_BURST))  # the client's own default, its waits counted
    return MijnWebwinkelClient(
        base_url,
        credentials["token"],
        credentials["partner_token"],
        api_version=str(settings.get("api_version", "1")),
        language=settings.get("language", "nl_NL"),
        rate_per_second=rate,
        rate_limiter=counted_limiter(integration_id, MWW, limiter),
        transport=counted_transport(integration_id, MWW, MeteredTransport(MWW, transport)),
    )


def books_client(
    connection_id: int, settings: dict[str, Any], credentials: dict[str, Any], *, http: httpx.Client | None = None,
    integration_id: int | None = None,
) -> AccountViewClient:
    """The AccountView client as the connection's settings describe it: its profile, its rate limit.
    Settings stored before they were validated and now refused stop the flow, naming the setting.
    `http` replaces its HTTP client (the dry run's read-only one). With `integration_id`, its calls (token
    refreshes too) and rate-limit waits are counted for the integration's insights (`api_usage`)."""
    try:
        config = AccountViewSettings.model_validate(settings)
    except ValidationError as exc:
        raise BrokenConnection(
            "the AccountView connection's settings are invalid: " + "; ".join(problems("settings", exc)),
            system=ACCOUNTVIEW,
        ) from None
    limiter = shared_rate_limiter(config.rate_per_second, ACCOUNTVIEW, config.base_url, credentials["client_id"],
                                  config.company_id) or timed(ACCOUNTVIEW, process_rate_limiter(
        account_key(config.base_url, credentials["client_id"]), config.rate_per_second, RATE_BURST))
    return AccountViewClient(
        config.base_url,
        client_id=credentials["client_id"],
        client_secret=credentials["client_secret"],
        token_store=ConnectionTokenStore(connection_id),
        company_id=config.company_id,
        options=AccountViewOptions(profile=config.profile),
        rate_per_second=config.rate_per_second,
        rate_limiter=counted_limiter(integration_id, ACCOUNTVIEW, limiter),
        # the client's own default timeouts, its calls counted for the operators' metrics (and the insights)
        http=http or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0), transport=counted_transport(
            integration_id, ACCOUNTVIEW, MeteredTransport(ACCOUNTVIEW))),
    )


def _release() -> None:
    if not connection.in_atomic_block:
        close_old_connections()
