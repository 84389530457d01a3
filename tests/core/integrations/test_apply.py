"""Applying an integration file (`koppel integration apply`), in this process against the test
database: validation before writing, idempotence, one transaction, secrets never in plain text."""

from __future__ import annotations

import stat
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from koppel.connectors.accountview.models import VatCode
from koppel.core.accounts.models import Workspace
from koppel.core.integrations.apply import ApplyError, apply_file
from koppel.core.integrations.models import Connection, Integration
from koppel.core.keys import rotate_keys
from koppel.settings import get_settings

pytestmark = pytest.mark.django_db

GOOD = """
[workspace]
name = "acme"
retention_days = 30

[connections.shop]
system = "mijnwebwinkel"
settings = { base_url = "http://127.0.0.1:9" }
credentials = { token = "env:ACME_MWW_TOKEN", partner_token = "partner-Zq7Lh2-secret" }

[connections.books]
system = "accountview"
settings = { base_url = "http://127.0.0.1:9", company_id = "ACME" }
credentials = { client_id = "acme-client", client_secret = "av-Wm93kP-secret" }

[integration]
name = "acme-shop"
shop = "shop"
books = "books"

[integration.flows.orders]
statuses = [2, 3]
write_as = "invoice"
revenue_accounts = { article = "8000" }
"""
SECRETS = ["store-Tk81xQ-secret", "partner-Zq7Lh2-secret", "av-Wm93kP-secret"]


@pytest.fixture(autouse=True)
def data_dir(koppel_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The key file goes to this test's data dir; the file refers to the store token by environment."""
    monkeypatch.setenv("ACME_MWW_TOKEN", "store-Tk81xQ-secret")
    return koppel_data_dir


def write(tmp_path: Path, text: str, name: str = "integration.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def database_dump() -> str:
    """Every row of every table, as SQL: what someone who copies the database file can read."""
    connection.ensure_connection()
    return "\n".join(connection.connection.iterdump())


def counts() -> list[int]:
    return [Workspace.objects.count(), Connection.objects.count(), Integration.objects.count()]


def test_apply_creates_everything_and_reapplying_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    first = apply_file(path)
    assert "created integration acme-shop" in first.changes
    assert apply_file(path).changes == []
    integration = Integration.objects.get(name="acme-shop")
    assert integration.flows["orders"]["write_as"] == "invoice"
    assert integration.flows["orders"]["statuses"] == [2, 3]
    assert (integration.shop.name, integration.books.name) == ("shop", "books")
    assert integration.workspace.retention_days == 30
    assert integration.shop.credentials == {"token": "store-Tk81xQ-secret", "partner_token": "partner-Zq7Lh2-secret"}


def test_a_changed_file_updates_only_what_changed(tmp_path: Path) -> None:
    apply_file(write(tmp_path, GOOD))
    changes = apply_file(write(tmp_path, GOOD.replace("retention_days = 30", "retention_days = 7")))
    assert changes.changes == ["updated workspace acme: retention_days"]


def test_database_holds_no_plaintext_secret_and_keys_file_is_private(tmp_path: Path, data_dir: Path) -> None:
    apply_file(write(tmp_path, GOOD))
    dump = database_dump()
    assert "acme-client" not in dump  # even the client id is a credential
    for secret in SECRETS:
        assert secret not in dump
    assert stat.S_IMODE((data_dir / "encryption.keys").stat().st_mode) == 0o600


def test_rotate_keys_keeps_every_secret_readable(tmp_path: Path, data_dir: Path) -> None:
    apply_file(write(tmp_path, GOOD))
    old_key = (data_dir / "encryption.keys").read_text()
    before = {c.name: c.credentials for c in Connection.objects.all()}
    assert rotate_keys(get_settings()) == (2, True)
    new_key = (data_dir / "encryption.keys").read_text()
    assert new_key != old_key and old_key.strip() not in new_key  # the old key is gone, not kept beside
    assert {c.name: c.credentials for c in Connection.objects.all()} == before
    assert before["shop"]["token"] == "store-Tk81xQ-secret"
    dump = database_dump()
    assert not [s for s in SECRETS if s in dump]


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (GOOD.replace('company_id = "ACME"', 'company_id = ""'), "connections.books.settings.company_id"),
        (GOOD.replace('shop = "shop"', 'shop = "webshop"'), "integration.shop"),
        (GOOD.replace('system = "accountview"', 'system = "mijnwebwinkel"'), "integration.books"),
        (GOOD.replace("statuses = [2, 3]", "statuses = []"), "integration.flows.orders.statuses"),
        (GOOD.replace('write_as = "invoice"', 'write_as = "fax"'), "integration.flows.orders.write_as"),
        (GOOD.replace('token = "env:ACME_MWW_TOKEN"', 'token = "env:NOT_SET_ANYWHERE"'), "NOT_SET_ANYWHERE"),
        (GOOD.replace('[workspace]\nname = "acme"', "[workspace]"), "workspace.name"),
        (GOOD + "\n[integration.flows.orders.colour]\nx = 1\n", "integration.flows.orders.colour"),
        ("this is [not toml", "not valid TOML"),
        (GOOD + '\n[integration.mapping_overrides.mww_order_to_av_sales_order.fields.COMMENT1]\n'
                'source = "number"\ntransforms = ["shout"]\n', "shout"),
        (GOOD + '\n[integration.mapping_overrides.no_such_map]\nfields = {}\n', "no_such_map"),
    ],
)
def test_malformed_or_incomplete_file_names_the_field_and_writes_nothing(
    tmp_path: Path, broken: str, named: str
) -> None:
    with pytest.raises(ApplyError) as refused:
        apply_file(write(tmp_path, broken))
    assert named in str(refused.value)
    assert counts() == [0, 0, 0]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ApplyError, match="no such file"):
        apply_file(tmp_path / "absent.toml")


