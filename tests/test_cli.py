"""The `koppel` command: what the commands print and return, checked in this process against the test
database, and once end to end as a user runs them, each command in a real subprocess."""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from typer.testing import Result

from koppel import cli
from koppel.connectors.accountview.sandbox import REDIRECT_URI, AccountViewSandbox
from koppel.connectors.sandboxkit.serve import free_port
from koppel.core.accounts.models import Membership
from koppel.core.activity.models import Activity, Run
from koppel.core.integrations.models import Connection
from koppel.sync import grants
from koppel.sync.clients import books_client
from koppel.sync.grants import GrantStart, start_grant
from tests.cli_runner import invoke, make_koppel
from tests.core.integrations.test_apply import GOOD, SECRETS
from tests.sync.test_grants import consent

STRONG = "kast-Wolk-7-fiets"
VAT_CODES = '\n[integration.flows.orders.vat_codes]\n"21" = "H1"\n"9" = "L1"\n"0" = "N0"\n'
JOURNALS = """
from koppel.core.accounts.models import Membership
from koppel.core.activity.models import Activity, Run
from koppel.core.integrations.models import Connection
from koppel.sync.clients import books_client
books = Connection.objects.get(name="books")
print("journals", len(books_client(books.pk, books.settings, books.credentials).journals()))
"""


