"""What the dashboard promises against bad actors: sign-in throttling and lockout, password rules,
security headers and cookies, https only behind a TLS proxy, and the admin for operators only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough passphrase 7"


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    """Throttling is about counting attempts, not hashing: a fast hasher keeps these tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client: Client, username: str, password: str, address: str = "203.0.113.7") -> int:
    answer = client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)
    return int(answer.status_code)


def test_five_wrong_passwords_lock_that_user_from_that_address_only() -> None:
    get_user_model().objects.create_user("merchant", "m@example.nl", PASSWORD)
    client = Client()
    assert [sign_in(client, "merchant", f"guess {n}") for n in range(4)] == [200] * 4
    locked = client.post("/login/", {"username": "merchant", "password": "guess 5"}, REMOTE_ADDR="203.0.113.7")
    assert locked.status_code == 429 and "Too many attempts" in locked.content.decode()
    assert sign_in(client, "merchant", PASSWORD) == 429  # the right password does not open it now
    assert sign_in(Client(), "merchant", PASSWORD, address="198.51.100.2") == 302  # from elsewhere it does


def test_a_success_resets_the_count() -> None:
    get_user_model().objects.create_user("merchant", "m@example.nl", PASSWORD)
    for _ in range(4):
        sign_in(Client(), "merchant", "wrong")
    assert sign_in(Client(), "merchant", PASSWORD) == 302
    assert [sign_in(Client(), "merchant", "wrong") for _ in range(4)] == [200] * 4


def test_pages_carry_the_security_headers_and_cookies() -> None:
    answer = Client().get("/login/")
    assert answer.status_code == 200
    policy = answer["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert answer["X-Frame-Options"] == "DENY"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Referrer-Policy"] == "same-origin"
    cookie = answer.cookies["csrftoken"]
    assert cookie["samesite"] == "Lax"
    assert "<script>" not in answer.content.decode()  # no inline script: the policy would block it


def test_the_admin_is_for_superusers_only() -> None:
    users = get_user_model().objects
    staff = users.create_user("staff", "s@example.nl", PASSWORD, is_staff=True)
    staff.user_permissions.set(Permission.objects.all())  # every model permission, still no admin
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    for url in ("/admin/", "/admin/integrations/connection/"):
        answer = client.get(url)
        assert answer.status_code == 302 and "/admin/login/" in answer["Location"]
    client.force_login(users.create_superuser("operator", "o@example.nl", PASSWORD),
                       backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/admin/integrations/connection/").status_code == 200


PROBE = """
import json
import re
from koppel.core import setup
setup()
from django.test import Client
from django.conf import settings
plain = Client().get("/login/")
secure = Client().get("/login/", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "hsts": secure.get("Strict-Transport-Security", ""),
    "status": secure.status_code,
    "csrf_secure": bool(secure.cookies["csrftoken"]["secure"]),
    "session_secure": settings.SESSION_COOKIE_SECURE,
}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("behind_tls", [True, False])
def test_behind_a_tls_proxy_cookies_are_secure_http_is_redirected_and_hsts_is_sent(
        tmp_path: Path, behind_tls: bool) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KOPPEL_", "DJANGO_"))}
    env.update(KOPPEL_DATA_DIR=str(tmp_path), KOPPEL_ALLOWED_HOSTS='["testserver"]')
    if behind_tls:
        env["KOPPEL_BEHIND_TLS"] = "true"
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    if behind_tls:
        assert seen["plain"] == [301, "https://testserver/login/"]
        assert seen["status"] == 200 and seen["hsts"].startswith("max-age=31536000")
        assert seen["csrf_secure"] and seen["session_secure"]
    else:
        assert seen["plain"][0] == 200 and seen["hsts"] == "" and not seen["csrf_secure"]


def test_no_template_needs_what_the_content_security_policy_blocks() -> None:
    """Inline scripts, event-handler attributes and HTMX's hx-on (evaluated code) would not run."""
    from tests.web.test_languages import WEB, templates

    blocked = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|\shx-on|javascript:", re.I)
    found = {str(path.relative_to(WEB)): blocked.findall(path.read_text()) for path in templates()}
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_a_superuser_finds_the_admin_from_the_dashboard_and_a_merchant_does_not() -> None:
    users = get_user_model().objects
    client = Client()
    client.force_login(users.create_user("merchant", "m@example.nl", PASSWORD))
    assert "/admin/" not in client.get("/").content.decode()
    client.force_login(users.create_superuser("operator", "o@example.nl", PASSWORD))
    assert 'href="/admin/"' in client.get("/").content.decode()


def test_htmx_2_0_is_served_from_our_own_static_files() -> None:
    from django.contrib.staticfiles import finders

    page = Client().get("/login/").content.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert "/static/django_htmx/htmx-2.min.js" in sources
    assert all(source.startswith("/static/") for source in sources), sources  # no CDN, nothing elsewhere
    htmx = Path(finders.find("django_htmx/htmx-2.min.js") or "").read_text()
    assert re.search(r'version:"2\.0\.\d+"', htmx)
