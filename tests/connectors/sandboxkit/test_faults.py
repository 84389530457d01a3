"""Fault injection from the sandbox kit: an injected fault the client handles logs one line and no traceback,
and the fault seed can be set (same seed, same draws) while each sandbox draws a fresh one by default."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog

from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SeedSizes
from koppel.connectors.sandboxkit import Fault, Faults


@pytest.fixture(scope="module")
def shop() -> Iterator[MijnWebwinkelSandbox]:
    with MijnWebwinkelSandbox(seed=3, sizes=SeedSizes(categories=2, articles=3, orders=5)) as box:
        yield box


def test_a_handled_injected_fault_logs_one_line_and_no_traceback(
    shop: MijnWebwinkelSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    server_log = logging.getLogger("uvicorn.error")  # uvicorn's loggers do not propagate to the root
    level = server_log.level
    server_log.setLevel(logging.DEBUG)
    server_log.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    number = next(iter(shop.state.orders))
    shop.add_fault(Fault("drop_after_commit", path=f"/v1/orders/{number}", method="PATCH", count=1))
    try:
        with (
            MijnWebwinkelClient(shop.info.url, shop.info.token, shop.info.partner_token, rate_per_second=None,
                                retry_wait_initial=0.01, retry_wait_max=0.02) as client,
            structlog.testing.capture_logs() as events,
        ):
            client.update_order(number, internal_comment="retried once")
    finally:
        server_log.removeHandler(caplog.handler)
        server_log.setLevel(level)
        shop.faults.clear()
    assert shop.state.orders[number]["comments"]["internal"] == "retried once"
    loud = [e for e in events if e["log_level"] in ("warning", "error", "critical")]
    assert [e["event"] for e in loud] == ["connector.retry"], loud
    assert [e["event"] for e in events if e["event"] == "sandbox.fault"] == ["sandbox.fault"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info
    ]


def draws(faults: Faults, n: int = 40) -> list[bool]:
    faults.clear()
    faults.add(Fault("http_status", rate=0.5))
    return [bool(faults.pick("GET", "/v1/store")) for _ in range(n)]


def test_the_same_seed_draws_the_same_faults_and_another_seed_others() -> None:
    assert draws(Faults(seed=7)) == draws(Faults(seed=7))
    assert draws(Faults(seed=7)) != draws(Faults(seed=8))


def test_without_a_seed_each_sandbox_draws_its_own() -> None:
    first, second = Faults(), Faults()
    assert first.seed != second.seed
    assert draws(Faults(seed=first.seed)) == draws(first)


def test_the_fault_seed_is_set_through_the_admin_surface(shop: MijnWebwinkelSandbox) -> None:
    info = shop.info
    auth = {"token": info.token, "partner_token": info.partner_token}

    def statuses() -> list[int]:
        httpx.put(f"{info.admin_url}/faults/seed", json={"seed": 11}).raise_for_status()
        return [httpx.get(f"{info.url}/v1/store", params=auth).status_code for _ in range(20)]

    httpx.post(f"{info.admin_url}/faults", json={"kind": "http_status", "rate": 0.5, "path": "/v1/store"})
    try:
        first = statuses()
        assert first == statuses() and {200, 503} == set(first)
        assert httpx.get(f"{info.admin_url}/faults/seed").json() == {"seed": 11}
        assert httpx.put(f"{info.admin_url}/faults/seed", json={}).json()["seed"] != 11  # a fresh one
    finally:
        httpx.delete(f"{info.admin_url}/faults")
