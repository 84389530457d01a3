"""Connecting AccountView in a real browser (Debian's Chromium) against the sandbox's consent page: add the
connection, Connect, allow access on AccountView's page, see the companies; the sandbox revokes the
grant, Test connection says so, Reconnect replaces the tokens and the connection works again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.core.integrations.models import Connection
from tests.web.browser_thread import BrowserThread
from tests.web.world import build_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]
PASSWORD = "a long enough passphrase 7"


@pytest.fixture
def books_box(koppel_data_dir: Path) -> Iterator[AccountViewSandbox]:
    with AccountViewSandbox(seed=1, size=5, auto_approve=False) as box:
        yield box


def allow_on_accountview(page: Any, box: AccountViewSandbox) -> None:
    page.wait_for_url(f"{box.url}/ams/authorize.aspx?**")
    page.click("button[value=approve]")  # "Toestaan", as AccountView's consent page says


def test_connect_see_companies_revoke_and_reconnect(live_server: Any, driver: BrowserThread,
                                                    books_box: AccountViewSandbox, tmp_path: Path) -> None:
    world = build_world()
    owner = world.mine.users["owner"]
    owner.set_password(PASSWORD)
    owner.save()
    workspace = world.mine.workspace.pk
    site = live_server.url

    def sign_in_and_add_the_connection(page: Any) -> None:
        page.goto(f"{site}/login/")
        page.fill("input[name=username]", owner.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site}/")
        page.goto(f"{site}/w/{workspace}/connections/new/accountview/")
        assert "Ontwikkelaar" in page.inner_text("form.stacked")  # the help names where AccountView's portal shows it
        assert f"{site}/oauth/accountview/" in page.inner_text("main")  # the Redirect URI to register
        page.fill("#id_name", "books")
        page.fill("#id_base_url", books_box.url)
        page.fill("#id_client_id", books_box.info.client_id)
        page.fill("#id_client_secret", books_box.info.client_secret)
        page.fill("#id_company_id", books_box.company_id)
        page.click("form.stacked button[type=submit]")
        page.wait_for_selector("#connect")
        assert page.inner_text("#connect") == "Connect"

    def connect(page: Any) -> str:
        page.click("#connect")
        allow_on_accountview(page, books_box)
        page.wait_for_selector("ul.companies")
        assert books_box.company_code in page.inner_text("ul.companies")
        return str(page.inner_text(".messages"))

    def test_connection(page: Any) -> str:
        page.reload()
        page.click("#test")  # HTMX: the answer lands in the page without a reload
        page.wait_for_selector("#test-message")
        return str(page.inner_text("#test-message"))

    driver(sign_in_and_add_the_connection)
    assert f"AccountView is connected to {books_box.company_code}" in driver(connect)
    driver(lambda page: page.screenshot(path=str(tmp_path / "connected.png")))
    row = Connection.objects.get(workspace_id=workspace, name="books")
    first = row.credentials["tokens"]
    assert "Connected to the AccountView company" in driver(test_connection)

    httpx.post(f"{books_box.url}/_sandbox/tokens/revoke").raise_for_status()
    books_box.expire_tokens()
    assert "revoked or has expired. Click Reconnect" in driver(test_connection)
    assert driver(lambda page: page.inner_text("#connect")) == "Reconnect"

    driver(connect)
    fresh = Connection.objects.get(pk=row.pk).credentials["tokens"]
    assert fresh["refresh_token"] != first["refresh_token"] and fresh["access_token"] != first["access_token"]
    assert "Connected to the AccountView company" in driver(test_connection)
