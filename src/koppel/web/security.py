"""Security headers Django 5.2 does not set itself: a Content-Security-Policy.

Scripts come only from our own static files (HTMX is vendored), never inline or from elsewhere, so
an injected `<script>` does not run. Styles may be inline (HTMX adds its indicator style). No
`form-action`: Chrome applies it to the redirect after a form, and "Connect" posts a form that is
answered with a redirect to AccountView's consent page.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "media-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
])


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
