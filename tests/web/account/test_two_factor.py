"""Optional two-factor sign-in, end to end with Django's test client: turned on from the account page (QR code
and key, confirmed with a code computed from the key the page shows, backup codes shown once), the sign-in
asking for a code after the password, a replayed code and a backup code used twice refused, a wrong-code
flood locked out by django-axes, an older session signed out, the operators' admin behind the same code,
turning it off; a user without it signs in as before."""

from __future__ import annotations

import re
import time
from base64 import b32decode
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from koppel.core.accounts.models import Profile
from koppel.web.account import login, two_factor
from tests.web.test_languages import _english_texts

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture(autouse=True)
def quick(settings: Any) -> None:
    """django-otp waits 1, 2, 4 … s after each wrong code (tests that want it back say so), and a real
    password hash takes a second on a busy machine: neither is what these tests are about."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def code(key: bytes, steps_ahead: int = 0) -> str:
    """The code an authenticator app with `key` shows now (or `steps_ahead` 30-second steps later)."""
    totp = TOTP(key)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def user_with_two_factor(name: str = "merchant", **extra: Any) -> tuple[Any, bytes, list[str]]:
    """A user who turned it on: (user, the app's key, the backup codes)."""
    user = get_user_model().objects.create_user(name, password=PASSWORD, **extra)
    device = two_factor.pending_device(user)
    return user, device.bin_key, two_factor.turn_on(device)


def manual_key(page: str) -> bytes:
    """The key as the set-up page shows it for typing in, decoded as an app does."""
    shown = re.search(r'<code id="manual-key">([A-Z2-7 ]+)</code>', page)
    assert shown, page
    letters = shown.group(1).replace(" ", "")
    return b32decode(letters + "=" * (-len(letters) % 8))


def password_step(client: Client, username: str = "merchant", next_page: str = "") -> Any:
    return client.post("/login/" + (f"?next={next_page}" if next_page else ""),
                       {"username": username, "password": PASSWORD})


def test_turning_it_on_from_the_account_page(client: Client) -> None:
    user = get_user_model().objects.create_user("merchant", password=PASSWORD)
    client.force_login(user, backend=MODEL_BACKEND)
    assert "Turn two-factor sign-in on" in client.get("/account/").content.decode()
    assert client.get("/account/two-factor/set-up/")["Location"] == "/account/"  # not started: nothing to show
    assert client.post("/account/two-factor/start/")["Location"] == "/account/two-factor/set-up/"
    page = client.get("/account/two-factor/set-up/").content.decode()
    assert "<svg" in page
    typed = manual_key(page)
    assert manual_key(client.get("/account/two-factor/set-up/").content.decode()) == typed  # same key on reload

    wrong = client.post("/account/two-factor/set-up/", {"code": "000000" if code(typed) != "000000" else "111111"})
    assert "That code is not right" in wrong.content.decode() and not two_factor.is_on(user)
    confirmed = client.post("/account/two-factor/set-up/", {"code": code(typed)})
    shown = confirmed.content.decode()
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", shown)
    assert len(codes) == 10 and len(set(codes)) == 10, shown
    assert confirmed["Cache-Control"] == "no-store"
    assert two_factor.is_on(user)
    account = client.get("/account/")  # this session proved the code: still signed in
    assert account.status_code == 200
    assert "10 backup codes left" in account.content.decode()
    assert not any(c in account.content.decode() for c in codes)  # shown once only
    assert client.post("/account/two-factor/start/")["Location"] == "/account/"  # on already: no second app


def test_sign_in_asks_for_the_code_after_the_password_and_a_code_works_once() -> None:
    user, key, _codes = user_with_two_factor()
    client = Client()
    answer = password_step(client, next_page="/account/")
    assert answer.status_code == 302 and answer["Location"] == "/account/sign-in/code/"
    assert client.get("/account/")["Location"].startswith("/login/")  # not signed in yet
    assert "Your code, please" in client.get("/account/sign-in/code/").content.decode()

    wrong = client.post("/account/sign-in/code/", {"code": "12345"})
    assert wrong.status_code == 200 and "That code is not right" in wrong.content.decode()
    used = code(key, steps_ahead=1)
    signed_in = client.post("/account/sign-in/code/", {"code": used[:3] + " " + used[3:]})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/account/"
    assert client.get("/account/").status_code == 200

    client.post("/logout/")
    password_step(client)
    replayed = client.post("/account/sign-in/code/", {"code": used})
    assert "That code is not right, or was used already." in replayed.content.decode()
    assert client.get("/")["Location"].startswith("/login/")
    assert get_user_model().objects.get(pk=user.pk).last_login is not None


def test_a_backup_code_signs_in_once() -> None:
    _user, _key, codes = user_with_two_factor()
    client = Client()
    password_step(client)
    signed_in = client.post("/account/sign-in/code/", {"code": codes[0].upper()}, follow=True)
    assert signed_in.redirect_chain[-1][0] == "/" and "backup code; 9 left" in signed_in.content.decode()
    client.post("/logout/")
    password_step(client)
    again = client.post("/account/sign-in/code/", {"code": codes[0]})
    assert again.status_code == 200 and "That code is not right" in again.content.decode()
    assert client.get("/")["Location"].startswith("/login/")


def test_a_user_without_two_factor_signs_in_with_the_password_alone() -> None:
    plain = get_user_model().objects.create_user("plain", password=PASSWORD)
    two_factor.pending_device(plain)  # started setting it up, never confirmed: still off
    user_with_two_factor()  # someone else's does not matter
    client = Client()
    answer = password_step(client, "plain")
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert client.get("/account/").status_code == 200
    assert client.get("/account/sign-in/code/")["Location"] == "/login/"  # no code step to be in


def test_the_code_step_does_not_wait_for_ever(monkeypatch: pytest.MonkeyPatch) -> None:
    _user, key, _codes = user_with_two_factor()
    monkeypatch.setattr(login, "CODE_STEP_SECONDS", -1)  # the password step is already too long ago
    client = Client()
    password_step(client)
    late = client.post("/account/sign-in/code/", {"code": code(key)}, follow=True)
    assert late.redirect_chain[-1][0] == "/login/" and "Sign in with your password first" in late.content.decode()
    assert client.get("/")["Location"].startswith("/login/")


def test_a_flood_of_wrong_codes_locks_out_like_wrong_passwords() -> None:
    _user, key, codes = user_with_two_factor()
    client = Client(REMOTE_ADDR="203.0.113.9")
    password_step(client)
    for guess in range(4):
        answer = client.post("/account/sign-in/code/", {"code": f"{guess:06d}"})
        assert answer.status_code == 200
    locked = client.post("/account/sign-in/code/", {"code": "999999"})
    assert locked.status_code == 429 and "Too many attempts" in locked.content.decode()
    # Locked: neither the right code nor the password gets in from there now …
    assert client.post("/account/sign-in/code/", {"code": code(key)})["Location"] == "/login/"
    assert password_step(client).status_code == 429
    # … while the same user from another address still can.
    elsewhere = Client(REMOTE_ADDR="198.51.100.2")
    password_step(elsewhere)
    assert elsewhere.post("/account/sign-in/code/", {"code": codes[1]})["Location"] == "/"


def test_django_otp_slows_down_guessing_between_tries(settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 600
    _user, key, _codes = user_with_two_factor()
    client = Client()
    password_step(client)
    client.post("/account/sign-in/code/", {"code": "000000" if code(key) != "000000" else "111111"})
    waited = client.post("/account/sign-in/code/", {"code": code(key)})
    assert "Too many wrong codes in a row: try again after" in waited.content.decode()
    assert client.get("/")["Location"].startswith("/login/")


def test_a_session_from_before_two_factor_was_on_is_signed_out() -> None:
    user = get_user_model().objects.create_user("merchant", password=PASSWORD)
    earlier = Client()
    earlier.force_login(user, backend=MODEL_BACKEND)
    assert earlier.get("/account/").status_code == 200
    two_factor.turn_on(two_factor.pending_device(user))
    answer = earlier.get("/account/")
    assert answer.status_code == 302 and answer["Location"] == "/login/?next=/account/"
    assert earlier.get("/account/")["Location"].startswith("/login/")  # signed out for good


def test_the_operators_admin_asks_for_the_code_too() -> None:
    _user, key, _codes = user_with_two_factor("operator", is_superuser=True, is_staff=True)
    client = Client()
    assert client.get("/admin/", follow=True).redirect_chain[-1][0] == "/login/?next=%2Fadmin%2F"
    assert password_step(client, "operator", next_page="/admin/")["Location"] == "/account/sign-in/code/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    answer = client.post("/account/sign-in/code/", {"code": code(key)})
    assert answer["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_turning_it_off_and_new_backup_codes_need_a_code() -> None:
    user, key, codes = user_with_two_factor()
    client = Client()
    password_step(client)
    client.post("/account/sign-in/code/", {"code": codes[0]})
    refused = client.post("/account/two-factor/off/", {"code": "not-a-code"}, follow=True)
    assert "That code is not right" in refused.content.decode() and two_factor.is_on(user)

    renewed = client.post("/account/two-factor/backup-codes/", {"code": codes[1]})
    fresh = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", renewed.content.decode())
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert client.get("/account/").status_code == 200  # signed in with a backup code that is gone: still in

    off = client.post("/account/two-factor/off/", {"code": code(key)}, follow=True)
    assert "Two-factor sign-in is off" in off.content.decode()
    assert not two_factor.is_on(user) and not TOTPDevice.objects.filter(user=user).exists()
    client.post("/logout/")
    assert password_step(client)["Location"] == "/"


@pytest.mark.parametrize("language", ["nl", "de"])
def test_the_pages_speak_the_users_language(language: str) -> None:
    english = set(_english_texts())
    user = get_user_model().objects.create_user("merchant", password=PASSWORD)
    Profile.objects.create(user=user, language=language)
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    pages = [client.get("/account/"), client.post("/account/two-factor/start/", follow=True)]
    key = manual_key(pages[-1].content.decode())
    pages.append(client.post("/account/two-factor/set-up/", {"code": code(key)}))  # the backup codes
    pages.append(client.get("/account/"))
    client.post("/logout/")
    password_step(client)
    pages.append(client.get("/account/sign-in/code/", HTTP_ACCEPT_LANGUAGE=language))
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200 and f'<html lang="{language}">' in html
        shown = {t.strip() for t in re.findall(r">([^<>]+)<", html)}
        assert shown & english == set(), page.request["PATH_INFO"]
