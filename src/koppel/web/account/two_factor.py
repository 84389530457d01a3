"""A user's second factor, kept by django-otp: one authenticator app (a TOTP device: a code that changes
every 30 seconds, each accepted once) and ten backup codes (a static device: each works once).

Two-factor sign-in is on for a user with a confirmed TOTP device. The middleware here signs out a session of
such a user that was not verified with a code (one made before it was turned on, or by any other way in),
so the code step cannot be gone around.
"""

from __future__ import annotations

import re
from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

BACKUP_CODES = 10
APP_CODE = re.compile(r"\d{6}")


@dataclass(frozen=True)
class Check:
    """What a code did: the device that accepted it, or why none did (`wait_until`: too many wrong
    codes in a row, try again after then)."""

    device: Device | None
    wait_until: datetime | None = None


def app_device(user: Any) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if two-factor sign-in is on."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def is_on(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_device(user: Any) -> TOTPDevice:
    """The authenticator app being set up (a new key the first time; the same one until it is confirmed,
    so a page reloaded after scanning still matches the app)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def manual_key(device: TOTPDevice) -> str:
    """The key as an app asks for it when typed in: base32, in groups of four."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


def qr_code(device: TOTPDevice) -> str:
    """The app's set-up address as an inline SVG QR code (no image file, nothing sent elsewhere)."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#1b2430"))


def normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def check(user: Any, code: str, *, device: TOTPDevice | None = None) -> Check:
    """Try a code: six digits go to the authenticator app (`device`, or the confirmed one), anything else
    is a backup code (used up when it matches). Only the device the code's shape names counts a failure,
    so a wrong backup code does not slow down the app's codes."""
    code = normalised(code)
    with transaction.atomic():
        if APP_CODE.fullmatch(code):
            candidate: Device | None = device or app_device(user)
        else:
            candidate = StaticDevice.objects.filter(user=user, confirmed=True).first()
        if candidate is None:
            return Check(None)
        candidate = type(candidate).objects.select_for_update().get(pk=candidate.pk)
        allowed, facts = candidate.verify_is_allowed()
        if not allowed:
            return Check(None, wait_until=(facts or {}).get("locked_until"))
        return Check(candidate if candidate.verify_token(code) else None)


def new_backup_codes(user: Any) -> list[str]:
    """Ten fresh backup codes (the old ones stop working), to show once."""
    device, _created = StaticDevice.objects.get_or_create(user=user, name="backup codes",
                                                          defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def backup_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def turn_on(device: TOTPDevice) -> list[str]:
    """Confirm the app `device` (its code was right) and make the backup codes; other unconfirmed ones go."""
    TOTPDevice.objects.filter(user=device.user, confirmed=False).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return new_backup_codes(device.user)


@transaction.atomic
def turn_off(user: Any) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware: a signed-in user with two-factor sign-in on whose session was not
    verified with a code is signed out and sent to sign in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not user.is_verified() and is_on(user):  # type: ignore[union-attr]
            logout(request)
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)