def test_a_late_failure_rolls_back_the_whole_file(tmp_path: Path) -> None:
    apply_file(write(tmp_path, GOOD))
    other = GOOD.replace('name = "acme"', 'name = "other"').replace("retention_days = 30", "retention_days = 7")
    with pytest.raises(ApplyError, match="belongs to another workspace"):
        apply_file(write(tmp_path, other, "other.toml"))
    # The workspace and connections of `other` were written before the integration refused: all undone.
    assert counts() == [1, 2, 1]
    assert list(Workspace.objects.values_list("name", "retention_days")) == [("acme", 30)]


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (GOOD.replace('revenue_accounts = { article = "8000" }', ""), "integration.flows.orders.revenue_accounts"),
        (GOOD.replace('base_url = "http://127.0.0.1:9", company_id', 'base_url = "http://av.example.nl", company_id'),
         "connections.books.settings.base_url"),
        (GOOD.replace('settings = { base_url = "http://127.0.0.1:9" }', 'settings = { base_url = "http://10.0.0.8" }'),
         "connections.shop.settings.base_url"),
    ],
)
def test_a_file_that_would_park_every_order_or_send_secrets_in_the_clear_is_refused(
    tmp_path: Path, broken: str, named: str
) -> None:
    with pytest.raises(ApplyError) as refused:
        apply_file(write(tmp_path, broken))
    assert named in str(refused.value)
    assert counts() == [0, 0, 0]


def test_invoices_without_revenue_accounts_are_fine_while_orders_are_off(tmp_path: Path) -> None:
    off = GOOD.replace('revenue_accounts = { article = "8000" }', "enabled = false")
    assert "created integration acme-shop" in apply_file(write(tmp_path, off)).changes


def test_a_new_connection_is_created_not_also_updated(tmp_path: Path) -> None:
    changes = apply_file(write(tmp_path, GOOD)).changes
    assert [c for c in changes if "connection" in c] == ["created connection shop", "created connection books"]


TOKENS = {"access_token": "at", "refresh_token": "rotated-live", "expires_at": 1.0}


