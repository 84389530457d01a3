"""Test-session setup shared by all of tests/.

Django is configured once in this process, against a data directory of the session's own, so tests
check the data model and the commands in-process: a test marked `django_db` gets pytest-django's
test database (in memory, migrated once per session, rolled back after each test). Subprocesses
(tests/cli_runner.py) and engine children set up their own Django from their own environment.

Tests that start PostgreSQL or Chromium are marked `postgres` / `browser` by the fixtures they use,
so `make test-fast` can leave them out without anyone remembering a marker.
"""

from __future__ import annotations

import functools
import os
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from koppel.settings import get_settings

pytest_plugins = ["tests.postgres"]

# `make test-fast` runs with --hypothesis-profile=fast: a fifth of the examples (tests/examples.py scales the
# counts tests name themselves). `make test` and CI keep Hypothesis's default profile, the full count.
hypothesis_settings.register_profile("fast", max_examples=20)

MARKED_BY_FIXTURE = {"postgres_server": "postgres", "browser": "browser"}


def _share_one_tls_context() -> None:
    """Every httpx client builds a TLS context of its own, reading the CA bundle: ~50 ms CPU, and the tests
    make a thousand clients (all to http://127.0.0.1), a fifth of the suite's CPU. Here the clients that
    verify with the default CA bundle share one context, built once per bundle; any other choice is left alone."""
    from httpx._transports import default

    build = default.create_ssl_context
    shared = functools.cache(lambda cafile, capath: build(verify=True, trust_env=True))

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is True and cert is None and trust_env:
            return shared(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        return build(verify=verify, cert=cert, trust_env=trust_env)

    default.create_ssl_context = create_ssl_context


_share_one_tls_context()


def pytest_configure(config: pytest.Config) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="koppel-tests-"))
    config.add_cleanup(lambda: shutil.rmtree(data_dir, ignore_errors=True))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KOPPEL_DATA_DIR", str(data_dir))
        for name in ("KOPPEL_DATABASE_URL", "KOPPEL_SYSTEM_DATABASE_URL"):
            env.delenv(name, raising=False)
        get_settings.cache_clear()
        from koppel.core import setup

        setup()  # reads the settings now, once: the Django settings keep this data directory
    get_settings.cache_clear()
    from django.conf import settings

    # A real password hash costs 0.35 s CPU (PBKDF2, a million rounds) and nearly every web test makes a user
    # or signs one in; what the tests check is who may do what, not the hash (koppel web's own stays real).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in MARKED_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.fixture(autouse=True)
def _no_language_left_active() -> Iterator[None]:
    """A page rendered in German leaves German active in this thread; the next test starts in the default."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def koppel_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data dir of this test's own (KOPPEL_DATA_DIR), with the settings read afresh."""
    data_dir = tmp_path / "var"
    monkeypatch.setenv("KOPPEL_DATA_DIR", str(data_dir))
    for name in ("KOPPEL_DATABASE_URL", "KOPPEL_SYSTEM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()
