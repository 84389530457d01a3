"""The login page in a real browser against `koppel web`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.web.conftest import Web


def sign_in(page: Any, web: Web, password: str) -> None:
    page.goto(web.url + "/login/")
    page.fill("input[name=username]", web.username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_a_user_signs_in_and_reaches_the_admin(web: Web, page: Any, tmp_path: Path) -> None:
    page.goto(web.url + "/")
    assert "/login" in page.url or "/admin/login" in page.url
    sign_in(page, web, web.password)
    page.wait_for_url("**/admin/")
    content = page.content()
    assert "Site administration" in content
    for section in ("Activity", "Integrations", "Connections", "Workspaces", "Runs"):
        assert section in content
    page.screenshot(path=str(tmp_path / "admin.png"))


def test_a_wrong_password_is_refused(web: Web, page: Any) -> None:
    sign_in(page, web, "wrong")
    assert "/login/" in page.url
    assert "correct username and password" in page.content()
    page.goto(web.url + "/admin/")
    assert "/login/" in page.url  # still not signed in
