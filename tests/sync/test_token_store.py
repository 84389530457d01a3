"""Crash tests for AccountView's rotating refresh tokens in the connection's credentials: a worker killed
(SIGKILL) at each step of a refresh, then a new process must still reach AccountView with the grant."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from koppel.connectors.accountview.oauth import CRASH_AT
from koppel.connectors.accountview.sandbox import REDIRECT_URI, AccountViewSandbox
from tests.cli_runner import Koppel, make_koppel

pytestmark = pytest.mark.slow  # real `koppel` processes: seconds each
CONNECT = """
from urllib.parse import parse_qs, urlparse
from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection
from koppel.sync.clients import books_client

url, client_id, secret, company, redirect = {args!r}
workspace = Workspace.objects.create(name="acme")
row = Connection(workspace=workspace, name="books", system="accountview",
                 settings={{"base_url": url, "company_id": company}})
row.credentials = {{"client_id": client_id, "client_secret": secret}}
row.save()
client = books_client(row.pk, row.settings, row.credentials)
page = client.http.get(client.authorize_url(redirect)[0], follow_redirects=False)
client.exchange_code(parse_qs(urlparse(page.headers["location"]).query)["code"][0], redirect)
tokens = client.token_store.load()
client.token_store.save(tokens.model_copy(update={{"expires_at": 0}}))  # the next call must refresh
"""
WORK = """
from koppel.core.integrations.models import Connection
from koppel.sync.clients import books_client

row = Connection.objects.get(name="books")
client = books_client(row.pk, row.settings, row.credentials)
try:
    print("journals", len(client.journals()))
except Exception as exc:
    print(type(exc).__name__, exc)
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[AccountViewSandbox]:
    with AccountViewSandbox(seed=1, size=5) as running:
        yield running


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    koppel = make_koppel(tmp_path_factory.mktemp("template"))
    koppel("migrate")
    return koppel.data_dir


@pytest.fixture
def koppel(tmp_path: Path, migrated: Path, sandbox: AccountViewSandbox) -> Koppel:
    sandbox.auth.reset()
    koppel = make_koppel(tmp_path)
    shutil.copytree(migrated, koppel.data_dir)
    info = sandbox.info
    koppel.python(CONNECT.format(args=(info.url, info.client_id, info.client_secret, info.company_id,
                                       REDIRECT_URI)))
    return koppel


def work(koppel: Koppel, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**koppel.env, **({CRASH_AT: crash_at} if crash_at else {})}
    code = "from koppel.core import setup; setup()\n" + WORK
    return subprocess.run([sys.executable, "-c", code], env=env, text=True, capture_output=True, timeout=120)


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    """What the worker printed last (log lines come before it)."""
    return (result.stdout.strip().splitlines() or [""])[-1]


@pytest.mark.parametrize(("crash_at", "refreshed_before_the_kill"),
                         [("before_token_request", 0), ("token_saved", 1)])
def test_a_worker_killed_during_a_refresh_leaves_a_working_grant(
    koppel: Koppel, sandbox: AccountViewSandbox, crash_at: str, refreshed_before_the_kill: int
) -> None:
    killed = work(koppel, crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (grant,) = sandbox.auth.grants()
    assert grant.refreshes == refreshed_before_the_kill and not grant.revoked

    sandbox.expire_tokens()  # the new process must refresh with the refresh token it finds stored
    after = work(koppel)
    assert last_line(after).startswith("journals "), after.stdout + after.stderr
    (grant,) = sandbox.auth.grants()
    assert grant.refreshes == refreshed_before_the_kill + 1 and not grant.revoked


def test_a_worker_killed_between_the_answer_and_the_save_reports_reconnect(
    koppel: Koppel, sandbox: AccountViewSandbox
) -> None:
    """The one window left: AccountView rotated the token and the answer died with the process. The
    next refresh is refused, and the connection says what to do instead of retrying for ever."""
    killed = work(koppel, "token_answered")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    after = work(koppel)
    assert last_line(after).startswith("BrokenConnection") and "reconnect" in last_line(after), after.stdout
