"""Paging, rate limiting and recovery from 429/5xx/timeouts, lost write answers and malformed bodies,
over real HTTP against the sandbox with injected faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from koppel.connectors.mijnwebwinkel.client import LEGACY_BASE_URL, MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.models import ArticleCategoryInput, ArticleInput
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SandboxInfo, SeedSizes
from koppel.connectors.sandboxkit import Fault
from koppel.errors import BrokenConnection, NeedsAttention, RetryableError

from .conftest import make_client


class CountingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@pytest.fixture(scope="module")
def big_shop() -> Iterator[MijnWebwinkelSandbox]:
    box = MijnWebwinkelSandbox(seed=2, sizes=SeedSizes(categories=2, articles=0, orders=0))
    for n in range(250):
        box.add_article({"name": f"Artikel {n}", "sku": f"BIG-{n:04d}"})
    box.start()
    yield box
    box.stop()


def test_paging_reads_limit_100_until_the_count_is_read(big_shop: MijnWebwinkelSandbox) -> None:
    transport = CountingTransport()
    with make_client(big_shop.info, transport=transport) as client:
        skus = [a.sku for a in client.iter_articles()]
    assert skus == [f"BIG-{n:04d}" for n in range(250)]
    assert [r.url.path for r in transport.requests] == ["/v1/articles/count"] + ["/v1/articles"] * 3
    pages = [(r.url.params["limit"], r.url.params["offset"]) for r in transport.requests[1:]]
    assert pages == [("100", "0"), ("100", "100"), ("100", "200")]


def test_paging_is_lazy(big_shop: MijnWebwinkelSandbox) -> None:
    transport = CountingTransport()
    with make_client(big_shop.info, transport=transport) as client:
        articles = client.iter_articles()
        first = next(articles)
        assert first.sku == "BIG-0000" and len(transport.requests) == 2  # the count, the first page


def test_paging_ends_when_the_count_is_read(sandbox: MijnWebwinkelSandbox) -> None:
    transport = CountingTransport()
    with make_client(sandbox.info, transport=transport, page_size=5) as client:
        total = client.count_orders()
        numbers = [o.number for o in client.iter_orders()]
    assert len(numbers) == len(set(numbers)) == total
    assert len(transport.requests) == 2 + -(-total // 5)  # two counts + the pages holding `total` orders


def test_paging_without_a_count_ends_on_an_empty_page(big_shop: MijnWebwinkelSandbox) -> None:
    transport = CountingTransport()
    with make_client(big_shop.info, transport=transport) as client:
        assert len(list(client.iter_articles(ids=sorted(big_shop.state.articles)))) == 250
    assert [r.url.params["offset"] for r in transport.requests] == ["0", "100", "200", "250"]


def test_sandbox_clamps_limit_to_100(big_shop: MijnWebwinkelSandbox) -> None:
    info = big_shop.info
    response = httpx.get(
        f"{info.url}/v1/articles",
        params={"limit": 500, "token": info.token, "partner_token": info.partner_token},
    )
    assert len(response.json()) == 100
    default = httpx.get(f"{info.url}/v1/articles", params={"token": info.token, "partner_token": info.partner_token})
    assert len(default.json()) == 10


def test_client_side_rate_limit_spaces_calls(info: SandboxInfo) -> None:
    with make_client(info, rate_per_second=20, rate_burst=1) as client:
        started = time.monotonic()
        for _ in range(6):
            client.store()
        assert time.monotonic() - started >= 0.2


def test_client_limiter_keeps_under_the_sandbox_limit(sandbox: MijnWebwinkelSandbox) -> None:
    # The server allows a burst of 2: on a loaded machine two requests the client spaced 125 ms apart can
    # arrive closer together; without the client's limiter, five at once still meet a 429.
    sandbox.set_rate_limit(per_second=10, burst=2)
    transport = CountingTransport()
    with make_client(sandbox.info, rate_per_second=8, rate_burst=1, transport=transport) as client:
        for _ in range(5):
            client.store()
    assert len(transport.requests) == 5  # no 429, so no retries


def test_sandbox_rate_limit_429_is_retried_after_retry_after(sandbox: MijnWebwinkelSandbox) -> None:
    sandbox.set_rate_limit(per_second=2, burst=1)
    transport = CountingTransport()
    with make_client(sandbox.info, transport=transport) as client:
        client.store()
        started = time.monotonic()
        client.store()
    assert time.monotonic() - started >= 0.9  # waited for Retry-After: 1
    assert [r.url.path for r in transport.requests] == ["/v1/store"] * 3


def test_429_with_long_retry_after_is_left_to_the_durable_layer(sandbox: MijnWebwinkelSandbox) -> None:
    sandbox.add_fault(Fault("http_status", path="/v1/store", status=429, retry_after="120", count=1))
    transport = CountingTransport()
    with make_client(sandbox.info, transport=transport) as client, pytest.raises(RetryableError) as caught:
        client.store()
    assert caught.value.retry_after == 120 and caught.value.status == 429
    assert len(transport.requests) == 1


def test_5xx_is_retried_then_succeeds(sandbox: MijnWebwinkelSandbox, client: MijnWebwinkelClient) -> None:
    sandbox.add_fault(Fault("http_status", path="/v1/orders", method="GET", status=503, count=2))
    assert list(client.iter_orders())


def test_5xx_gives_up_after_the_bounded_attempts(sandbox: MijnWebwinkelSandbox) -> None:
    fault = sandbox.add_fault(Fault("http_status", path="/v1/store", status=500))
    with make_client(sandbox.info, retry_attempts=3) as client, pytest.raises(RetryableError) as caught:
        client.store()
    assert caught.value.status == 500 and fault.fired == 3


def test_timeout_is_retried(sandbox: MijnWebwinkelSandbox) -> None:
    sandbox.add_fault(Fault("timeout", path="/v1/store", seconds=1.0, count=1))
    with make_client(sandbox.info, timeout=0.3) as client:
        assert client.store().name


def test_timeout_every_time_is_retryable(sandbox: MijnWebwinkelSandbox) -> None:
    sandbox.add_fault(Fault("timeout", path="/v1/store", seconds=0.6))
    with (
        make_client(sandbox.info, timeout=0.2, retry_attempts=2) as client,
        pytest.raises(RetryableError) as c,
    ):
        client.store()
    assert "timed out" in str(c.value)


def test_latency_below_the_timeout_is_fine(sandbox: MijnWebwinkelSandbox, client: MijnWebwinkelClient) -> None:
    sandbox.add_fault(Fault("latency", path="/v1/store", seconds=0.1))
    assert client.store().name


def test_lost_answer_to_an_idempotent_patch_is_retried(
    sandbox: MijnWebwinkelSandbox, client: MijnWebwinkelClient
) -> None:
    order = next(client.iter_orders(statuses=[3]))
    fault = sandbox.add_fault(Fault("drop_after_commit", path=f"/v1/orders/{order.number}", method="PATCH", count=1))
    updated = client.update_order(order.number, status=2, internal_comment="DHL: JVGL123")
    assert fault.fired == 1
    assert updated.status == 2 and updated.comments.internal == "DHL: JVGL123"
    client.update_order(order.number, status=3)


def test_lost_answer_to_a_create_is_not_retried_and_the_article_is_found_by_sku(
    sandbox: MijnWebwinkelSandbox, client: MijnWebwinkelClient
) -> None:
    category = next(iter(sandbox.state.categories))
    sandbox.add_fault(Fault("drop_after_commit", path="/v1/articles", method="POST", count=1))
    body = ArticleInput(
        name="Verloren antwoord", sku="LOST-ANSWER-1", categories=[ArticleCategoryInput(category_id=category)]
    )
    made = client.create_article(body)  # the answer was cut off: found again by its SKU, not re-posted
    found = [a for a in client.iter_articles() if a.sku == "LOST-ANSWER-1"]
    assert [a.id for a in found] == [made.id]  # created exactly once
    assert made.name == "Verloren antwoord"
    client.delete_article(made.id)


def test_create_is_not_retried_on_5xx(sandbox: MijnWebwinkelSandbox, client: MijnWebwinkelClient) -> None:
    fault = sandbox.add_fault(Fault("http_status", path="/v1/articles", method="POST", status=503))
    with pytest.raises(RetryableError):
        client.create_article(ArticleInput(name="x", categories=[ArticleCategoryInput(category_id=1)]))
    assert fault.fired == 1


def test_malformed_body_is_retried(sandbox: MijnWebwinkelSandbox, client: MijnWebwinkelClient) -> None:
    sandbox.add_fault(Fault("malformed", path="/v1/store", count=1))
    assert client.store().name
    sandbox.add_fault(Fault("malformed", path="/v1/store"))
    with pytest.raises(RetryableError) as caught:
        client.store()
    assert "unreadable" in str(caught.value)


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_are_a_broken_connection(sandbox: MijnWebwinkelSandbox, status: int) -> None:
    sandbox.state.auth_failure_status = status
    with (
        MijnWebwinkelClient(
            sandbox.info.url, "wrong-store-token", sandbox.info.partner_token, rate_per_second=None
        ) as client,
        pytest.raises(BrokenConnection) as caught,
    ):
        client.store()
    assert caught.value.status == status


def test_partner_only_endpoint_needs_no_store_token(sandbox: MijnWebwinkelSandbox) -> None:
    with MijnWebwinkelClient(
        sandbox.info.url, "not-the-store-token", sandbox.info.partner_token, rate_per_second=None
    ) as client:
        assert client.order_statuses()


def test_validation_errors_need_attention_with_the_server_message(client: MijnWebwinkelClient) -> None:
    with pytest.raises(NeedsAttention) as caught:
        client.update_order(next(client.iter_orders()).number, status=12345)
    assert caught.value.status == 422 and "Unknown order status" in str(caught.value)


def test_connection_refused_is_retryable() -> None:
    from koppel.connectors.sandboxkit.serve import free_port

    with (
        MijnWebwinkelClient(
            f"http://127.0.0.1:{free_port()}",
            "a-store-token",
            "a-partner-token",
            rate_per_second=None,
            retry_attempts=2,
            retry_wait_initial=0.01,
            retry_wait_max=0.02,
        ) as client,
        pytest.raises(RetryableError),
    ):
        client.store()


def test_v2_beta_and_legacy_host_use_the_same_paths(sandbox: MijnWebwinkelSandbox) -> None:
    with make_client(sandbox.info, api_version="2-beta") as client:
        assert client.store().name
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"name": "Legacy", "prices_include_tax": True})

    with MijnWebwinkelClient(
        LEGACY_BASE_URL, "tok-1234", "ptok-5678", rate_per_second=None, transport=httpx.MockTransport(answer)
    ) as legacy:
        assert legacy.store().name == "Legacy"
    url = seen[0].url
    assert (url.host, url.path) == ("api.mijnwebwinkel.nl", "/v1/store")
    assert dict(url.params) == {
        "format": "json",
        "language": "nl_NL",
        "partner_token": "ptok-5678",
        "token": "tok-1234",
    }
