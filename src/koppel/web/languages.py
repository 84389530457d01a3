"""The dashboard's language: the one the user chose (stored on their profile), else the browser's.

Django's LocaleMiddleware picks the browser's language (Accept-Language) first; for a signed-in user
who chose one, this middleware switches to theirs. The language switch stores the choice on the
profile and answers with a redirect back to the page it came from.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from koppel.core.accounts.models import Profile

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def chosen_language(user: object) -> str:
    """The language the user chose, or "" to follow the browser."""
    profile = Profile.objects.filter(user=user).first()
    return profile.language if profile and profile.language in LANGUAGE_CODES else ""


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and (language := chosen_language(request.user)):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


def language_choice(request: HttpRequest) -> dict[str, str]:
    """Template context for the switch: the language the user chose ("" when the browser decides)."""
    user = getattr(request, "user", None)
    return {"language_chosen": chosen_language(user) if user is not None and user.is_authenticated else ""}


@login_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Store the language chosen in the layout's switch ("" follows the browser again)."""
    language = request.POST.get("language", "")
    if language in LANGUAGE_CODES or language == "":
        Profile.objects.update_or_create(user=request.user, defaults={"language": language})
        if language:
            translation.activate(language)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = "/"
    return HttpResponseRedirect(back)
