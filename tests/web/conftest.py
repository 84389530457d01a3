"""One `koppel web` server for all web tests (started once: a migrated data directory with a user),
and one Chromium, driven by Playwright (Debian's package, never a downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import make_koppel

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass(frozen=True)
class Web:
    url: str
    username: str
    password: str


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    user = Web(url="", username="merchant", password="correct horse battery")
    koppel = make_koppel(tmp_path_factory.mktemp("web"), KOPPEL_NEW_PASSWORD=user.password)
    koppel("migrate")
    koppel("createuser", user.username, "--email", "merchant@example.nl")
    server = koppel.serve("web")
    try:
        yield Web(url=server.url, username=user.username, password=user.password)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def driver() -> Iterator[Any]:
    """Chromium in a thread of its own (tests.web.browser_thread), for browser tests that also use the ORM."""
    from tests.web.browser_thread import BrowserThread

    thread = BrowserThread()
    yield thread
    thread.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies from other tests) and a page in it."""
    context = browser.new_context()
    yield context.new_page()
    context.close()
