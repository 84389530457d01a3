"""The sandbox's back office: a read-only HTML page of an article (by the url id of any of its category links,
as the reference's /beheer/article/edit?categoryArticleId=…) and of an order (by its number), 404 for what the
shop does not have; the pages are not the API, so faults, rate limits and the call counter leave them alone."""

from __future__ import annotations

from typing import Any

import httpx

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SandboxInfo
from koppel.connectors.sandboxkit import Fault


def article_page(info: SandboxInfo, url_id: object) -> httpx.Response:
    return httpx.get(info.admin_article_url.format(article_url_id=url_id), timeout=5)


def order_page(info: SandboxInfo, number: object) -> httpx.Response:
    return httpx.get(info.admin_order_url.format(number=number), timeout=5)


def an_article(sandbox: MijnWebwinkelSandbox, *, variants: bool = False) -> dict[str, Any]:
    return next(a for a in sandbox.state.articles.values() if bool(a["variants"]) == variants and a["categories"])


def test_an_article_page_by_each_of_its_url_ids(sandbox: MijnWebwinkelSandbox, info: SandboxInfo) -> None:
    article = an_article(sandbox)
    url_ids = [link["article_url_id"] for link in article["categories"]]
    for url_id in url_ids:
        answer = article_page(info, url_id)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
        assert article["sku"] in answer.text and f"<td>{article['id']}</td>" in answer.text
    assert article["id"] not in url_ids
    assert article_page(info, article["id"]).status_code == 404  # the API id is no url id


def test_an_article_with_variants_shows_each_variants_stock(sandbox: MijnWebwinkelSandbox, info: SandboxInfo) -> None:
    article = an_article(sandbox, variants=True)
    text = article_page(info, article["categories"][0]["article_url_id"]).text
    for variant in article["variants"]:
        assert f"<td>{variant['id']}</td>" in text


def test_an_order_page_shows_the_order(sandbox: MijnWebwinkelSandbox, info: SandboxInfo) -> None:
    order = next(o for o in sandbox.state.orders.values() if not str(o["number"]).startswith("T"))
    answer = order_page(info, order["number"])
    assert answer.status_code == 200
    assert f"Bestelling {order['number']}" in answer.text
    assert order["debtor"]["email"] in answer.text and order["price"]["total"] in answer.text
    test_order = next(o for o in sandbox.state.orders.values() if str(o["number"]).startswith("T-"))
    assert order_page(info, test_order["number"]).status_code == 200


def test_every_seeded_order_and_article_has_its_page(sandbox: MijnWebwinkelSandbox, info: SandboxInfo) -> None:
    """Credit orders, several VAT rates, B2B, variants: whatever the seed holds renders."""
    for number in [o["number"] for o in sandbox.state.orders.values()]:
        assert order_page(info, number).status_code == 200, number
    for article in [a for a in sandbox.state.articles.values() if a["categories"]]:
        assert article_page(info, article["categories"][-1]["article_url_id"]).status_code == 200, article["id"]


def test_what_the_shop_does_not_have_is_404(info: SandboxInfo) -> None:
    for answer in (order_page(info, "99999999"), order_page(info, ""), article_page(info, 987654),
                   article_page(info, "abc"), article_page(info, "²"), article_page(info, "")):
        assert answer.status_code == 404 and "Niet gevonden" in answer.text


def test_the_pages_escape_what_the_shop_holds(sandbox: MijnWebwinkelSandbox, info: SandboxInfo) -> None:
    article = an_article(sandbox)
    sandbox.add_article({**{k: v for k, v in article.items() if k not in ("id", "uuid")},
                         "name": "<script>alert(1)</script>", "categories": [
                             {**article["categories"][0], "article_url_id": 777001}]})
    text = article_page(info, 777001).text
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_read_only_and_left_alone_by_faults_limits_and_the_call_counter(
        sandbox: MijnWebwinkelSandbox, info: SandboxInfo) -> None:
    article = an_article(sandbox)
    url_id = article["categories"][0]["article_url_id"]
    sandbox.limits.reset_calls()
    sandbox.add_fault(Fault(kind="http_status", status=503))
    sandbox.set_rate_limit(0.01, burst=1)

    assert all(article_page(info, url_id).status_code == 200 for _ in range(3))
    assert httpx.post(info.admin_article_url.format(article_url_id=url_id), timeout=5).status_code == 405
    assert sandbox.limits.calls_json()["total"] == 0
    api = httpx.get(f"{info.url}/v1/store", params={"token": info.token, "partner_token": info.partner_token})
    assert api.status_code == 503  # the API itself still gets its fault
