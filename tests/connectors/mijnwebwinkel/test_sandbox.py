"""The sandbox itself: deterministic seed, admin surface, auth, paths and the documented write semantics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SandboxInfo, SeedSizes
from koppel.connectors.mijnwebwinkel.sandbox.state import public

from .conftest import make_client


def _dump(box: MijnWebwinkelSandbox) -> str:
    state = box.state
    return json.dumps(
        public({"c": state.categories, "a": state.articles, "o": state.orders, "l": state.option_lists}),
        sort_keys=True,
        default=str,
    )


def test_seed_is_deterministic_and_sizes_are_honoured() -> None:
    sizes = SeedSizes(categories=7, articles=12, orders=20)
    first, second = MijnWebwinkelSandbox(seed=5, sizes=sizes), MijnWebwinkelSandbox(seed=5, sizes=sizes)
    assert _dump(first) == _dump(second)
    assert _dump(first) != _dump(MijnWebwinkelSandbox(seed=6, sizes=sizes))
    assert (len(first.state.categories), len(first.state.articles), len(first.state.orders)) == (7, 12, 20)
    assert MijnWebwinkelSandbox(sizes=None).state.orders == {}


@pytest.fixture
def http(info: SandboxInfo) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=info.url, timeout=5, params={"token": info.token, "partner_token": info.partner_token}
    ) as client:
        yield client


def test_auth_versions_and_formats(info: SandboxInfo, http: httpx.Client) -> None:
    assert httpx.get(f"{info.url}/v1/store").status_code == 401
    assert httpx.get(f"{info.url}/v1/store", params={"token": info.token}).status_code == 401
    assert httpx.get(f"{info.url}/v1/orderstatuses", params={"partner_token": info.partner_token}).status_code == 200
    assert http.get("/v2-beta/store").json() == http.get("/v1/store").json()
    assert http.get("/v3/store").status_code == 404
    assert http.get("/v1/store", params={"format": "xml"}).status_code == 406
    assert http.get("/v1/store", params={"whatever": "ignored"}).status_code == 200


def test_array_filters_and_booleans_in_every_encoding(http: httpx.Client) -> None:
    ids = [a["id"] for a in http.get("/v1/articles", params={"limit": 3}).json()]
    comma = http.get("/v1/articles", params={"ids": ",".join(map(str, ids))}).json()
    repeated = http.get("/v1/articles", params=[("ids", str(i)) for i in ids]).json()
    bracket = http.get("/v1/articles", params=[("ids[]", str(i)) for i in ids]).json()
    assert [a["id"] for a in comma] == [a["id"] for a in repeated] == [a["id"] for a in bracket] == ids
    with_tests = http.get("/v1/orders/count", params={"test": "1"}).json()["count"]
    assert with_tests == http.get("/v1/orders/count", params={"test": "true"}).json()["count"]
    assert with_tests > http.get("/v1/orders/count", params={"test": "0"}).json()["count"]


def test_admin_surface(sandbox: MijnWebwinkelSandbox, info: SandboxInfo, http: httpx.Client) -> None:
    admin = info.admin_url
    state = httpx.get(f"{admin}/state").json()
    assert state["credentials"] == {"token": info.token, "partner_token": info.partner_token}
    assert httpx.put(f"{admin}/quirks", json={"number_as_string": False}).json()["number_as_string"] is False
    assert isinstance(http.get("/v1/orders", params={"limit": 1}).json()[0]["number"], int)
    assert httpx.put(f"{admin}/quirks", json={"nonsense": True}).status_code == 400
    httpx.post(f"{admin}/faults", json={"kind": "http_status", "path": "/v1/store", "status": 502, "count": 1})
    assert http.get("/v1/store").status_code == 502 and http.get("/v1/store").status_code == 200
    assert httpx.delete(f"{admin}/faults").json() == []
    httpx.put(f"{admin}/rate-limit", json={"per_second": 1, "burst": 1})
    statuses = [http.get("/v1/store").status_code for _ in range(3)]
    assert 429 in statuses
    assert httpx.put(f"{admin}/rate-limit", json=None).json() is None
    settings = httpx.put(f"{admin}/settings", json={"auth_failure_status": 403}).json()
    assert settings["auth_failure_status"] == 403 and httpx.get(f"{info.url}/v1/store").status_code == 403


def test_seed_and_reset_endpoints() -> None:
    with MijnWebwinkelSandbox(sizes=None) as box:
        admin = box.info.admin_url
        seeded = httpx.post(f"{admin}/seed", json={"seed": 3, "categories": 3, "articles": 5, "orders": 10}).json()
        assert seeded["counts"] == {"categories": 3, "option_lists": 2, "articles": 5, "orders": 10}
        assert httpx.post(f"{admin}/reset").json()["counts"]["orders"] == 0


NASTY_ORDERS: list[dict[str, Any]] = [
    {"debtor": {"email": "", "address": {"invoice": {"name": "Zonder E-mail", "zipcode": "1234AB"}}}},
    {
        "debtor": {
            "email": "ünïcødé@exämple.de",
            "address": {
                "invoice": {
                    "name": "Zoë Ångström-Müller 🚲",
                    "zipcode": "10115",
                    "number": "12 bis",
                    "country_code": "DE",
                }
            },
        }
    },
    {
        "debtor": {
            "email": "lang@example.nl",
            "address": {"invoice": {"name": "X" * 300, "zipcode": "1234AB"}},
        },
        "orderlines": [
            {
                "type": "article",
                "quantity": 1,
                "description": "Onbekend artikel",
                "price": {"amount": "8.264463", "amount_including_tax": "10.00", "rate": "21.00"},
                "articles": [
                    {
                        "id": 999999,
                        "description": "Weg",
                        "sku": "DOES-NOT-EXIST",
                        "price": {"amount": "8.264463", "rate": "21.00"},
                        "options": [],
                    }
                ],
            }
        ],
        "price": {"tax": {"rate": "21.00", "amount": "1.74"}, "total": "10.00"},
    },
]


@pytest.mark.parametrize("raw", NASTY_ORDERS)
def test_tests_can_add_nasty_orders_directly(
    sandbox: MijnWebwinkelSandbox, info: SandboxInfo, raw: dict[str, Any]
) -> None:
    stored = sandbox.add_order(raw)
    via_admin = httpx.post(f"{info.admin_url}/orders", json=raw).json()
    with make_client(info) as client:
        for number in (stored["number"], via_admin["number"]):
            order = client.get_order(number)
            assert order.customer.name == raw["debtor"]["address"]["invoice"]["name"]
            assert order.customer.email == (raw["debtor"]["email"] or None)
            assert sum((line.amount_incl for line in order.orderlines), order.total * 0) == order.total


def test_admin_can_compose_an_order_with_computed_prices(sandbox: MijnWebwinkelSandbox, info: SandboxInfo) -> None:
    article = next(a for a in sandbox.state.articles.values() if not a["lists"])
    composed = httpx.post(
        f"{info.admin_url}/orders",
        json={
            "test": True,
            "compose": {
                "debtor": {
                    "email": "c@example.nl",
                    "address": {"invoice": {"name": "C", "zipcode": "1000AA"}},
                },
                "orderlines": [{"type": "article", "quantity": 2, "articles": [{"id": article["id"]}]}],
            },
        },
    ).json()
    assert composed["number"].startswith("T-") and composed["orderlines"][0]["articles"][0]["sku"] == article["sku"]
    extra = httpx.post(f"{info.admin_url}/articles", json={"name": "Handmatig", "sku": "HAND-1"}).json()
    assert sandbox.state.articles[extra["id"]]["sku"] == "HAND-1"


def test_article_patch_semantics(sandbox: MijnWebwinkelSandbox, http: httpx.Client) -> None:
    article = next(a for a in sandbox.state.articles.values() if len(a["lists"]) == 1 and len(a["variants"]) > 2)
    before = http.get(f"/v1/articles/{article['id']}").json()
    options = before["lists"][0]["options"]
    variant = before["variants"][0]
    patched = http.patch(
        f"/v1/articles/{article['id']}",
        json={
            "name": "Nieuwe naam",
            "price": {"action": "1.00"},
            "extra": {"invisible": {"weight": "9.99"}},
            "lists": [{"id": before["lists"][0]["id"], "options": [{"id": options[0]["id"]}]}],
            "variants": [{"id": variant["id"], "stock": 7}],
        },
    ).json()
    assert patched["name"] == "Nieuwe naam" and patched["sku"] == before["sku"]  # top-level merge
    assert patched["price"]["default"] == before["price"]["default"] and patched["price"]["action"] == "1.00"
    assert patched["extra"]["invisible"]["weight"] == "9.99"
    assert "barcode" in patched["extra"]["invisible"] or "barcode" in patched["extra"]["visible"]
    assert [o["id"] for o in patched["lists"][0]["options"]] == [options[0]["id"]]  # options replaced
    assert [v["id"] for v in patched["variants"]] == [variant["id"]] and patched["variants"][0]["stock"] == 7
    assert (patched["updated_date"], patched["updated_time"]) >= (
        before["updated_date"],
        before["updated_time"],
    )
    assert http.patch(f"/v1/articles/{article['id']}", json={"variants": [{"id": 1, "stock": 1}]}).status_code == 422


def test_post_order_takes_stock_and_refuses_when_short(sandbox: MijnWebwinkelSandbox, http: httpx.Client) -> None:
    article = next(
        a
        for a in sandbox.state.articles.values()
        if not a["lists"] and a["stock"] is not None and not a["can_backorder"]
    )
    article["stock"] = 3
    body = {
        "debtor": {"email": "s@example.nl", "address": {"invoice": {"name": "S", "zipcode": "1000AA"}}},
        "orderlines": [{"type": "article", "quantity": 2, "articles": [{"id": article["id"]}]}],
    }
    made = http.post("/v1/orders", json=body)
    assert made.status_code == 200 and sandbox.state.articles[article["id"]]["stock"] == 1
    short = http.post("/v1/orders", json=body)
    assert short.status_code == 422 and "stock" in short.json()["detail"]
    assert http.post("/v1/orders", json=body, params={"override_stock": "true"}).status_code == 200
    assert http.post("/v1/orders", json={"orderlines": []}).status_code == 422


def test_status_change_updates_status_changed_moment(sandbox: MijnWebwinkelSandbox, http: httpx.Client) -> None:
    number = next(n for n, o in sandbox.state.orders.items() if o["status"] == 6)
    before = http.get(f"/v1/orders/{number}").json()
    after = http.patch(f"/v1/orders/{number}", json={"status": 3, "finished": False}).json()
    assert after["status"] == 3
    assert (after["status_changed_date"], after["status_changed_time"]) > (
        before["status_changed_date"],
        before["status_changed_time"],
    )
    same = http.patch(f"/v1/orders/{number}", json={"status": 3}).json()
    assert same["status_changed_time"] == after["status_changed_time"]  # no change, no new moment


def test_credit_order_links_both_ways(sandbox: MijnWebwinkelSandbox, http: httpx.Client) -> None:
    original = next(
        o
        for o in sandbox.state.orders.values()
        if isinstance(o["number"], int)
        and not o.get("credited_order_number")
        and not o["credit_order_numbers"]
        and any(line["type"] == "article" for line in o["orderlines"])
    )
    line = next(line for line in original["orderlines"] if line["type"] == "article")
    entry = {
        "id": line["articles"][0]["id"],
        "options": [
            {"list_option_id": o["list_option_id"]} for o in line["articles"][0]["options"] if o.get("list_option_id")
        ],
    }
    credit = http.post(
        "/v1/orders/credit",
        json={
            "credited_order_number": str(original["number"]),
            "status": 10,
            "orderlines": [{"type": "article", "quantity": 1, "articles": [entry]}],
        },
    ).json()
    assert credit["credited_order_number"] == original["number"]
    assert int(credit["number"]) in http.get(f"/v1/orders/{original['number']}").json()["credit_order_numbers"]
    assert (
        http.post(
            "/v1/orders/credit",
            json={
                "credited_order_number": str(original["number"]),
                "status": 3,
                "orderlines": [{"type": "custom", "quantity": 1}],
            },
        ).status_code
        == 422
    )


def test_store_with_prices_excluding_vat() -> None:
    with MijnWebwinkelSandbox(seed=4, sizes=SeedSizes(3, 10, 15), prices_include_tax=False) as box:
        with make_client(box.info) as client:
            assert client.store().prices_include_tax is False
            orders = list(client.iter_orders(include_test=True))
            articles = {a.id: a for a in client.iter_articles()}
        for order in orders:
            assert order.taxed == "exclude"
            assert sum((line.amount_incl for line in order.orderlines), order.total * 0) == order.total
            for line in order.lines_of("article"):
                article = articles[line.article_id or 0]
                if order.tax_strategy == "" and not line.articles[0].options:
                    assert abs(line.amount_excl) == article.price.default * line.quantity  # type: ignore[operator]
        reseeded = httpx.post(f"{box.info.admin_url}/seed", json={"seed": 4, "articles": 5, "orders": 5}).json()
        assert reseeded["store"]["prices_include_tax"] is False


def test_compose_order_from_python(sandbox: MijnWebwinkelSandbox) -> None:
    article = next(a for a in sandbox.state.articles.values() if not a["lists"])
    stock = article["stock"]
    body = {
        "debtor": {"email": "c@example.nl", "address": {"invoice": {"name": "C", "zipcode": "1000AA"}}},
        "orderlines": [{"type": "article", "quantity": 1, "articles": [{"id": article["id"]}]}],
    }
    order = sandbox.compose_order(body)
    assert isinstance(order["number"], int) and order["price"]["total"] != "0.00"
    assert sandbox.compose_order(body, test=True)["number"].startswith("T-")  # shown as 1042 with the quirk off
    assert article["stock"] == stock
