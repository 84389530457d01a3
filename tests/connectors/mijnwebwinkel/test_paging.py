"""Order paging against a tiny fake shop that caps pages at 50 (the API clamps `limit` silently): no order is
lost, the `/orders/count` cross-check ends the listing, and a count the listing does not reach is retryable."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox
from koppel.connectors.sandboxkit import Fault
from koppel.errors import RetryableError

from .conftest import make_client


def order(number: int) -> dict[str, object]:
    return {"number": str(number), "status": 3, "date": "2026-05-01", "price": {"total": "10.00"}}


def fake_shop(orders: int, *, counted: int | None = None, cap: int = 50) -> tuple[httpx.MockTransport, list[str]]:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.url.path}?offset={request.url.params.get('offset', '')}")
        if request.url.path == "/v1/orders/count":
            return httpx.Response(200, json={"count": orders if counted is None else counted})
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        return httpx.Response(200, json=[order(1000 + n) for n in range(orders)][offset : offset + min(limit, cap)])

    return httpx.MockTransport(answer), asked


def shop_client(transport: httpx.MockTransport) -> MijnWebwinkelClient:
    return MijnWebwinkelClient(
        "https://shop.test", "st_token", "pt_token", rate_per_second=None, retry_attempts=1, transport=transport
    )


def numbers(client: MijnWebwinkelClient, **filters: object) -> list[str]:
    return [str(o.number) for o in client.iter_orders(**filters)]  # type: ignore[arg-type]


def test_a_shop_capping_pages_at_50_loses_no_order() -> None:
    transport, asked = fake_shop(120)
    with shop_client(transport) as client:
        assert numbers(client) == [str(1000 + n) for n in range(120)]
    assert asked == ["/v1/orders/count?offset=", "/v1/orders?offset=0", "/v1/orders?offset=50", "/v1/orders?offset=100"]


def test_without_a_count_the_listing_ends_on_an_empty_page() -> None:
    transport, asked = fake_shop(120)
    with shop_client(transport) as client:  # /orders/count has no debtor filter: no cross-check then
        assert len(numbers(client, debtor_email="jan@example.nl")) == 120
    assert asked[-1] == "/v1/orders?offset=120" and not any("count" in a for a in asked)


def test_fewer_orders_listed_than_counted_is_retryable() -> None:
    transport, _ = fake_shop(120, counted=125)
    with shop_client(transport) as client, pytest.raises(RetryableError) as caught:
        numbers(client)
    assert caught.value.system == "mijnwebwinkel" and "125" in str(caught.value)


def test_http_date_retry_after_is_parsed(sandbox: MijnWebwinkelSandbox) -> None:
    later = email.utils.formatdate(time.time() + 100, usegmt=True)
    sandbox.add_fault(Fault("http_status", path="/v1/store", status=429, retry_after=later, count=1))
    with make_client(sandbox.info) as client, pytest.raises(RetryableError) as caught:
        client.store()  # longer than max_retry_after: left to the durable layer, with the wait
    assert caught.value.retry_after is not None and 90 < caught.value.retry_after <= 100
