"""The engine builds the AccountView client from the connection as the integration file set it: the
installation profile and the rate limit reach the client; settings stored before they were checked and
now refused stop the flow as a broken connection naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from koppel.connectors.http import NO_LIMIT
from koppel.core.integrations.apply import ApplyError, apply_file
from koppel.core.integrations.models import Integration
from koppel.errors import BrokenConnection
from koppel.sync.clients import books_client
from tests.core.integrations.test_apply import GOOD

pytestmark = pytest.mark.django_db
PROFILED = GOOD.replace(
    'settings = { base_url = "http://127.0.0.1:9", company_id = "ACME" }',
    'settings = { base_url = "http://127.0.0.1:9", company_id = "ACME", rate_per_second = 2, '
    'profile = { list_filter = "match_any", equal_case_sensitive = false, sales_order_reference_field = '
    '"a8_inv_nr", table_layouts = { "SO_HDR.A8_INV_NR" = { type = "C", length = 20 } } } }',
)


@pytest.fixture(autouse=True)
def token(koppel_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_MWW_TOKEN", "store-token")


def applied(tmp_path: Path, text: str) -> Integration:
    path = tmp_path / "integration.toml"
    path.write_text(text)
    apply_file(path)
    return Integration.objects.select_related("books").get(name="acme-shop")


def test_the_profile_and_the_rate_limit_reach_the_client(tmp_path: Path) -> None:
    books = applied(tmp_path, PROFILED).books
    assert books.settings["profile"]["sales_order_reference_field"] == "A8_INV_NR"
    client = books_client(books.pk, books.settings, books.credentials)
    assert client.profile.list_filter == "match_any" and not client.profile.equal_case_sensitive
    assert client.profile.sales_order_reference_field == "A8_INV_NR"
    reference = client.dictionary.field("SO_HDR", "A8_INV_NR")
    assert reference is not None and reference.length == 20
    assert client._limiter is not NO_LIMIT


def test_without_a_rate_the_client_is_not_limited(tmp_path: Path) -> None:
    books = applied(tmp_path, PROFILED.replace("rate_per_second = 2, ", "")).books
    defaults = books_client(books.pk, books.settings, books.credentials)
    assert defaults._limiter is not NO_LIMIT  # the default rate applies
    books.settings = {**books.settings, "rate_per_second": None}
    books.save()
    assert books_client(books.pk, books.settings, books.credentials)._limiter is NO_LIMIT


def test_a_bad_profile_value_refuses_the_whole_file(tmp_path: Path) -> None:
    with pytest.raises(ApplyError, match=r"connections\.books\.settings\.profile\.list_filter"):
        applied(tmp_path, PROFILED.replace('"match_any"', '"sometimes"'))
    assert not Integration.objects.exists()


def test_settings_stored_unchecked_stop_the_flow_naming_the_setting(tmp_path: Path) -> None:
    books = applied(tmp_path, GOOD).books
    type(books).objects.filter(pk=books.pk).update(settings={**books.settings, "profile": {"list_filter": "x"}})
    books.refresh_from_db()
    with pytest.raises(BrokenConnection, match=r"settings\.profile\.list_filter"):
        books_client(books.pk, books.settings, books.credentials)


@pytest.mark.postgres
def test_with_postgresql_the_workers_share_one_limit_per_account(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several worker processes must not each take the whole of an account's rate: with PostgreSQL the
    engine gives clients the database-held limit, one per remote account."""
    from koppel.connectors.http.postgres_rate_limit import PostgresRateLimiter
    from koppel.settings import get_settings
    from koppel.sync.clients import shop_client

    credentials = {"token": "store-1", "partner_token": "partner"}
    sqlite_client = shop_client({"base_url": "http://127.0.0.1:9"}, credentials)
    assert not isinstance(sqlite_client._limiter, PostgresRateLimiter)
    monkeypatch.setenv("KOPPEL_DATABASE_URL", postgres_database)
    get_settings.cache_clear()
    try:
        first = shop_client({"base_url": "http://127.0.0.1:9", "rate_per_second": 10}, credentials)
        again = shop_client({"base_url": "http://127.0.0.1:9", "rate_per_second": 10}, credentials)
        other = shop_client({"base_url": "http://127.0.0.1:9"}, {**credentials, "token": "store-2"})
        assert isinstance(first._limiter, PostgresRateLimiter)
        assert first._limiter is again._limiter and other._limiter is not first._limiter
        for client in (first, again, other, sqlite_client):
            client.close()
    finally:
        monkeypatch.delenv("KOPPEL_DATABASE_URL")
        get_settings.cache_clear()
