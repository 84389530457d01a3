"""Shared fixtures: one seeded sandbox per test session over real HTTP, reset between tests, and clients
with short timeouts and retry waits so fault tests stay fast."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import stamina

from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, Quirks, SandboxInfo, SeedSizes

TOKEN = "st_store-secret-TOKEN-4711"
PARTNER_TOKEN = "pt_partner-secret-TOKEN-0815"
QUIRK_MODES = {"default": Quirks(), "none": Quirks.none(), "all": Quirks.all()}


@pytest.fixture(scope="session")
def sandbox() -> Iterator[MijnWebwinkelSandbox]:
    # Injected faults make uvicorn log tracebacks (dropped connections): keep the test output clean.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    box = MijnWebwinkelSandbox(
        seed=7,
        sizes=SeedSizes(categories=12, articles=30, orders=45),
        token=TOKEN,
        partner_token=PARTNER_TOKEN,
    )
    box.start()
    yield box
    box.stop()


@pytest.fixture(autouse=True)
def _clean_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        box: MijnWebwinkelSandbox = request.getfixturevalue("sandbox")
        box.faults.clear()
        box.set_rate_limit(None)
        box.state.quirks.update(Quirks().as_json())
        box.state.auth_failure_status = 401


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    stamina.set_active(True)
    yield


@pytest.fixture
def info(sandbox: MijnWebwinkelSandbox) -> SandboxInfo:
    return sandbox.info


def make_client(info: SandboxInfo, **overrides: object) -> MijnWebwinkelClient:
    options: dict[str, object] = {
        "rate_per_second": None,
        "timeout": 2.0,
        "retry_attempts": 3,
        "retry_wait_initial": 0.01,
        "retry_wait_max": 0.05,
        "max_retry_after": 2.0,
    }
    options.update(overrides)
    return MijnWebwinkelClient(info.url, info.token, info.partner_token, **options)  # type: ignore[arg-type]


@pytest.fixture
def client(info: SandboxInfo) -> Iterator[MijnWebwinkelClient]:
    with make_client(info) as c:
        yield c


@pytest.fixture(params=list(QUIRK_MODES))
def quirky_client(
    request: pytest.FixtureRequest, sandbox: MijnWebwinkelSandbox, info: SandboxInfo
) -> Iterator[MijnWebwinkelClient]:
    """A client against the sandbox with the quirk switches at their defaults, all off, and all on."""
    sandbox.state.quirks.update(QUIRK_MODES[request.param].as_json())
    with make_client(info) as c:
        yield c