def connected(tmp_path: Path, text: str = GOOD) -> Connection:
    """Applied, then connected: the tokens AccountView gave the platform (as koppel.sync.token_store keeps them)."""
    apply_file(write(tmp_path, text))
    books = Connection.objects.get(name="books")
    books.credentials = {**books.credentials, "tokens": TOKENS, "refresh_token": "rotated-live"}
    books.save()
    return books


def test_reapplying_keeps_the_platforms_tokens_even_against_a_refresh_token_in_the_file(tmp_path: Path) -> None:
    seeded = GOOD.replace('client_secret = "av-Wm93kP-secret" }', 'client_secret = "av-Wm93kP-secret", '
                                                                   'refresh_token = "seed-long-dead" }')
    connected(tmp_path, seeded)
    assert apply_file(write(tmp_path, seeded)).changes == []
    assert apply_file(write(tmp_path, GOOD)).changes == []
    assert Connection.objects.get(name="books").credentials["refresh_token"] == "rotated-live"


def test_another_accountview_app_drops_the_tokens_of_the_former_one(tmp_path: Path) -> None:
    connected(tmp_path)
    changes = apply_file(write(tmp_path, GOOD.replace('"acme-client"', '"acme-client-2"'))).changes
    assert changes == ["updated connection books: credentials (the tokens of the former AccountView app or "
                       "server are dropped: connect again)"]
    assert Connection.objects.get(name="books").credentials == {"client_id": "acme-client-2",
                                                                 "client_secret": "av-Wm93kP-secret"}


AV_CODES = [VatCode(code="H1", description="hoog", percentage=Decimal(21)),
            VatCode(code="L1", description="laag", percentage=Decimal(9)),
            VatCode(code="N0", description="nul", percentage=Decimal(0)),
            VatCode(code="EU", description="ICL", percentage=Decimal(0), reverse_charge=True),
            VatCode(code="L6", description="oud laag", percentage=Decimal(6))]
ALL_RATES = '\n[integration.flows.orders.vat_codes]\n"21" = "H1"\n"9" = "L1"\n"0" = "N0"\nreverse_charge = "EU"\n'


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ("", ["no VAT code for 21%", "no VAT code for 9%", "no VAT code for 0%", 'e.g. "9" = "L1"']),
        (ALL_RATES.replace('"L1"', '"L2"'), ["vat_codes.9: AccountView has no VAT code 'L2'", "H1 (21%)"]),
        (ALL_RATES.replace('"0" = "N0"', '"0" = "H1"'), ["vat_codes.0: AccountView's VAT code H1 is 21%, not 0%"]),
    ],
)
def test_vat_rates_without_accountview_codes_are_refused_once_the_codes_are_known(
    tmp_path: Path, table: str, named: list[str]
) -> None:
    connected(tmp_path)
    with pytest.raises(ApplyError) as refused:
        apply_file(write(tmp_path, GOOD + table), vat_codes_of=lambda books: AV_CODES)
    for text in named:
        assert text in str(refused.value)
    assert "no VAT code for 6%" not in str(refused.value)  # a rate no Dutch shop charges needs no entry
    assert Integration.objects.get().flows["orders"]["vat_codes"] == {}  # nothing written


def test_vat_codes_are_not_checked_while_unknown(tmp_path: Path) -> None:
    asked: list[int] = []
    apply_file(write(tmp_path, GOOD), vat_codes_of=lambda books: asked.append(books.pk) or AV_CODES)
    assert asked == []  # not connected yet: nothing to ask
    connected(tmp_path)
    assert apply_file(write(tmp_path, GOOD + ALL_RATES), vat_codes_of=lambda books: AV_CODES).changes
    apply_file(write(tmp_path, GOOD), vat_codes_of=lambda books: None)  # unreachable now: not refused


def test_an_unset_environment_variable_is_reported_once(tmp_path: Path) -> None:
    unset = GOOD.replace('"partner-Zq7Lh2-secret"', '"env:NOT_SET_ANYWHERE"')
    with pytest.raises(ApplyError) as refused:
        apply_file(write(tmp_path, unset))
    assert str(refused.value).splitlines()[1:] == [
        "  connections.shop.credentials.partner_token: environment variable NOT_SET_ANYWHERE is not set"]