@pytest.fixture
def integration_file(tmp_path: Path, koppel_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ACME_MWW_TOKEN", "store-Tk81xQ-secret")
    path = tmp_path / "integration.toml"
    path.write_text(GOOD)
    return path


@pytest.mark.django_db
def test_apply_says_what_it_changed_and_then_that_nothing_changed(integration_file: Path) -> None:
    first = invoke("integration", "apply", str(integration_file))
    assert first.exit_code == 0
    assert "created integration acme-shop" in first.stdout and "created connection books" in first.stdout
    assert "Next: authorise Koppel at AccountView with `koppel connect accountview --integration acme-shop`" \
        in first.stderr
    again = invoke("integration", "apply", str(integration_file))
    assert (again.exit_code, again.stdout.strip()) == (0, "nothing to change")
    listed = json.loads(invoke("integration", "list", "--json").stdout)
    assert listed == [{"name": "acme-shop", "workspace": "acme", "shop": "shop", "books": "books", "enabled": True,
                       "flows": ["orders"]}]
    assert not [s for s in SECRETS if s in first.stdout + again.stdout]


@pytest.mark.django_db
def test_a_refused_file_exits_1_and_names_the_field_on_stderr(integration_file: Path) -> None:
    integration_file.write_text(GOOD.replace('write_as = "invoice"', 'write_as = "fax"'))
    refused = invoke("integration", "apply", str(integration_file))
    assert refused.exit_code == 1
    assert "integration.flows.orders.write_as" in refused.stderr and refused.stdout == ""


@pytest.mark.django_db
def test_an_unknown_integration_is_named_with_the_known_ones(integration_file: Path) -> None:
    invoke("integration", "apply", str(integration_file))
    for command in (["activity"], ["runs"], ["check"], ["retry", "orders", "1042"], ["sync", "orders"]):
        typo = invoke(*command, "--integration", "acme-shoop", "--json")
        assert typo.exit_code == 1, command
        assert "no integration 'acme-shoop'; known: acme-shop" in typo.stderr and typo.stdout == "", command


@pytest.mark.django_db
def test_a_retry_of_a_record_never_handled_sends_nothing_and_parks_nothing(integration_file: Path) -> None:
    invoke("integration", "apply", str(integration_file))
    refused = invoke("retry", "orders", "10042", "--integration", "acme-shop")
    assert refused.exit_code == 1 and "acme-shop has never handled order 10042" in refused.stderr
    assert not Activity.objects.exists() and not Run.objects.exists()


@pytest.mark.slow  # starts the engine
@pytest.mark.django_db(transaction=True)  # the engine's threads see the data
def test_a_run_that_fails_before_listing_draws_no_progress_bar(integration_file: Path) -> None:
    invoke("integration", "apply", str(integration_file))  # AccountView not connected: the run stops at once
    failed = invoke("sync", "orders", "--integration", "acme-shop")
    assert failed.exit_code == 1 and "AccountView is not authorised yet" in failed.stderr
    assert "0/?" not in failed.stderr and "━" not in failed.stderr


@pytest.mark.django_db
def test_createuser_makes_a_normal_user_unless_superuser_and_refuses_weak_passwords(
    integration_file: Path, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # the validators are the test
    weak = invoke("createuser", "ann", "--password", "ann12345")
    assert weak.exit_code == 1 and "password refused" in weak.stderr and "too short" in weak.stderr
    assert invoke("createuser", "ann", "--password", "password123").exit_code == 1  # too common
    assert not User.objects.exists()
    nobody = invoke("createuser", "ann", "--password", STRONG, "--workspace", "acme")
    assert nobody.exit_code == 1 and "no workspace 'acme'; known: none" in nobody.stderr
    invoke("integration", "apply", str(integration_file))
    made = invoke("createuser", "ann", "--password", STRONG, "--workspace", "acme")
    assert made.exit_code == 0 and "created user ann, owner of workspace acme" in made.stdout
    ann = User.objects.get(username="ann")
    assert not ann.is_staff and not ann.is_superuser and ann.check_password(STRONG)
    assert list(Membership.objects.values_list("workspace__name", "role")) == [("acme", "owner")]
    assert invoke("createuser", "ops", "--password", STRONG, "--superuser").exit_code == 0
    ops = User.objects.get(username="ops")
    assert ops.is_staff and ops.is_superuser and not Membership.objects.filter(user=ops).exists()
    again = invoke("createuser", "ann", "--password", STRONG)
    assert again.exit_code == 1 and "exists already" in again.stderr


@pytest.mark.slow
def test_a_fresh_data_dir_set_up_by_the_commands(tmp_path: Path) -> None:
    """createuser before migrate, migrate, integration apply, integration list and rotate-keys, each as its own
    process; the data directory they leave is private."""
    koppel = make_koppel(tmp_path, ACME_MWW_TOKEN="store-Tk81xQ-secret")
    path = tmp_path / "integration.toml"
    path.write_text(GOOD)
    early = koppel("createuser", "ann", check=False, input="")
    assert early.returncode == 1 and "no Koppel tables yet: run `koppel migrate` first" in early.stderr
    assert "Traceback" not in early.stderr
    koppel("migrate")
    applied = koppel("integration", "apply", str(path))
    assert "created integration acme-shop" in applied.stdout
    listed = json.loads(koppel("integration", "list", "--json").stdout)
    assert [i["name"] for i in listed] == ["acme-shop"]
    rotated = koppel("rotate-keys")
    assert "re-encrypted 2 connection(s) under a new key" in rotated.stdout
    with sqlite3.connect(koppel.data_dir / "koppel.sqlite") as db:
        dump = "\n".join(db.iterdump())
    assert "acme-shop" in dump and not [s for s in SECRETS if s in dump]
    assert stat.S_IMODE(koppel.data_dir.stat().st_mode) == 0o700
    files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in koppel.data_dir.iterdir() if p.is_file()}
    assert {"koppel.sqlite", "encryption.keys", "django.secret"} <= set(files)
    assert files == dict.fromkeys(files, 0o600)
    consoles = applied.stdout + applied.stderr + rotated.stdout + rotated.stderr
    assert not [s for s in SECRETS if s in consoles]


# -- koppel connect accountview ---------------------------------------------------------------------------


@pytest.fixture
def books_sandbox(integration_file: Path) -> Iterator[AccountViewSandbox]:
    """The integration file's AccountView connection pointed at a running sandbox."""
    with AccountViewSandbox(seed=1, size=5) as sandbox:
        integration_file.write_text(against(sandbox))
        yield sandbox


def against(sandbox: AccountViewSandbox) -> str:
    """The integration file with its AccountView connection at the sandbox."""
    info = sandbox.info
    return (GOOD.replace('base_url = "http://127.0.0.1:9", company_id = "ACME"',
                         f'base_url = "{info.url}", company_id = "{info.company_id}"')
            .replace('client_id = "acme-client", client_secret = "av-Wm93kP-secret"',
                     f'client_id = "{info.client_id}", client_secret = "{info.client_secret}"'))


def connect_by_pasting(monkeypatch: pytest.MonkeyPatch, *args: str, decision: str | None = None) -> Result:
    """The user at the terminal reads the printed URL (recorded from start_grant), opens it, decides on
    AccountView's page, and pastes the address the browser ends on."""
    started: list[GrantStart] = []

    def recorded(*a: Any, **kw: Any) -> GrantStart:
        started.append(start_grant(*a, **kw))
        return started[-1]

    def pasted(timeout: float, *, can_block: bool) -> tuple[str, bool]:
        return consent(started.pop().url, decision=decision), True

    monkeypatch.setattr(grants, "start_grant", recorded)
    monkeypatch.setattr(cli, "_pasted_line", pasted)
    return invoke("connect", "accountview", "--redirect-uri", REDIRECT_URI, *args)


@pytest.mark.django_db(transaction=True)
def test_connect_by_pasting_the_address_the_browser_ends_on(
    books_sandbox: AccountViewSandbox, integration_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("integration", "apply", str(integration_file)).exit_code == 0
    books_sandbox.auto_approve = False
    declined = connect_by_pasting(monkeypatch, "--integration", "acme-shop", decision="deny")
    assert declined.exit_code == 1 and "access was denied" in declined.stderr
    done = connect_by_pasting(monkeypatch, "--integration", "acme-shop", decision="approve")
    assert done.exit_code == 0, done.output
    assert "Open this address in a browser" in done.stdout and f"{books_sandbox.url}/ams/authorize.aspx?" in done.stdout
    assert "companies reached: DEMO (Demo BV)" in done.stdout
    books = Connection.objects.get(name="books")
    with books_client(books.pk, books.settings, books.credentials) as client:
        assert client.journals()  # the grant reaches the administration
    # Connected, the file's VAT codes are checked against AccountView's before anything is written.
    connected = integration_file.read_text()
    integration_file.write_text(connected + '\n[integration.flows.orders.vat_codes]\n"21" = "X9"\n')
    refused = invoke("integration", "apply", str(integration_file))
    assert refused.exit_code == 1 and "no VAT code for 9%" in refused.stderr
    assert "vat_codes.21: AccountView has no VAT code 'X9'; it has EU (0%, reverse charge), H1 (21%)" in refused.stderr
    integration_file.write_text(connected + VAT_CODES)
    applied = invoke("integration", "apply", str(integration_file))
    assert applied.stdout.strip() == "updated integration acme-shop: flows"
    again = invoke("integration", "apply", str(integration_file))
    assert again.stdout.strip() == "nothing to change", again.stderr  # the platform's tokens aren't a change
    assert "connect accountview" not in again.stderr  # connected: no advice to connect


@pytest.mark.django_db(transaction=True)
def test_connect_names_what_is_wrong(
    books_sandbox: AccountViewSandbox, integration_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = invoke("connect", "accountview", "--integration", "acme-shoop")
    assert unknown.exit_code == 1 and "no integration 'acme-shoop'; known: none" in unknown.stderr
    integration_file.write_text(integration_file.read_text().replace(books_sandbox.company_id, "ELSEWHERE"))
    invoke("integration", "apply", str(integration_file))
    elsewhere = connect_by_pasting(monkeypatch, "--integration", "acme-shop")
    assert elsewhere.exit_code == 1 and "DEMO (Demo BV)" in elsewhere.stdout
    assert "company_id 'ELSEWHERE' is none of them" in elsewhere.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = invoke("connect", "accountview", "--integration", "acme-shop", "--port", str(taken.getsockname()[1]))
    assert busy.exit_code == 1 and "choose another port with --port" in busy.stderr


@pytest.mark.slow
def test_connect_on_a_headless_server_through_the_loopback_port(tmp_path: Path) -> None:
    """The real command: it prints the URL, the browser (here httpx) consents at the sandbox and is sent back
    to the command's loopback port, which finishes the grant and tells the browser."""
    koppel = make_koppel(tmp_path, ACME_MWW_TOKEN="store-Tk81xQ-secret")
    with AccountViewSandbox(seed=1, size=5) as sandbox:
        path = tmp_path / "integration.toml"
        path.write_text(against(sandbox))
        koppel("migrate")
        koppel("integration", "apply", str(path))
        command = subprocess.Popen([sys.executable, "-m", "koppel.cli", "connect", "accountview", "--integration",
                                    "acme-shop", "--port", str(free_port())], env=koppel.env, text=True,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert command.stdout is not None
            url = next(line.strip() for line in command.stdout if line.strip().startswith("http"))
            page = httpx.get(url, follow_redirects=True, timeout=30)
            out, err = command.communicate(timeout=60)
        finally:
            command.kill()
        assert "Koppel is connected to AccountView" in page.text
        assert command.returncode == 0, err
        assert "companies reached: DEMO (Demo BV)" in out
        assert "journals 5" in koppel.python(JOURNALS)
