"""Signing in: the password first (Django's form, counted by django-axes), then, for a user with two-factor
sign-in on, a code from their app or a backup code before the session is made.

Between the two steps the session holds only who passed the password, by which backend, until when, and
where to go next; nobody is signed in. A wrong code counts as a failed sign-in for django-axes (the same
username and address), so a flood of guesses locks out like a flood of passwords.
"""

from __future__ import annotations

import time
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from koppel.web.account import two_factor

PENDING = "koppel.sign_in_pending"
CODE_STEP_SECONDS = 300  # the password counts this long for the code step


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=32, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
        help_text=gettext_lazy("The six digits your authenticator app shows, or one of your backup codes."))


class PasswordStep(LoginView):
    """Django's sign-in page; a user with two-factor sign-in on goes on to the code step instead of in."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if not two_factor.is_on(user):
            return super().form_valid(form)
        self.request.session.cycle_key()
        self.request.session[PENDING] = {"user": user.pk, "backend": user.backend, "next": self.get_success_url(),
                                         "until": time.time() + CODE_STEP_SECONDS}
        return redirect("account:sign_in_code")


def _pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not pending or pending["until"] < time.time():
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return (user, pending) if user is not None else None


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def code_step(request: HttpRequest) -> HttpResponse:
    found = _pending_user(request)
    if found is None:
        request.session.pop(PENDING, None)
        messages.info(request, _("Sign in with your password first (the code step waits five minutes)."))
        return redirect("login")
    user, pending = found
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        return _locked_out(request, credentials)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        checked = two_factor.check(user, form.cleaned_data["code"])
        if checked.device is not None:
            del request.session[PENDING]
            login(request, user, backend=pending["backend"])
            otp_login(request, checked.device)
            if isinstance(checked.device, StaticDevice):
                messages.warning(request, _("You signed in with a backup code; %(count)s left. Make new ones on "
                                            "your account page when they run low.")
                                 % {"count": two_factor.backup_codes_left(user)})
            return redirect(pending["next"])
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            return _locked_out(request, credentials)
        form.add_error("code", refusal(checked))
    return render(request, "account/sign_in_code.html", {"form": form})


def refusal(checked: two_factor.Check) -> str:
    """Why a code was not taken, in words."""
    if checked.wait_until is not None:
        return _("Too many wrong codes in a row: try again after %(time)s.") % {
            "time": formats.time_format(timezone.localtime(checked.wait_until), "H:i:s")}
    return _("That code is not right, or was used already.")


def _locked_out(request: HttpRequest, credentials: dict[str, str]) -> HttpResponse:
    """django-axes' lockout page (its middleware answers with it) and the code step forgotten."""
    request.session.pop(PENDING, None)
    request.axes_locked_out = True  # type: ignore[attr-defined]
    request.axes_credentials = credentials  # type: ignore[attr-defined]
    return HttpResponse(status=429)
