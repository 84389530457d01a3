"""One sandbox server per test session; every test gets it freshly seeded, without quirks or faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from koppel.connectors.accountview.client import AccountViewClient, AccountViewOptions
from koppel.connectors.accountview.sandbox import AccountViewSandbox

FAST = {"retry_attempts": 3, "retry_wait_initial": 0.01, "retry_wait_max": 0.05, "retry_timeout": 2.0}


@pytest.fixture(scope="session")
def running_sandbox() -> Iterator[AccountViewSandbox]:
    sandbox = AccountViewSandbox(seed=None)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(running_sandbox: AccountViewSandbox) -> AccountViewSandbox:
    running_sandbox.faults.clear()
    running_sandbox.quirks.update({name: False for name in running_sandbox.quirks.as_json()})
    settings = running_sandbox.auth.settings
    settings.access_token_ttl, settings.rotate_refresh_tokens, settings.revoke_grant_on_reuse = (
        3600,
        True,
        True,
    )
    running_sandbox.reset(tokens=True)
    running_sandbox.seed(seed=7, size=30)
    return running_sandbox


def fast_options(sandbox: AccountViewSandbox, **changes: object) -> AccountViewOptions:
    return AccountViewOptions(**{"profile": sandbox.profile, **FAST, **changes})  # type: ignore[arg-type]


@pytest.fixture
def client(sandbox: AccountViewSandbox) -> Iterator[AccountViewClient]:
    with sandbox.authorised_client(options=fast_options(sandbox), timeout=2.0) as av:
        yield av
