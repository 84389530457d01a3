"""The login page in a real browser against `koppel web`: a merchant lands on their dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Web


def sign_in(page: Any, web: Web, password: str) -> None:
    page.goto(web.url + "/login/")
    page.fill("input[name=username]", web.username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_a_user_signs_in_and_reaches_the_dashboard(web: Web, page: Any, tmp_path: Path) -> None:
    page.goto(web.url + "/")
    assert "/login/" in page.url
    sign_in(page, web, web.password)
    page.wait_for_url(web.url + "/")
    assert page.locator("h1").inner_text() == "Your workspaces"
    assert page.locator("header .who").inner_text() == web.username
    page.screenshot(path=str(tmp_path / "dashboard.png"))


def test_a_wrong_password_is_refused(web: Web, page: Any) -> None:
    page.goto(web.url + "/login/")
    page.fill("input[name=username]", "someone-else")  # not the merchant: no lockout of theirs
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "/login/" in page.url
    assert "correct username and password" in page.content()
    page.goto(web.url + "/")
    assert "/login/" in page.url  # still not signed in


@pytest.mark.slow
def test_repeated_wrong_passwords_lock_the_sign_in(web: Web, page: Any) -> None:
    """Against the real server: the sixth try of a username from one address is refused, whatever the
    password (a username of its own, so the merchant's sign-in in the other tests stays open)."""
    for attempt in range(6):
        page.goto(web.url + "/login/")
        page.fill("input[name=username]", "target-of-guessing")
        page.fill("input[name=password]", f"guess {attempt}")
        page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Too many attempts"
