"""Every response the sandbox gives for the operations we implement validates against the official
`openapi.yaml` (openapi-core), over real HTTP.

The spec contradicts itself in places (NOTES §7.11). `SPEC_READINGS` patches exactly those spots, each
with the reading we chose; everything else is validated as published. With every quirk switch off the
sandbox must satisfy the spec plus these readings; `LIVE_READINGS` additionally admits the documented
live deviations (quirks on, test-order numbers).
"""

from __future__ import annotations

import base64
import copy
import functools
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, Quirks, SandboxInfo

# The official spec lives in the shared reference folder beside the repository (../shared), never elsewhere.
SPEC_PATH = Path(__file__).resolve().parents[3].parent / "shared/reference/mijnwebwinkel/openapi.yaml"
HOST = "https://api.myonlinestore.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@functools.cache
def _parsed() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.fail(
            f"MijnWebwinkel's openapi.yaml is missing: expected at {SPEC_PATH} "
            "(shared/reference/ beside the repository)",
            pytrace=False,
        )
    return yaml.load(SPEC_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _load() -> dict[str, Any]:
    return copy.deepcopy(_parsed())


def _schemas(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["schemas"]


def spec_readings(spec: dict[str, Any]) -> dict[str, Any]:
    s = _schemas(spec)
    # 1. `OrderArticle` declares `rate` and `amount` required at its top level, but every example (and the
    #    schema's own `price` object) puts them under `price`: we read them as `price.amount`/`price.rate`.
    s["OrderArticle"]["allOf"] = [p for p in s["OrderArticle"]["allOf"] if "required" not in p]
    #    (…and its `OrderArticlePostable` part would force `list_option_id` on every option, see 2.)
    s["OrderArticle"]["allOf"][0] = {"$ref": "#/components/schemas/BaseOrderArticle"}
    # 2. Chosen-option `price` is typed string, but the official examples send {amount, rate} (and the
    #    action price is an option with a negative amount): we send the object.
    s["OrderArticleListOption"]["allOf"] = [
        {"properties": {"list_option_id": {"type": "integer"}}},
        {
            "properties": {
                "description": {"type": "string"},
                "price": {"$ref": "#/components/schemas/TaxPrice"},
            }
        },
    ]
    #    …and the "Action price" pseudo-option has no `list_option_id` in the examples, so it is optional.
    # 2b. `TaxPrice` has no `type: object`, so under `oneOf: [array of TaxPrice, TaxPrice]` every array
    #     matches both branches and is rejected: read literally, `price.tax` and line `price` could never be
    #     lists, though the official examples are lists. We read TaxPrice as an object.
    s["TaxPrice"]["type"] = "object"
    # 3. `ArticleImage.urls` is typed as an array of maps; the example (and live data) is one map.
    s["ArticleImage"]["properties"]["urls"] = {"$ref": "#/components/schemas/ArticleImageUrl"}
    # 4. `ShippingMethod.no_costs_above` is typed boolean; the example is "100.00": we send the amount.
    s["ShippingMethod"]["properties"]["no_costs_above"] = {"type": "string"}
    # 5. `stock: null` means unlimited (the spec says so for the article) but the type is not nullable.
    #    A variant's stock stays an integer, as declared.
    s["BaseArticle"]["properties"]["stock"]["nullable"] = True
    # 6. GET /categories/{id}/articles is declared as one object; it lists articles: an array.
    content = spec["paths"]["/v{version}/categories/{category_id}/articles"]["get"]["responses"]["200"]["content"]
    content["application/json"]["schema"] = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ArticleLimited"},
    }
    return spec


def live_readings(spec: dict[str, Any]) -> dict[str, Any]:
    s = _schemas(spec_readings(spec))
    # Quirk number_as_string and test orders ("T-1005"): the number is text.
    s["Order"]["properties"]["number"] = {"oneOf": [{"type": "integer"}, {"type": "string"}]}
    # Quirk variant_options_as_map: the official example's {"<list_id>": "<name>"}.
    s["ArticleVariant"]["properties"]["options"] = {
        "oneOf": [s["ArticleVariant"]["properties"]["options"], {"type": "object"}]
    }
    # Quirk variant_stock_unlimited: `stock: null` on a variant (changelog 1.0.2, not the spec).
    s["ArticleVariant"]["properties"]["stock"]["nullable"] = True
    # Quirk wrap_tax_regions: {"regions": […]} as seen live.
    content = spec["paths"]["/v{version}/tax-policy/regions"]["get"]["responses"]["200"]["content"]
    array = content["application/json"]["schema"]
    content["application/json"]["schema"] = {
        "oneOf": [array, {"type": "object", "required": ["regions"], "properties": {"regions": array}}]
    }
    return spec


@functools.cache
def openapi(kind: str) -> OpenAPI:
    spec = live_readings(_load()) if kind == "live" else spec_readings(_load())
    # Validating the spec document itself costs seconds; `test_patched_spec_is_valid_openapi` does it once.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


class Checker:
    def __init__(self, info: SandboxInfo, kind: str) -> None:
        self.info = info
        self.kind = kind
        self.http = httpx.Client(base_url=info.url, timeout=5)
        self.seen: set[tuple[str, str]] = set()

    def __call__(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        *,
        expect: int = 200,
        version: str = "1",
    ) -> Any:
        query = {"token": self.info.token, "partner_token": self.info.partner_token, **(params or {})}
        response = self.http.request(method, f"/v{version}{path}", params=query, json=body)
        assert response.status_code == expect, response.text
        request = MockRequest(
            HOST,
            method.lower(),
            f"/v{version}{path}",
            args={k: str(v) for k, v in query.items()},
            data=b"" if body is None else httpx.Request("POST", "/", json=body).content,
        )
        mock = MockResponse(
            response.content,
            status_code=response.status_code,
            content_type=response.headers.get("content-type", "application/json").split(";")[0],
        )
        openapi(self.kind).validate_response(request, mock)
        self.seen.add((method, path))
        return response.json() if response.content else None


@pytest.fixture(params=["strict", "live"])
def check(request: pytest.FixtureRequest, sandbox: MijnWebwinkelSandbox, info: SandboxInfo) -> Checker:
    """`strict`: every quirk off, spec + SPEC_READINGS. `live`: every quirk on, + LIVE_READINGS."""
    sandbox.state.quirks.update((Quirks.none() if request.param == "strict" else Quirks.all()).as_json())
    return Checker(info, "live" if request.param == "live" else "strict")


def test_store_and_static_tables(check: Checker) -> None:
    check("GET", "/store")
    check("GET", "/orderstatuses")
    check("GET", "/shipping/methods")
    check("GET", "/tax-policy/regions")
    check("GET", "/tax-policy/regions/NL")
    check("GET", "/store", version="2-beta")


def test_orders(check: Checker) -> None:
    orders = check("GET", "/orders", {"limit": 100})
    assert orders
    check("GET", "/orders/count", {"status_id": 3})
    check("GET", f"/orders/{orders[0]['number']}")
    if check.kind == "live":
        # Test orders carry a "T-" number, which only the live reading admits.
        tests = [o for o in check("GET", "/orders", {"limit": 100, "test": "true"}) if str(o["number"])[0] == "T"]
        check("GET", f"/orders/{tests[0]['number']}")
    number = orders[1]["number"]
    check("PATCH", f"/orders/{number}", body={"status": 3, "comments": {"internal": "checked"}})


def test_order_writes(check: Checker, sandbox: MijnWebwinkelSandbox) -> None:
    article = next(a for a in sandbox.state.articles.values() if not a["lists"] and a["stock"] is None)
    varied = next(a for a in sandbox.state.articles.values() if a["lists"])
    option = varied["lists"][0]["options"][0]["id"]
    order = check(
        "POST",
        "/orders",
        {"override_stock": "true"},
        {
            "debtor": {
                "email": "truus@example.nl",
                "address": {
                    "invoice": {
                        "name": "Truus Voorbeeldig",
                        "company": "Voorbeeldig BV",
                        "street": "Molenstraat",
                        "number": "62",
                        "zipcode": "5341GE",
                        "city": "Oss",
                        "country_code": "NL",
                        "taxnumber": "NL123456789B01",
                    }
                },
            },
            "orderlines": [
                {"type": "article", "quantity": 2, "articles": [{"id": article["id"]}]},
                {
                    "type": "article",
                    "quantity": 1,
                    "articles": [{"id": varied["id"], "options": [{"list_option_id": option}]}],
                },
                {
                    "type": "custom",
                    "quantity": 2,
                    "description": "Inpakken",
                    "unit_weight": "0.1",
                    "unit_price": {"amount_including_tax": "1.50", "rate": "9.00"},
                },
            ],
            "payment": {"gateway_name": "mollie", "method_name": "creditcard", "status": {"id": 1}},
            "discountcode": "WELKOM5",
            "reference": "PO-1",
        },
    )
    check(
        "POST",
        "/orders/credit",
        body={
            "credited_order_number": str(order["number"]),
            "status": 10,
            "orderlines": [{"type": "article", "quantity": 1, "articles": [{"id": article["id"]}]}],
            "shipping_costs": "0",
        },
    )


def test_articles(check: Checker, sandbox: MijnWebwinkelSandbox) -> None:
    articles = check("GET", "/articles", {"limit": 100})
    check("GET", "/articles/count")
    check("GET", f"/articles/{articles[0]['id']}", {"use_url_id": "false"})
    category = next(iter(sandbox.state.categories))
    option_list = next(iter(sandbox.state.option_lists.values()))
    made = check(
        "POST",
        "/articles",
        body={
            "name": "Conformance",
            "sku": "CONF-1",
            "taxable": True,
            "price": {"default": "10.00", "purchase": "4.00"},
            "stock": None,
            "extra": {"invisible": {"barcode": "8712345678906"}},
            "categories": [{"category_id": category, "is_main": True, "is_active": True}],
            "lists": [
                {
                    "id": option_list["id"],
                    "options": [{"id": o["id"], "image_ids": []} for o in option_list["options"]],
                }
            ],
            "images": [{"url": "https://example.test/a.jpg", "position": 1}],
        },
    )
    article_id = made["id"]
    variant = made["variants"][0]["id"]
    check(
        "PATCH",
        f"/articles/{article_id}",
        {"use_url_id": "false"},
        {"price": {"action": "8.00"}, "variants": [{"id": variant, "stock": 3}]},
    )
    check(
        "POST",
        f"/articles/uploadImage/{article_id}",
        body={"filename": "b.png", "position": 2, "content": base64.b64encode(PNG).decode()},
    )
    image_id = sandbox.state.articles[article_id]["images"][-1]["id"]
    check("DELETE", f"/deleteImage/{image_id}", expect=204)
    check("POST", f"/articlefields/{article_id}", {"visible": "false", "use_url_id": "false"}, {"weight": "0.3"})
    check("DELETE", f"/articlefields/{article_id}", {"visible": "false", "use_url_id": "false"}, ["weight"])
    check("GET", f"/articlelists/{option_list['id']}")
    check("DELETE", f"/articlelists/{article_id}", {"use_url_id": "false"}, [option_list["id"]])
    check("POST", f"/articlelists/{article_id}", {"use_url_id": "false"}, [option_list["id"]])
    check("POST", f"/articlelistoptions/{option_list['id']}", body=[{"name": "Conf", "price": "1.00"}])
    check("DELETE", f"/articlelistoptions/{option_list['id']}", body=["Conf"])
    check("DELETE", f"/articles/{article_id}", {"use_url_id": "false"})


def test_catalogue_writes_of_the_products_and_stock_flows(check: Checker, sandbox: MijnWebwinkelSandbox) -> None:
    """Option lists with per-article prices, variant and article stock (unlimited only on the article),
    visibility, merchant fields and category moves: every answer in the spec's shapes."""
    categories = list(sandbox.state.categories)
    made_list = sandbox.add_option_list("Conformance maat", [{"name": "S", "price": "0"}, {"name": "M"}])
    check("GET", f"/articlelists/{made_list['id']}")
    grown = check("POST", f"/articlelistoptions/{made_list['id']}", body=[{"name": "XL", "price": "2.50"}])
    options = [{"id": o["id"], "image_ids": []} for o in grown["options"]]
    options[-1]["price"] = "3.75"  # this article's own surcharge for XL
    article = check(
        "POST",
        "/articles",
        body={
            "name": "Conformance shirt",
            "sku": "CONF-SHIRT",
            "stock": 4,
            "extra": {"invisible": {"barcode": "8712345678906"}, "visible": {"Herkomst": "NL"}},
            "categories": [{"category_id": categories[0], "is_main": True, "is_active": True}],
            "lists": [{"id": made_list["id"], "options": options}],
        },
    )
    assert [o["price"] for o in article["lists"][0]["options"]] == ["0.00", "0.00", "3.75"]
    assert all(isinstance(v["stock"], int) for v in article["variants"])
    path = f"/articles/{article['id']}"
    stocks = [{"id": v["id"], "stock": n} for n, v in enumerate(article["variants"])]
    check("PATCH", path, {"use_url_id": "false"}, {"variants": stocks})
    unlimited = check("PATCH", path, {"use_url_id": "false"}, {"stock": None})
    assert unlimited["stock"] is None and [v["stock"] for v in unlimited["variants"]] == [0, 1, 2]
    links = [
        {"category_id": categories[0], "is_main": True, "is_active": False},
        {"category_id": categories[1], "is_main": False, "is_active": False},
    ]
    hidden = check("PATCH", path, {"use_url_id": "false"}, {"categories": links})
    assert [c["is_active"] for c in hidden["categories"]] == [False, False]
    check("POST", f"/articlefields/{article['id']}", {"visible": "true", "use_url_id": "false"}, {"Maat": "S-XL"})
    if check.kind == "live":  # variant_stock_unlimited is on: a variant may be unlimited too
        check("PATCH", path, {"use_url_id": "false"}, {"variants": [{"id": stocks[0]["id"], "stock": None}]})
    child = check("POST", "/categories", body={"title": "Conformance groep", "parent_category_id": categories[0]})
    moved = check("PATCH", f"/categories/{child['id']}", body={"parent_category_id": categories[1]})
    assert moved["parent_category_id"] == categories[1]
    check("GET", "/articles", {"limit": 100, "offset": 0})
    check("DELETE", path, {"use_url_id": "false"})


def test_categories(check: Checker) -> None:
    flat = check("GET", "/categories", {"as_tree": "false", "limit": 100})
    check("GET", "/categories", {"as_tree": "true", "max_depth": 3})
    check("GET", "/categories/count")
    check("GET", f"/categories/{flat[0]['id']}")
    check("GET", f"/categories/{flat[0]['id']}/articles")
    made = check(
        "POST",
        "/categories",
        body={"title": "Conformance", "parent_category_id": flat[0]["id"], "sorting": {"first": True}},
    )
    check("PATCH", f"/categories/{made['id']}", body={"hidden": True, "sorting": {"last": True}})


def test_error_bodies_follow_the_documented_shapes(info: SandboxInfo) -> None:
    with httpx.Client(base_url=info.url, timeout=5) as http:
        auth = {"token": info.token, "partner_token": info.partner_token}
        unauthorised = http.get("/v1/orders", params={"token": info.token})
        assert unauthorised.status_code == 401
        assert set(unauthorised.json()) == {"code", "message", "description"}  # the spec's `Error`
        missing = http.get("/v1/orders/424242", params=auth)
        assert missing.status_code == 404 and missing.json()["code"] == 404
        invalid = http.post("/v1/articles", params=auth, json={"name": "no categories"})
        assert invalid.status_code == 422
        assert set(invalid.json()) == {"type", "title", "detail", "status"}  # RFC 7807 (`ApiProblem`)
        assert copy.deepcopy(_schemas(_load())["ApiProblem"])["properties"].keys() == invalid.json().keys()


def test_patched_spec_is_valid_openapi() -> None:
    OpenAPI.from_dict(live_readings(_load()))  # raises if our readings broke the document
