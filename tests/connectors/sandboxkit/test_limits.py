"""The server-side rate limit and call counter both sandboxes carry: over the limit a sandbox answers 429 with
`Retry-After`, and the admin surface says how many calls arrived and how many were refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox


@pytest.fixture(scope="module", params=["mijnwebwinkel", "accountview"])
def api(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(url of one API call, admin URL, query params) of a running sandbox."""
    if request.param == "mijnwebwinkel":
        with MijnWebwinkelSandbox(sizes=None) as shop:
            info = shop.info
            yield f"{info.url}/v1/store", info.admin_url, {"token": info.token, "partner_token": info.partner_token}
    else:
        with AccountViewSandbox(seed=None) as books:
            yield f"{books.url}/api/v3/companies", f"{books.url}/_sandbox", {}


def test_over_the_rate_limit_the_sandbox_answers_429_with_retry_after(api: tuple[str, str, dict[str, str]]) -> None:
    url, admin, params = api
    assert httpx.put(f"{admin}/rate-limit", json={"per_second": 0.5, "burst": 2}).json() == {
        "per_second": 0.5, "burst": 2
    }
    httpx.delete(f"{admin}/calls")
    try:
        answers = [httpx.get(url, params=params) for _ in range(3)]
    finally:
        assert httpx.put(f"{admin}/rate-limit", json=None).json() is None
    assert [a.status_code == 429 for a in answers] == [False, False, True]
    assert answers[2].headers["retry-after"] in ("1", "2")
    calls = httpx.get(f"{admin}/calls").json()
    path = httpx.URL(url).path
    assert calls == {"total": 3, "refused": 1, "by_route": {f"GET {path}": 3}}
    assert httpx.get(url, params=params).status_code != 429  # the limit is off again
    assert httpx.delete(f"{admin}/calls").json() == {"total": 0, "refused": 0, "by_route": {}}


def test_admin_calls_are_not_counted_or_limited(api: tuple[str, str, dict[str, str]]) -> None:
    _, admin, _ = api
    httpx.put(f"{admin}/rate-limit", json={"per_second": 0.1, "burst": 1})
    try:
        assert all(httpx.get(f"{admin}/quirks").status_code == 200 for _ in range(3))
    finally:
        httpx.put(f"{admin}/rate-limit", json=None)
    assert httpx.get(f"{admin}/calls").json()["total"] == 0
