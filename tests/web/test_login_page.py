"""The login page in a real browser (Debian's Chromium driven by Playwright) against `koppel web`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.cli_runner import make_koppel

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    koppel = make_koppel(tmp_path_factory.mktemp("web"), KOPPEL_NEW_PASSWORD="correct horse battery")
    koppel("migrate")
    koppel("createuser", "merchant", "--email", "merchant@example.nl")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "koppel.cli", "web", "--port", str(port)], env=koppel.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/login/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("koppel web did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def test_a_user_signs_in_and_reaches_the_admin(web_url: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(web_url + "/")
    assert "/login" in page.url or "/admin/login" in page.url
    page.goto(web_url + "/login/")
    page.fill("input[name=username]", "merchant")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")
    content = page.content()
    assert "Site administration" in content
    for section in ("Activity", "Integrations", "Connections", "Workspaces", "Runs"):
        assert section in content
    page.screenshot(path=str(tmp_path / "admin.png"))
    page.close()


def test_a_wrong_password_is_refused(web_url: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(web_url + "/login/")
    page.fill("input[name=username]", "merchant")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "/login/" in page.url
    assert "correct username and password" in page.content()
    page.close()
