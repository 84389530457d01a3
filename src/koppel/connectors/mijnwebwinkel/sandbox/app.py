"""The sandbox's HTTP surface: the MyOnlineStore Connect paths under `/v1` and `/v2-beta` (same handlers),
with the API's auth, bare-array lists, `…/count` endpoints, filters and paging; plus the admin surface under
`/_sandbox/` (see README.md) and the read-only back-office pages under `/beheer/` (`back_office`). The sandbox
kit's rate limit, call counter and fault injection wrap everything except the admin surface and the back office.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from koppel.connectors.mijnwebwinkel.sandbox import back_office, catalog
from koppel.connectors.mijnwebwinkel.sandbox.orders import build_credit_order, build_order
from koppel.connectors.mijnwebwinkel.sandbox.seed import SeedSizes, seed_state
from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxError, SandboxState, public
from koppel.connectors.sandboxkit import ADMIN, Controls, Faults, Limits

VERSIONS = ("1", "2-beta")
PROBLEM_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
Handler = Callable[[Request, SandboxState], Any]


# ------------------------------------------------------------------------------------------ plumbing


def _legacy_error(status: int, message: str, description: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message, "description": description}, status_code=status)


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": PROBLEM_TYPE, "title": title, "detail": detail, "status": status},
        status_code=status,
        media_type="application/problem+json",
    )


def _flag(request: Request, name: str, default: bool | None = None) -> bool | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise SandboxError(422, f"{name} must be true/false/1/0")


def _int(request: Request, name: str, default: int | None = None) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise SandboxError(422, f"{name} must be an integer") from None


def _moment(request: Request, name: str, *, end: bool = False) -> str | None:
    """A date or `yyyy-mm-dd hh:mm:ss` filter as a comparable string (date-only = 00:00:00, or day end)."""
    value = request.query_params.get(name)
    if not value:
        return None
    value = value.replace("T", " ").strip()
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(value, pattern)
        except ValueError:
            continue
        if pattern == "%Y-%m-%d" and end:
            parsed = parsed.replace(hour=23, minute=59, second=59)
        return parsed.strftime("%Y-%m-%d %H:%M:%S")
    raise SandboxError(422, f"{name} must be yyyy-mm-dd or yyyy-mm-dd hh:mm:ss")


def _id_list(request: Request, name: str) -> list[str] | None:
    """Array filters: repeated (`ids=1&ids=2`, `ids[]=1`) or comma-separated (`ids=1,2`) all work."""
    raw = request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")
    if not raw:
        return None
    return [part.strip() for value in raw for part in value.split(",") if part.strip()]


def _page(request: Request, items: list[Any]) -> list[Any]:
    limit = min(max(_int(request, "limit", 10) or 0, 0), 100)  # the API clamps silently
    offset = max(_int(request, "offset", 0) or 0, 0)
    return items[offset : offset + limit]


def _in_range(moment: str, start: str | None, end: str | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment <= end)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise SandboxError(422, "a JSON body is required")
    try:
        return json.loads(raw)
    except ValueError:
        raise SandboxError(422, "the body is not valid JSON") from None


def _api(handler: Handler, *, partner_only: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with version check, auth and error bodies; handlers return JSON data."""

    async def endpoint(request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        if request.path_params.get("version") not in VERSIONS:
            return _legacy_error(404, "Not found", "Unknown API version")
        partner = request.query_params.get("partner_token", "")
        token = request.query_params.get("token", "")
        if partner != state.partner_token or (not partner_only and token != state.store_token):
            status = state.auth_failure_status
            return _legacy_error(status, "Authentication failed", "Missing or invalid token or partner_token")
        if request.query_params.get("format", "json") != "json":
            return _legacy_error(406, "Not acceptable", "The sandbox only speaks format=json")
        try:
            result = handler(request, state)
            if hasattr(result, "__await__"):
                result = await result
        except SandboxError as exc:
            if exc.status == 404:
                return _legacy_error(404, "Not found", exc.detail)
            return _problem(exc.status, "Invalid request", exc.detail)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    return endpoint


# ----------------------------------------------------------------------------------------- views


def article_view(state: SandboxState, article: dict[str, Any]) -> dict[str, Any]:
    # A deep copy through JSON (C speed: a page of 100 is read for every 100 articles of a scan); an
    # article's sandbox-only keys sit at its top level (`_vat_rate`).
    view = {k: v for k, v in json.loads(json.dumps(article, default=str)).items() if not k.startswith("_")}
    # Unset prices are left out: the spec types them as non-nullable strings.
    view["price"] = {k: v for k, v in (view.get("price") or {}).items() if v is not None}
    return state.quirks.article(view)


def order_view(state: SandboxState, order: dict[str, Any]) -> dict[str, Any]:
    return state.quirks.order(public(order))


# ------------------------------------------------------------------------------------------- store


def get_store(request: Request, state: SandboxState) -> Any:
    return public(state.store)


# ---------------------------------------------------------------------------------------- articles


def _article_filter(request: Request, state: SandboxState) -> list[dict[str, Any]] | None:
    """The articles the filters select, in id order; None when there are no filters (all articles)."""
    created = (_moment(request, "created_start_date"), _moment(request, "created_end_date", end=True))
    changed = (_moment(request, "changed_start_date"), _moment(request, "changed_end_date", end=True))
    ids = _id_list(request, "ids")
    uuids = _id_list(request, "uuids")
    if ids is None and uuids is None and created == changed == (None, None):
        return None
    out = []
    for article in map(state.articles.__getitem__, state.article_ids()):
        if ids is not None and str(article["id"]) not in ids:
            continue
        if uuids is not None and article["uuid"] not in uuids:
            continue
        if not _in_range(f"{article['created_date']} {article['created_time']}", *created):
            continue
        if not _in_range(f"{article['updated_date']} {article['updated_time']}", *changed):
            continue
        out.append(article)
    return out


def list_articles(request: Request, state: SandboxState) -> Any:
    with state.lock:
        selected = _article_filter(request, state)
        if selected is None:  # a page of all articles: a slice of the id order, whatever the shop's size
            return [article_view(state, state.articles[i]) for i in _page(request, state.article_ids())]
        return [article_view(state, a) for a in _page(request, selected)]


def count_articles(request: Request, state: SandboxState) -> Any:
    with state.lock:
        selected = _article_filter(request, state)
        return {"count": len(state.articles) if selected is None else len(selected)}


def _article(request: Request, state: SandboxState, key: str = "article_id") -> dict[str, Any]:
    try:
        article_id = int(request.path_params[key])
    except ValueError:
        raise SandboxError(404, f"Article {request.path_params[key]} not found") from None
    return state.article(article_id, by_url_id=bool(_flag(request, "use_url_id", False)))


def get_article(request: Request, state: SandboxState) -> Any:
    with state.lock:
        return article_view(state, _article(request, state))


async def post_article(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    return article_view(state, catalog.create_article(state, body))


async def patch_article(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    with state.lock:
        return article_view(state, catalog.patch_article(state, _article(request, state), body))


def delete_article(request: Request, state: SandboxState) -> Any:
    with state.lock:
        article = _article(request, state)
        state.remove_article(article["id"])
    return "Article deleted"


async def upload_image(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    if not isinstance(body, dict) or not body.get("content"):
        raise SandboxError(422, "content: the image (base64) is required")
    try:
        raw = base64.b64decode(body["content"], validate=True)
    except (binascii.Error, ValueError):
        raise SandboxError(422, "content: is not valid base64") from None
    problem = state.rules.image_problem(raw)
    if problem:
        raise SandboxError(422, problem)
    with state.lock:
        article = _article(request, state)
        position = int(body.get("position") or len(article["images"]) + 1)
        image = catalog.image(state, position, str(body.get("filename") or "upload"), raw.hex()[:64] + str(position))
        article["images"] = sorted([*article["images"], image], key=lambda i: int(i["position"]))
        catalog.touch(state, article)
    return image["id"]


def delete_image(request: Request, state: SandboxState) -> Any:
    image_id = request.path_params["image_id"]
    with state.lock:
        for article in state.articles.values():
            if any(i["id"] == image_id for i in article["images"]):
                article["images"] = [i for i in article["images"] if i["id"] != image_id]
                for entry in article["lists"]:
                    for option in entry["options"]:
                        option["image_ids"] = [i for i in option.get("image_ids", []) if i != image_id]
                catalog.touch(state, article)
                return Response(status_code=204)
    raise SandboxError(404, f"Image {image_id} not found")


async def article_fields(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    visible = bool(_flag(request, "visible", True))
    with state.lock:
        article = _article(request, state)
        if request.method == "POST":
            catalog.set_fields(state, article, body, visible)
        else:
            if not isinstance(body, list):
                raise SandboxError(422, "body must be a list of field names")
            catalog.remove_fields(state, article, body, visible)
        return article_view(state, article)


def get_article_list(request: Request, state: SandboxState) -> Any:
    with state.lock:
        return public(state.option_list(int(request.path_params["id"])))


async def article_lists(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    if not isinstance(body, list):
        raise SandboxError(422, "body must be a list of list ids")
    with state.lock:
        article = _article(request, state, "id")
        if request.method == "POST":
            catalog.attach_lists(state, article, body)
        else:
            catalog.detach_lists(state, article, body)
        return article_view(state, article)


async def article_list_options(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    if not isinstance(body, list):
        raise SandboxError(422, "body must be a list")
    with state.lock:
        source = state.option_list(int(request.path_params["articlelist_id"]))
        if request.method == "POST":
            catalog.add_list_options(state, source, body)
        else:
            catalog.remove_list_options(state, source, [str(n) for n in body])
        return public(source)


# -------------------------------------------------------------------------------------- categories


def _category_filter(request: Request, state: SandboxState) -> list[dict[str, Any]]:
    created = (_moment(request, "created_start_date"), _moment(request, "created_end_date", end=True))
    changed = (_moment(request, "changed_start_date"), _moment(request, "changed_end_date", end=True))
    return [
        c
        for c in sorted(state.categories.values(), key=lambda c: c["id"])
        if _in_range(c["_created"], *created) and _in_range(c["_changed"], *changed)
    ]


def list_categories(request: Request, state: SandboxState) -> Any:
    with state.lock:
        if _flag(request, "as_tree", False):
            return catalog.category_tree(state, max(1, _int(request, "max_depth", 5) or 5))
        return [catalog.category_view(state, c) for c in _page(request, _category_filter(request, state))]


def count_categories(request: Request, state: SandboxState) -> Any:
    with state.lock:
        return {"count": len(_category_filter(request, state))}


def _category_id(request: Request) -> int:
    try:
        return int(request.path_params["category_id"])
    except ValueError:
        raise SandboxError(404, "Category not found") from None


def get_category(request: Request, state: SandboxState) -> Any:
    with state.lock:
        return catalog.category_view(state, state.category(_category_id(request)))


async def post_category(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    return catalog.category_view(state, catalog.save_category(state, body))


async def patch_category(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    with state.lock:
        category = state.category(_category_id(request))
        return catalog.category_view(state, catalog.save_category(state, body, category))


def category_articles(request: Request, state: SandboxState) -> Any:
    with state.lock:
        category_id = state.category(_category_id(request))["id"]
        linked = []
        for article in sorted(state.articles.values(), key=lambda a: a["id"]):
            for link in article["categories"]:
                if link["category_id"] == category_id:
                    linked.append(
                        {
                            "id": article["id"],
                            "name": article["name"],
                            "uuid": article["uuid"],
                            "is_main": link["is_main"],
                        }
                    )
        return _page(request, linked)


# ------------------------------------------------------------------------------------------ orders


def _number_key(order: dict[str, Any]) -> tuple[int, str]:
    digits = "".join(c for c in str(order["number"]) if c.isdigit())
    return (int(digits) if digits else 0, str(order["number"]))


def _order_filter(request: Request, state: SandboxState, *, with_debtor: bool) -> list[dict[str, Any]]:
    status = _int(request, "status_id")
    archived = _flag(request, "archived")
    include_test = bool(_flag(request, "test", False))
    start, end = _moment(request, "start_date"), _moment(request, "end_date", end=True)
    changed = (
        _moment(request, "status_changed_start_date"),
        _moment(request, "status_changed_end_date", end=True),
    )
    email = (request.query_params.get("debtor_email") or "").lower() if with_debtor else ""
    debtor_id = request.query_params.get("debtor_id") if with_debtor else None
    out = []
    for order in state.orders.values():
        if str(order["number"]).upper().startswith("T") and not include_test:
            continue
        if status is not None and order["status"] != status:
            continue
        if archived is not None and bool(order.get("archived")) != archived:
            continue
        if not _in_range(f"{order['date']} {order.get('time') or '00:00:00'}", start, end):
            continue
        if not _in_range(
            f"{order.get('status_changed_date') or order['date']} {order.get('status_changed_time') or '00:00:00'}",
            *changed,
        ):
            continue
        if email or debtor_id:
            debtor = order.get("debtor") or {}
            if not (
                (email and str(debtor.get("email") or "").lower() == email)
                or (debtor_id and debtor.get("id") == debtor_id)
            ):
                continue
        out.append(order)
    descending = request.query_params.get("ordering", "asc") == "desc"
    return sorted(out, key=_number_key, reverse=descending)


def list_orders(request: Request, state: SandboxState) -> Any:
    with state.lock:
        return [order_view(state, o) for o in _page(request, _order_filter(request, state, with_debtor=True))]


def count_orders(request: Request, state: SandboxState) -> Any:
    with state.lock:
        return {"count": len(_order_filter(request, state, with_debtor=False))}


def get_order(request: Request, state: SandboxState) -> Any:
    with state.lock:
        return order_view(state, state.order(request.path_params["order_number"]))


async def patch_order(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    if not isinstance(body, dict):
        raise SandboxError(422, "body must be an object")
    with state.lock:
        order = state.order(request.path_params["order_number"])
        if "status" in body:
            status = body["status"]
            if not isinstance(status, int) or status not in state.status_ids():
                raise SandboxError(422, f"Unknown order status {status!r}")
            if status != order["status"]:
                order["status"] = status
                order["status_changed_date"], order["status_changed_time"] = state.now()
        if "archived" in body:
            order["archived"] = bool(body["archived"])
        if isinstance(body.get("comments"), dict) and "internal" in body["comments"]:
            order.setdefault("comments", {})["internal"] = str(body["comments"]["internal"] or "")
        if "reference" in body:
            if order.get("business_model") != "B2B":
                raise SandboxError(422, "reference is only available for B2B orders")
            order["reference"] = str(body["reference"])[:255]
        if "offline_location_id" in body:
            order["offline_location_id"] = body["offline_location_id"]
        return order_view(state, order)


async def post_order(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    if not isinstance(body, dict):
        raise SandboxError(422, "body must be an object")
    order = build_order(
        state,
        body,
        override_stock=bool(_flag(request, "override_stock", False)),
        disable_shipping=bool(_flag(request, "disable_shipping", False)),
    )
    return order_view(state, order)


async def post_credit_order(request: Request, state: SandboxState) -> Any:
    body = await _body(request)
    if not isinstance(body, dict):
        raise SandboxError(422, "body must be an object")
    order = build_credit_order(state, body, mutate=bool(_flag(request, "mutate_stock", True)))
    return order_view(state, order)


def order_statuses(request: Request, state: SandboxState) -> Any:
    return list(state.statuses)


def shipping_methods(request: Request, state: SandboxState) -> Any:
    return public(state.shipping_methods)


def tax_regions(request: Request, state: SandboxState) -> Any:
    return state.quirks.tax_regions(public(state.tax_regions))


def tax_region(request: Request, state: SandboxState) -> Any:
    code = request.path_params["code"].upper()
    for region in state.tax_regions:
        if region["regionCode"] == code:
            return {"region": public(region)}
    raise SandboxError(404, f"Tax region {code} not found")


# ------------------------------------------------------------------------------------------- admin


def _admin(
    handler: Callable[[Request, MijnWebwinkelAdmin], Awaitable[Any]],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        admin = MijnWebwinkelAdmin(request.app.state.sandbox, request.app.state.faults)
        try:
            result = await handler(request, admin)
        except (SandboxError, ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=getattr(exc, "status", 400))
        return result if isinstance(result, Response) else JSONResponse(result)

    return endpoint


class MijnWebwinkelAdmin:
    """What the admin endpoints do, also usable directly from Python."""

    def __init__(self, state: SandboxState, faults: Faults) -> None:
        self.state = state
        self.faults = faults

    def reseed(self, seed: int = 1, sizes: SeedSizes | None = None) -> None:
        """Replace all data with the seeded shop (tokens, store settings, quirks, rate limit, faults stay)."""
        fresh = SandboxState(store_token=self.state.store_token, partner_token=self.state.partner_token)
        fresh.store = dict(self.state.store)
        seed_state(fresh, seed, sizes)
        with self.state.lock:
            for name in (
                "store",
                "statuses",
                "categories",
                "option_lists",
                "articles",
                "orders",
                "shipping_methods",
                "tax_regions",
                "discount_codes",
                "payment_fees",
                "_counters",
                "_rng",
            ):
                setattr(self.state, name, getattr(fresh, name))

    def add_option_list(self, name: str, options: list[dict[str, Any]], description: str = "") -> dict[str, Any]:
        """A new option list with options [{name, price}], as a merchant makes it in the admin."""
        with self.state.lock:
            made = catalog.new_option_list(self.state, name, description, [])
            catalog.add_list_options(self.state, made, options)
            return made

    def reset(self) -> None:
        """Empty shop (store, statuses and static tables kept), faults cleared."""
        with self.state.lock:
            self.state.categories.clear()
            self.state.option_lists.clear()
            self.state.articles.clear()
            self.state.orders.clear()
        self.faults.clear()


async def admin_state(request: Request, admin: MijnWebwinkelAdmin) -> Any:
    controls: Controls = request.app.state.controls
    summary = admin.state.summary()
    summary["faults"] = admin.faults.as_json()
    summary["fault_seed"] = admin.faults.seed
    summary["rate_limit"] = controls.limits.rate_limit_json()
    summary["calls"] = controls.limits.calls_json()
    summary["credentials"] = {"token": admin.state.store_token, "partner_token": admin.state.partner_token}
    return summary


async def admin_seed(request: Request, admin: MijnWebwinkelAdmin) -> Any:
    body = json.loads(await request.body() or b"{}")
    counts = {k: int(body[k]) for k in ("categories", "articles", "orders") if k in body}
    sizes = SeedSizes(**counts, variant_groups=bool(body.get("variant_groups", False)))
    if "prices_include_tax" in body:
        admin.state.store["prices_include_tax"] = bool(body["prices_include_tax"])
    admin.reseed(int(body.get("seed", 1)), sizes)
    return admin.state.summary()


async def admin_reset(request: Request, admin: MijnWebwinkelAdmin) -> Any:
    admin.reset()
    return admin.state.summary()


async def admin_settings(request: Request, admin: MijnWebwinkelAdmin) -> Any:
    """Store settings (e.g. prices_include_tax), the status table and the auth failure status."""
    body = json.loads(await request.body() or b"{}")
    with admin.state.lock:
        admin.state.store.update(body.get("store", {}))
        if "statuses" in body:
            admin.state.statuses = list(body["statuses"])
        if "auth_failure_status" in body:
            admin.state.auth_failure_status = int(body["auth_failure_status"])
        admin.state.rules.update(body.get("rules", {}))
    return admin.state.summary()


async def admin_put_order(request: Request, admin: MijnWebwinkelAdmin) -> Any:
    body = json.loads(await request.body())
    if body.get("compose"):
        order = build_order(
            admin.state, body["compose"], test=bool(body.get("test")), override_stock=True, mutate=False
        )
    else:
        order = admin.state.put_order(body)
    return JSONResponse(order_view(admin.state, order), status_code=201)


async def admin_put_option_list(request: Request, admin: MijnWebwinkelAdmin) -> Any:
    """What a merchant does in the admin (the API cannot): make an option list."""
    body = json.loads(await request.body())
    made = admin.add_option_list(str(body["name"]), body.get("options", []), str(body.get("description", "")))
    return JSONResponse(public(made), status_code=201)


async def admin_put_article(request: Request, admin: MijnWebwinkelAdmin) -> Any:
    article = admin.state.put_article(json.loads(await request.body()))
    return JSONResponse(article_view(admin.state, article), status_code=201)


# ------------------------------------------------------------------------------------------- app


def _routes() -> list[Route]:
    v = "/v{version}"
    api = [
        ("/store", get_store, ["GET"]),
        ("/articles/count", count_articles, ["GET"]),
        ("/articles/uploadImage/{article_id}", upload_image, ["POST"]),
        ("/articles/{article_id}", get_article, ["GET"]),
        ("/articles/{article_id}", patch_article, ["PATCH"]),
        ("/articles/{article_id}", delete_article, ["DELETE"]),
        ("/articles", list_articles, ["GET"]),
        ("/articles", post_article, ["POST"]),
        ("/deleteImage/{image_id}", delete_image, ["DELETE"]),
        ("/articlefields/{article_id}", article_fields, ["POST", "DELETE"]),
        ("/articlelists/{id}", get_article_list, ["GET"]),
        ("/articlelists/{id}", article_lists, ["POST", "DELETE"]),
        ("/articlelistoptions/{articlelist_id}", article_list_options, ["POST", "DELETE"]),
        ("/categories/count", count_categories, ["GET"]),
        ("/categories/{category_id}/articles", category_articles, ["GET"]),
        ("/categories/{category_id}", get_category, ["GET"]),
        ("/categories/{category_id}", patch_category, ["PATCH"]),
        ("/categories", list_categories, ["GET"]),
        ("/categories", post_category, ["POST"]),
        ("/orders/count", count_orders, ["GET"]),
        ("/orders/credit", post_credit_order, ["POST"]),
        ("/orders/{order_number}", get_order, ["GET"]),
        ("/orders/{order_number}", patch_order, ["PATCH"]),
        ("/orders", list_orders, ["GET"]),
        ("/orders", post_order, ["POST"]),
        ("/shipping/methods", shipping_methods, ["GET"]),
        ("/tax-policy/regions/{code}", tax_region, ["GET"]),
        ("/tax-policy/regions", tax_regions, ["GET"]),
    ]
    routes = [Route(v + path, _api(handler), methods=methods) for path, handler, methods in api]
    routes.append(Route(v + "/orderstatuses", _api(order_statuses, partner_only=True), methods=["GET"]))
    admin = [
        ("/state", admin_state, ["GET"]),
        ("/seed", admin_seed, ["POST"]),
        ("/reset", admin_reset, ["POST"]),
        ("/settings", admin_settings, ["PUT"]),
        ("/orders", admin_put_order, ["POST"]),
        ("/articles", admin_put_article, ["POST"]),
        ("/articlelists", admin_put_option_list, ["POST"]),
    ]
    routes += [Route(ADMIN + path, _admin(handler), methods=methods) for path, handler, methods in admin]
    return routes


def _caller(scope: dict[str, Any]) -> str:
    """The rate limit holds per store: its token pair travels in the query string."""
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    return f"{query.get('partner_token', '')}|{query.get('token', '')}"


def create_app(state: SandboxState, controls: Controls | None = None) -> Any:
    """The sandbox as an ASGI app: API + admin, behind the kit's rate limit, call counter and faults; the back
    office beside them."""
    controls = controls or Controls(state.quirks, Faults(), Limits())
    app = Starlette(routes=_routes() + controls.routes() + back_office.routes())
    app.state.sandbox = state
    app.state.faults = controls.faults
    app.state.controls = controls
    return back_office.beside_the_api(controls.wrap(app, _caller), app)
