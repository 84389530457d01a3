"""The sandbox's catalogue behaviour where the references are silent or contradict each other: image
PATCH (replace, or merge under a quirk), stock (unlimited only on the article unless a quirk), all-or-
nothing PATCH, the bad-input rules, option lists made in the admin, and listing after articles come
and go."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SandboxInfo, SeedSizes

PNG = b"\x89PNG\r\n\x1a\n" + bytes(8)
PROBLEM_KEYS = {"type", "title", "detail", "status"}


@pytest.fixture
def box() -> Iterator[MijnWebwinkelSandbox]:
    sandbox = MijnWebwinkelSandbox(seed=2, sizes=SeedSizes(categories=4, articles=25, orders=0))
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def http(box: MijnWebwinkelSandbox) -> Iterator[httpx.Client]:
    info: SandboxInfo = box.info
    with httpx.Client(
        base_url=f"{info.url}/v1", timeout=5, params={"token": info.token, "partner_token": info.partner_token}
    ) as client:
        yield client


def _article(box: MijnWebwinkelSandbox, http: httpx.Client, **body: Any) -> dict[str, Any]:
    category = min(box.state.categories)
    made = http.post("/articles", json={"name": "Proef", "categories": [{"category_id": category}], **body})
    assert made.status_code == 200, made.text
    return made.json()


def _refused(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == PROBLEM_KEYS and body["status"] == 422
    assert body["detail"].startswith(f"{field}: "), body["detail"]
    return str(body["detail"])


@pytest.mark.parametrize("merges", [False, True])
def test_patch_images_replace_or_merge(box: MijnWebwinkelSandbox, http: httpx.Client, merges: bool) -> None:
    box.state.quirks.update({"images_patch_merges": merges})
    article = _article(
        box,
        http,
        images=[{"url": "https://x.test/a.jpg", "position": 1}, {"url": "https://x.test/b.jpg", "position": 2}],
    )
    first, second = (i["id"] for i in article["images"])
    patched = http.patch(
        f"/articles/{article['id']}",
        json={"images": [{"id": second, "position": 1}, {"url": "https://x.test/c.jpg", "position": 3}]},
    ).json()
    names = [i["original_name"] for i in patched["images"]]
    assert names == (["b.jpg", "a.jpg", "c.jpg"] if merges else ["b.jpg", "c.jpg"])
    assert (first in {i["id"] for i in patched["images"]}) is merges
    # uploadImage and deleteImage mean the same under both readings.
    upload = {"filename": "d.png", "content": base64.b64encode(PNG).decode()}
    added = http.post(f"/articles/uploadImage/{article['id']}", json=upload).json()
    assert http.delete(f"/deleteImage/{added}").status_code == 204
    assert http.delete(f"/deleteImage/{added}").status_code == 404


@pytest.mark.parametrize("unlimited", [False, True])
def test_variant_stock_is_a_number_unless_the_quirk_allows_null(
    box: MijnWebwinkelSandbox, http: httpx.Client, unlimited: bool
) -> None:
    box.state.quirks.update({"variant_stock_unlimited": unlimited})
    article = next(a for a in box.state.articles.values() if a["variants"] and a["stock"] is not None)
    variant = article["variants"][0]
    before = http.get(f"/articles/{article['id']}").json()
    answer = http.patch(
        f"/articles/{article['id']}", json={"name": "Half", "variants": [{"id": variant["id"], "stock": None}]}
    )
    if unlimited:
        assert answer.status_code == 200 and answer.json()["variants"][0]["stock"] is None
    else:
        assert "unlimited stock is set on the article" in _refused(answer, "variants[0].stock")
        assert http.get(f"/articles/{article['id']}").json() == before  # all or nothing: the name stayed too
    assert _refused(
        http.patch(f"/articles/{article['id']}", json={"variants": [{"id": variant["id"], "stock": "12"}]}),
        "variants[0].stock",
    )
    assert _refused(
        http.patch(f"/articles/{article['id']}", json={"variants": [{"id": 1, "stock": 1}]}), "variants[0].id"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 300}, "name"),
        ({"price": {"default": "abc"}}, "price.default"),
        ({"price": {"action": "-0.01"}}, "price.action"),
        ({"stock": 2**40}, "stock"),
        ({"stock": 1.5}, "stock"),
        ({"extra": {"invisible": {"barcode": "8712345678900"}}}, "extra.invisible.barcode"),
        ({"categories": []}, "categories"),
    ],
)
def test_bad_article_bodies_are_refused_naming_the_field(
    box: MijnWebwinkelSandbox, http: httpx.Client, body: dict[str, Any], field: str
) -> None:
    article_id = min(box.state.articles)
    before = http.get(f"/articles/{article_id}").json()
    _refused(http.patch(f"/articles/{article_id}", json=body), field)
    assert http.get(f"/articles/{article_id}").json() == before
    count = len(box.state.articles)
    _refused(
        http.post(
            "/articles", json={"name": "Nieuw", "categories": [{"category_id": min(box.state.categories)}], **body}
        ),
        field,
    )
    assert len(box.state.articles) == count
    assert _refused(http.post("/articles", json={"categories": [{"category_id": 1}]}), "name")


def test_images_that_are_no_images_or_too_large(box: MijnWebwinkelSandbox, http: httpx.Client) -> None:
    article_id = min(box.state.articles)
    count = len(box.state.articles[article_id]["images"])
    pdf = {"filename": "a.pdf", "content": base64.b64encode(b"%PDF-1.7").decode()}
    assert "not a JPEG" in _refused(http.post(f"/articles/uploadImage/{article_id}", json=pdf), "content")
    big = {"filename": "b.png", "content": base64.b64encode(PNG + bytes(20 * 1024 * 1024)).decode()}
    assert "20.0 MB" in _refused(http.post(f"/articles/uploadImage/{article_id}", json=big), "content")
    assert _refused(http.post(f"/articles/uploadImage/{article_id}", json={"content": "%%%"}), "content")
    assert len(box.state.articles[article_id]["images"]) == count


def test_rules_and_option_lists_through_the_admin(box: MijnWebwinkelSandbox) -> None:
    info = box.info
    with (
        httpx.Client(base_url=info.admin_url, timeout=5) as admin,
        httpx.Client(
            base_url=f"{info.url}/v1", timeout=5, params={"token": info.token, "partner_token": info.partner_token}
        ) as api,
    ):
        made = admin.post("/articlelists", json={"name": "Smaak", "options": [{"name": "Zoet", "price": "0.5"}]})
        assert made.status_code == 201
        listed = api.get(f"/articlelists/{made.json()['id']}").json()
        assert [(o["name"], o["price"]) for o in listed["options"]] == [("Zoet", "0.50")]
        twice = api.post(f"/articlelistoptions/{listed['id']}", json=[{"name": "zoet"}])
        assert "already has" in _refused(twice, "options[0].name")
        assert admin.put("/settings", json={"rules": {"name_max_length": 5}}).json()["rules"]["name_max_length"] == 5
        assert "at most 5" in _refused(
            api.patch(f"/articles/{min(box.state.articles)}", json={"name": "Zeslet"}), "name"
        )
        assert admin.put("/settings", json={"rules": {"no_such_rule": 1}}).status_code == 400


def test_listing_follows_articles_that_come_and_go(box: MijnWebwinkelSandbox, http: httpx.Client) -> None:
    gone = sorted(box.state.articles)[3]
    assert http.delete(f"/articles/{gone}").status_code == 200
    added = box.add_article({"id": 5, "sku": "LAAG", "name": "Laag id"})  # an id below the others
    listed = [
        a["id"]
        for offset in (0, 10, 20, 30)
        for a in http.get("/articles", params={"limit": 10, "offset": offset}).json()
    ]
    assert listed == sorted(box.state.articles) and gone not in listed and listed[0] == added["id"]
    assert http.get("/articles/count").json() == {"count": len(listed)}


def test_category_moves_that_would_lose_a_branch_are_refused(box: MijnWebwinkelSandbox, http: httpx.Client) -> None:
    root = http.post("/categories", json={"title": "Wortel"}).json()
    child = http.post("/categories", json={"title": "Tak", "parent_category_id": root["id"]}).json()
    leaf = http.post("/categories", json={"title": "Blad", "parent_category_id": child["id"]}).json()
    count = len(box.state.categories)
    _refused(http.patch(f"/categories/{root['id']}", json={"parent_category_id": leaf["id"]}), "parent_category_id")
    _refused(http.patch(f"/categories/{root['id']}", json={"parent_category_id": root["id"]}), "parent_category_id")
    _refused(http.post("/categories", json={"title": "Wees", "parent_category_id": 424242}), "parent_category_id")
    _refused(http.post("/categories", json={"title": "Zus", "sorting": {"before": leaf["id"]}}), "sorting")
    _refused(http.post("/categories", json={"content": "geen titel"}), "title")
    assert len(box.state.categories) == count  # nothing half-made
    assert http.get(f"/categories/{root['id']}").json().get("parent_category_id") is None
    moved = http.patch(f"/categories/{leaf['id']}", json={"parent_category_id": root["id"], "sorting": {"first": True}})
    assert moved.json()["parent_category_id"] == root["id"] and moved.json()["sorting"]["first"] is True
    tree = {c["id"]: c for c in http.get("/categories", params={"as_tree": "true"}).json()}
    assert [leafs["id"] for leafs in tree[root["id"]]["leafs"]] == [leaf["id"], child["id"]]


def test_a_shop_seeded_with_its_variant_products() -> None:
    """`variant_groups`: the catalogue's SHIRT groups as one article each, as a shop selling them has them;
    without it, each variant item is an article of its own (the orders seed relies on that)."""
    grouped = MijnWebwinkelSandbox(seed=4, sizes=SeedSizes(categories=3, articles=70, orders=5, variant_groups=True))
    plain = MijnWebwinkelSandbox(seed=4, sizes=SeedSizes(categories=3, articles=70, orders=5))
    shirts = [a for a in grouped.state.articles.values() if a["sku"].startswith("SHIRT")]
    assert [a["sku"] for a in shirts] == ["SHIRT-0001"] and len(grouped.state.articles) == 65
    assert len([a for a in plain.state.articles.values() if a["sku"].startswith("SHIRT")]) == 6
    shirt = shirts[0]
    assert [entry["name"] for entry in shirt["lists"]] == ["Kleur", "Maat"]
    prices = {o["name"]: o["price"] for entry in shirt["lists"] for o in entry["options"]}
    assert prices["S"] == prices["M"] == prices["Rood"] == "0.00" < prices["L"]  # L costs more, per article
    assert len(shirt["variants"]) == 6 and all(isinstance(v["stock"], int) for v in shirt["variants"])
    assert "barcode" not in shirt["extra"]["invisible"] and "barcode" not in shirt["extra"]["visible"]
    assert {o["name"] for o in grouped.state.option_lists[shirt["lists"][0]["id"]]["options"]} >= {"Rood", "Blauw"}
