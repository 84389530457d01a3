"""The account page: two-factor sign-in turned on (scan the QR code or type the key, confirm with a code,
note the backup codes, shown once), new backup codes, or turned off; each change needs a current code.
These pages concern the user alone, no workspace."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from koppel.web.account import two_factor
from koppel.web.account.login import CodeForm, refusal


@login_required
def home(request: HttpRequest) -> HttpResponse:
    device = two_factor.app_device(request.user)
    return render(request, "account/home.html", {
        "device": device, "form": CodeForm(),
        "backup_codes_left": two_factor.backup_codes_left(request.user) if device else 0})


@require_POST
@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Turn on: a key for the app (kept unconfirmed until a code from the app proves it was scanned)."""
    if two_factor.is_on(request.user):
        return redirect("account:home")
    two_factor.pending_device(request.user)
    return redirect("account:set_up")


@sensitive_post_parameters("code")
@login_required
def set_up(request: HttpRequest) -> HttpResponse:
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None or two_factor.is_on(request.user):
        return redirect("account:home")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        checked = two_factor.check(request.user, form.cleaned_data["code"], device=device)
        if checked.device is not None:
            codes = two_factor.turn_on(device)
            otp_login(request, device)  # this session proved the code: it stays signed in
            messages.success(request, _("Two-factor sign-in is on. From now on Koppel asks for a code after "
                                        "your password."))
            return _show_backup_codes(request, codes)
        form.add_error("code", refusal(checked))
    return render(request, "account/set_up.html", {
        "form": form, "qr_code": two_factor.qr_code(device), "key": two_factor.manual_key(device)})


@require_POST
@sensitive_post_parameters("code")
@login_required
def backup_codes(request: HttpRequest) -> HttpResponse:
    checked = _checked(request)
    if checked is None:
        return redirect("account:home")
    messages.success(request, _("New backup codes made: the old ones no longer work."))
    return _show_backup_codes(request, two_factor.new_backup_codes(request.user))


@require_POST
@sensitive_post_parameters("code")
@login_required
def turn_off(request: HttpRequest) -> HttpResponse:
    if _checked(request) is not None:
        two_factor.turn_off(request.user)
        messages.success(request, _("Two-factor sign-in is off: your password alone signs you in."))
    return redirect("account:home")


def _checked(request: HttpRequest) -> two_factor.Check | None:
    """The posted code checked against the user's devices; a message says why when it was not right."""
    if not two_factor.is_on(request.user):
        return None
    form = CodeForm(request.POST)
    checked = two_factor.check(request.user, form.data.get("code", ""))
    if checked.device is None:
        messages.error(request, refusal(checked))
        return None
    return checked


def _show_backup_codes(request: HttpRequest, codes: list[str]) -> HttpResponse:
    # Shown in this answer only: nothing to reload or go back to.
    response = render(request, "account/backup_codes.html", {"codes": codes})
    response["Cache-Control"] = "no-store"
    return response
