"""`koppel check --integration NAME`: the AccountView profile against the server's own dictionary, through
the real command. It passes on a sandbox started with the same profile and fails readably, naming each
field and the setting to change, on a sandbox started with another one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.sandbox import REDIRECT_URI, AccountViewSandbox
from tests.cli_runner import Koppel, make_koppel

pytestmark = pytest.mark.slow  # real `koppel` processes: seconds each
INTEGRATION = """
[workspace]
name = "acme"

[connections.shop]
system = "mijnwebwinkel"
settings = {{ base_url = "http://127.0.0.1:9" }}
credentials = {{ token = "store-token", partner_token = "partner-token" }}

[connections.books]
system = "accountview"
settings = {{ base_url = "{url}", company_id = "{company_id}" }}
credentials = {{ client_id = "{client_id}", client_secret = "{client_secret}" }}

[integration]
name = "acme-shop"
shop = "shop"
books = "books"
"""
CONNECT = """
from urllib.parse import parse_qs, urlparse
from koppel.core.integrations.models import Connection
from koppel.sync.clients import books_client

row = Connection.objects.get(name="books")
client = books_client(row.pk, row.settings, row.credentials)
page = client.http.get(client.authorize_url({redirect!r})[0], follow_redirects=False)
client.exchange_code(parse_qs(urlparse(page.headers["location"]).query)["code"][0], {redirect!r})
"""
# What another installation might look like: the EAN elsewhere, payment conditions in another table,
# and the field we keep our order key in a memo, as COMMENT1 is in AccountView's other tables.
OTHER = AccountViewProfile(
    article_ean_field="EAN_CODE",
    payment_condition_table="BETCOND",
    table_layouts={"SO_HDR.COMMENT1": {"type": "M", "length": 4}},
)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    koppel = make_koppel(tmp_path_factory.mktemp("template"))
    koppel("migrate")
    return koppel.data_dir


def connected(tmp_path: Path, migrated: Path, sandbox: AccountViewSandbox) -> Koppel:
    koppel = make_koppel(tmp_path)
    shutil.copytree(migrated, koppel.data_dir)
    info = sandbox.info
    path = tmp_path / "integration.toml"
    path.write_text(INTEGRATION.format(url=info.url, company_id=info.company_id, client_id=info.client_id,
                                       client_secret=info.client_secret))
    koppel("integration", "apply", str(path))
    koppel.python(CONNECT.format(redirect=REDIRECT_URI))
    return koppel


@pytest.fixture
def same(tmp_path: Path, migrated: Path) -> Iterator[Koppel]:
    with AccountViewSandbox(seed=2, size=8) as sandbox:
        yield connected(tmp_path, migrated, sandbox)


@pytest.fixture
def other(tmp_path: Path, migrated: Path) -> Iterator[Koppel]:
    with AccountViewSandbox(seed=2, size=8, profile=OTHER) as sandbox:
        yield connected(tmp_path, migrated, sandbox)


def test_the_profile_fits_a_sandbox_started_with_it(same: Koppel) -> None:
    result = same("check", "--integration", "acme-shop")
    assert "The AccountView profile of acme-shop fits" in result.stdout
    assert "problem" not in result.stdout
    answer = json.loads(same("check", "--integration", "acme-shop", "--json").stdout)
    assert answer["ok"] is True and not [f for f in answer["findings"] if f["severity"] == "problem"]


def test_another_installation_fails_naming_each_field_and_setting(other: Koppel) -> None:
    result = other("check", "--integration", "acme-shop", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "does not fit" in lines[0]

    def line(subject: str) -> str:
        found = [x for x in lines if f"problem: {subject}:" in x]
        assert found, result.stdout
        return found[0]

    assert "no such field" in line("ARTICLE.BAR_CODE") and "`article_ean_field`" in line("ARTICLE.BAR_CODE")
    assert "BETCOND" in line("business object BC1")
    assert "PAY_COND" in line("PAY_COND") and "`payment_condition_table`" in line("PAY_COND")
    memo = [x for x in lines if "SO_HDR.COMMENT1:" in x]
    assert any("is M(4) on this server, the profile assumes C(60)" in x for x in memo), result.stdout
    assert any("memo field" in x and "find a sales order by our key" in x for x in memo), result.stdout

    answer = json.loads(other("check", "--integration", "acme-shop", "--json", check=False).stdout)
    assert answer["ok"] is False
    assert {"ARTICLE.BAR_CODE", "SO_HDR.COMMENT1", "PAY_COND"} <= {f["subject"] for f in answer["findings"]}


def test_an_unknown_integration_is_named(same: Koppel) -> None:
    result = same("check", "--integration", "nope", check=False)
    assert result.returncode == 1 and "no integration 'nope'" in result.stderr
