"""The AccountView client's transport on the connector kit: `Retry-After` as an HTTP date, and
`rate_per_second` reaching a real limiter that keeps the client under the sandbox's server-side limit."""

from __future__ import annotations

import email.utils
import threading
import time

import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.sandboxkit import Fault
from koppel.errors import RetryableError

from .conftest import fast_options


def test_http_date_retry_after_is_parsed(sandbox: AccountViewSandbox) -> None:
    later = email.utils.formatdate(time.time() + 100, usegmt=True)
    path = "/api/v3/accountviewdata"
    sandbox.faults.add(Fault(kind="http_status", status=429, retry_after=later, count=1, path=path))
    with sandbox.authorised_client(options=fast_options(sandbox)) as client, pytest.raises(RetryableError) as caught:
        client.vat_codes()
    assert caught.value.status == 429
    assert caught.value.retry_after is not None and 90 < caught.value.retry_after <= 100


def test_the_sandbox_rate_limit_answers_429_with_retry_after_and_counts_calls(sandbox: AccountViewSandbox) -> None:
    sandbox.set_rate_limit(1, burst=2)
    try:
        with sandbox.authorised_client(options=fast_options(sandbox, retry_attempts=1)) as client:
            sandbox.limits.reset_calls()
            client.vat_codes()
            client.vat_codes()
            with pytest.raises(RetryableError) as caught:
                client.vat_codes()
        assert caught.value.status == 429 and caught.value.retry_after == 1
        assert sandbox.limits.calls_json()["refused"] == 1
        assert sandbox.limits.calls_json()["by_route"] == {"GET /api/v3/accountviewdata": 3}
    finally:
        sandbox.set_rate_limit(None)


def test_rate_per_second_keeps_two_clients_of_one_account_under_the_limit(sandbox: AccountViewSandbox) -> None:
    """Two clients of the same OAuth client share one limiter: together they stay at 10 calls/s."""
    sandbox.set_rate_limit(10, burst=3)
    admitted: list[float] = []
    try:
        with sandbox.authorised_client() as authorised:
            tokens = authorised.token_store
        clients = [
            AccountViewClient(
                sandbox.url, client_id=sandbox.info.client_id, client_secret=sandbox.info.client_secret,
                token_store=tokens, company_id=sandbox.company_id,
                options=fast_options(sandbox, retry_attempts=1), rate_per_second=10, rate_burst=1,
            )
            for _ in range(2)
        ]
        sandbox.limits.reset_calls()

        def read(client: AccountViewClient) -> None:
            for _ in range(8):
                client.vat_codes()
                admitted.append(time.monotonic())

        threads = [threading.Thread(target=read, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()
    finally:
        sandbox.set_rate_limit(None)
    assert sandbox.limits.calls_json()["refused"] == 0 and len(admitted) == 16
    assert max(admitted) - min(admitted) >= 14 / 10 * 0.9  # 16 calls at 10/s: at least ~1.5 s apart end to end
