"""Django settings, derived from the one Koppel settings object (koppel.settings)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from koppel.settings import get_settings

_settings = get_settings()
_data_dir = _settings.ensure_data_dir().resolve()


def _secret_key() -> str:
    if _settings.secret_key:
        return _settings.secret_key
    path = _data_dir / "django.secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _database() -> dict[str, object]:
    if _settings.uses_postgres:
        url = urlparse(_settings.database_url or "")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path.lstrip("/"),
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname or "",
            "PORT": str(url.port or ""),
            "CONN_MAX_AGE": 0,
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_data_dir / "koppel.sqlite"),
        "OPTIONS": {
            # Writers take the lock at BEGIN, so concurrent writers queue instead of failing mid-way.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        },
    }


BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = _secret_key()
DEBUG = _settings.debug
ALLOWED_HOSTS = _settings.allowed_hosts
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "koppel.core.accounts",
    "koppel.core.integrations",
    "koppel.core.activity",
    "koppel.core.alerts",
    "koppel.web.reasons",  # the `reasons` template filter and its translations (its own locale/)
    "koppel.web.runs",  # sync now and the run history: its templates and translations (its own locale/)
    # Optional two-factor sign-in (koppel.web.account: its pages, templates and translations).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "koppel.web.account",
]
# The flows' settings model, which the data model validates integrations with (core must not import flows).
KOPPEL_FLOW_SETTINGS = "koppel.flows.settings.FlowSettings"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "koppel.web.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "koppel.web.account.two_factor.TwoFactorMiddleware",
    "koppel.web.languages.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]
ROOT_URLCONF = "koppel.web.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The wizard and alerts keep their templates in their own folders (each part is written apart).
        "DIRS": [BASE_DIR / "templates", BASE_DIR / "wizard" / "templates", BASE_DIR / "alerts" / "templates",
                 BASE_DIR / "records" / "templates",
                 BASE_DIR / "datamapper" / "templates", BASE_DIR / "insights" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "koppel.web.tenancy.navigation",
                "koppel.web.languages.language_choice",
            ]
        },
    }
]
WSGI_APPLICATION = "koppel.web.wsgi.application"
DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en"
# Each language in its own name, as a language switch shows them.
LANGUAGES = [("en", "English"), ("nl", "Nederlands"), ("de", "Deutsch")]
# Each part of the dashboard keeps its own translations (the wizard and alerts are written apart).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "wizard" / "locale", BASE_DIR / "alerts" / "locale",
                BASE_DIR / "records" / "locale",
                BASE_DIR / "datamapper" / "locale", BASE_DIR / "insights" / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = str(_data_dir / "static")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
OTP_TOTP_ISSUER = "Koppel"  # the name an authenticator app shows beside the user's codes
LOGOUT_REDIRECT_URL = "login"

# Sign-in: django-axes counts failures per username and address together (so a stranger cannot lock a
# merchant out from elsewhere) and refuses that pair for a cool-off after the limit.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Cookies and headers. Behind a TLS-terminating proxy (KOPPEL_BEHIND_TLS) the proxy's X-Forwarded-Proto
# is trusted, plain http is redirected (except the load balancer's probes), cookies are Secure and
# browsers are told to use https only (HSTS). Without it Koppel serves plain http on 127.0.0.1.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"  # Lax, not Strict: AccountView's consent page sends the user back to us
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if _settings.behind_tls:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = False  # other hosts of the merchant's domain are not ours to decide
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": _settings.log_level},
}
