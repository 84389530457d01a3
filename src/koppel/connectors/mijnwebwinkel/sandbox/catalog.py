"""How the sandbox writes the catalogue: articles (POST/PATCH semantics of NOTES §6.2), their option lists,
variants, images and extra fields, and categories with their sibling order."""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxError, SandboxState

_NOT_SLUG = re.compile(r"[\W_]+")
ASSET_BASE = "https://asset.sandbox.invalid/winkel/koppel/images"
_SCALARS = (
    "name",
    "description",
    "sku",
    "badge_text",
    "taxable",
    "stock",
    "can_backorder",
    "delivery_days",
    "meta_title",
    "meta_description",
)


def _slug(text: str) -> str:
    return _NOT_SLUG.sub("-", text.lower()).strip("-") or "artikel"


def image(state: SandboxState, position: int, name: str, seed: str) -> dict[str, Any]:
    digest = hashlib.sha1(seed.encode()).hexdigest()
    return {
        "id": state.new_uuid(),
        "position": str(position),
        "original_name": name,
        "urls": {size: f"{ASSET_BASE}/{size}/{digest}" for size in ("full", "article", "thumb")},
    }


def _categories(state: SandboxState, article: dict[str, Any], links: list[dict[str, Any]]) -> None:
    """The article's category links become exactly `links` (PATCH replaces them); a link naming an
    existing one (same category, or its `article_url_id`) keeps its url id and position."""
    if not links:
        raise SandboxError(422, "categories: at least one category is required")
    out: list[dict[str, Any]] = []
    for link in links:
        if "category_id" not in link:
            raise SandboxError(422, "categories[].category_id is required")
        category = state.category(int(link["category_id"]))
        existing = next((c for c in article.get("categories", []) if c["category_id"] == category["id"]), None)
        url_id = link.get("article_url_id") or (existing or {}).get("article_url_id") or state.next_id("url")
        out.append(
            {
                "category_id": category["id"],
                "article_url_id": int(url_id),
                "is_active": bool(link.get("is_active", True)),
                "is_main": bool(link.get("is_main", False)),
                "position": (existing or {}).get("position", len(out) + 1),
            }
        )
    if out and not any(c["is_main"] for c in out):
        out[0]["is_main"] = True
    article["categories"] = out
    main = next(c for c in out) if out else None
    if main:
        title = state.categories[main["category_id"]]["title"]
        article["url"] = (
            f"{state.store.get('primary_domain', '')}/a-{main['article_url_id']}/"
            f"{_slug(title)}/{_slug(article.get('name', ''))}"
        )


def _lists(state: SandboxState, article: dict[str, Any], lists: list[dict[str, Any]], *, creating: bool) -> None:
    """Attach lists with exactly the given options (replacing the options of lists already attached)."""
    current = {entry["id"]: entry for entry in article.get("lists", [])}
    for given in lists:
        source = state.option_list(int(given.get("id", 0)))
        chosen = given.get("options")
        if chosen is None or (creating and not chosen):
            raise SandboxError(422, "lists[].options must name at least one option")
        options = []
        for option in chosen:
            known = next((o for o in source["options"] if o["id"] == int(option.get("id", 0))), None)
            if known is None:
                raise SandboxError(422, f"Option {option.get('id')} is not in list {source['id']}")
            price = (
                known["price"]
                if option.get("price") is None
                else _surcharge(option["price"], "lists[].options[].price")
            )
            options.append({**known, "price": price, "image_ids": [str(i) for i in option.get("image_ids", [])]})
        current[source["id"]] = {
            "id": source["id"],
            "name": source["name"],
            "description": source["description"],
            "has_images": bool(given.get("has_images", False)),
            "options": options,
        }
    article["lists"] = list(current.values())
    _regenerate_variants(state, article)


def _regenerate_variants(state: SandboxState, article: dict[str, Any]) -> None:
    """One variant per combination of the attached options; existing combinations keep id and stock."""
    existing = {frozenset(o["option_id"] for o in v["options"]): v for v in article.get("variants", [])}
    variants = []
    groups = [[(entry["id"], option) for option in entry["options"]] for entry in article.get("lists", [])]
    for combo in itertools.product(*groups) if groups else []:
        key = frozenset(option["id"] for _, option in combo)
        # A new combination starts with no stock: the spec's variant stock is an integer, never null.
        variant = existing.get(key) or {"id": state.next_id("variant"), "stock": 0, "can_backorder": False}
        variant["options"] = [
            {"list_id": list_id, "option_id": option["id"], "name": option["name"]} for list_id, option in combo
        ]
        variants.append(variant)
    article["variants"] = variants


def _variants(state: SandboxState, article: dict[str, Any], changes: list[dict[str, Any]]) -> None:
    """Stock and backorder of variants by id. Unlimited (`null`) stock exists only for the article in the
    spec; the quirk `variant_stock_unlimited` accepts it on variants too (changelog 1.0.2)."""
    by_id = {v["id"]: v for v in article.get("variants", [])}
    for index, change in enumerate(changes):
        variant = by_id.get(int(change.get("id", 0)))
        if variant is None:
            raise SandboxError(
                422, f"variants[{index}].id: variant {change.get('id')} does not belong to article {article['id']}"
            )
        if "stock" in change:
            problem = state.rules.stock_problem(
                f"variants[{index}].stock", change["stock"], unlimited=state.quirks.variant_stock_unlimited
            )
            if problem:
                raise SandboxError(422, problem)
        for key in ("stock", "can_backorder"):
            if key in change:
                variant[key] = change[key]


def _images(state: SandboxState, article: dict[str, Any], images: list[dict[str, Any]]) -> None:
    """`{url, position}` attaches (the shop downloads it), `{id, position}` keeps/re-orders. Images not
    named are removed, as for `lists[].options` (NOTES §6.2 "use {id, position} to keep"), unless the
    quirk `images_patch_merges` keeps them: the live behaviour is unknown (NOTES §10.9). Positions are
    ranks: an image given a taken position goes before the one that had it, then all are numbered 1…n."""
    known = {i["id"]: i for i in article.get("images", [])}
    named = {given.get("id") for given in images}
    current = {k: v for k, v in known.items() if state.quirks.images_patch_merges or k in named}
    placed: set[str] = set()
    for index, given in enumerate(images):
        position = given.get("position")
        if position is not None and not (isinstance(position, int) and 1 <= position <= 15):
            raise SandboxError(422, f"images[{index}].position: must be a whole number from 1 to 15")
        if given.get("id"):
            if given["id"] not in known:
                raise SandboxError(422, f"images[{index}].id: image {given['id']} is not on article {article['id']}")
            if position is not None:
                current[given["id"]]["position"] = str(position)
                placed.add(given["id"])
        elif given.get("url"):
            new = image(state, position or len(current) + 1, given["url"].rsplit("/", 1)[-1], given["url"])
            current[new["id"]] = new
            placed.add(new["id"])
        else:
            raise SandboxError(422, f"images[{index}]: needs an id or a url")
    ranked = sorted(current.values(), key=lambda i: (int(i["position"]), i["id"] not in placed))
    for rank, entry in enumerate(ranked, start=1):
        entry["position"] = str(rank)
    article["images"] = ranked


def _apply(state: SandboxState, article: dict[str, Any], body: dict[str, Any], *, creating: bool) -> None:
    for key in _SCALARS:
        if key in body:
            article[key] = body[key]
    if "stock" in body and body["stock"] is not None:
        article["stock"] = int(body["stock"])
    if "price" in body:
        article["price"] = {
            **article.get("price", {}),
            **{k: (None if v is None else str(v)) for k, v in (body["price"] or {}).items()},
        }
    if "extra" in body:
        extra = article.setdefault("extra", {"visible": {}, "invisible": {}})
        for bucket in ("visible", "invisible"):
            extra.setdefault(bucket, {}).update(
                {k: str(v) for k, v in ((body["extra"] or {}).get(bucket) or {}).items()}
            )
    if "categories" in body:
        _categories(state, article, body["categories"] or [])
    if "lists" in body:
        _lists(state, article, body["lists"] or [], creating=creating)
    if "variants" in body:
        _variants(state, article, body["variants"] or [])
    if "images" in body:
        _images(state, article, body["images"] or [])


def _check(state: SandboxState, body: Any, *, creating: bool) -> None:
    if not isinstance(body, dict):
        raise SandboxError(422, "body must be an object")
    problem = state.rules.article_problem(body, creating=creating)
    if problem:
        raise SandboxError(422, problem)


def create_article(state: SandboxState, body: dict[str, Any]) -> dict[str, Any]:
    _check(state, body, creating=True)
    with state.lock:
        article = state.put_article(
            {
                "name": body["name"],
                "taxable": True,
                "stock": None,
                "can_backorder": False,
                "delivery_days": 0,
                "description": "",
                "sku": "",
                "badge_text": "",
                "meta_title": "",
                "meta_description": "",
            }
        )
        try:
            _apply(state, article, body, creating=True)
        except SandboxError:
            state.remove_article(article["id"])
            raise
        return article


def fill_article(state: SandboxState, article: dict[str, Any], body: dict[str, Any]) -> None:
    """Apply a trusted body to a new article in place: the seed's fast path, without the request path's
    checks and copies."""
    _apply(state, article, body, creating=True)


def patch_article(state: SandboxState, article: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Apply a PATCH all or nothing: a refused body leaves the article as it was."""
    _check(state, body, creating=False)
    with state.lock:
        draft = copy.deepcopy(article)
        _apply(state, draft, body, creating=False)
        draft["updated_date"], draft["updated_time"] = state.now()
        article.clear()
        article.update(draft)
        return article


def touch(state: SandboxState, article: dict[str, Any]) -> None:
    article["updated_date"], article["updated_time"] = state.now()


def set_fields(state: SandboxState, article: dict[str, Any], fields: dict[str, Any], visible: bool) -> None:
    if not isinstance(fields, dict):
        raise SandboxError(422, "body must be an object of name => value")
    problem = state.rules.fields_problem({"visible" if visible else "invisible": fields})
    if problem:
        raise SandboxError(422, problem)
    bucket = article.setdefault("extra", {}).setdefault("visible" if visible else "invisible", {})
    bucket.update({str(k): str(v) for k, v in fields.items()})
    touch(state, article)


def remove_fields(state: SandboxState, article: dict[str, Any], names: list[str], visible: bool) -> None:
    bucket = article.setdefault("extra", {}).setdefault("visible" if visible else "invisible", {})
    for name in names:
        bucket.pop(str(name), None)
    touch(state, article)


def attach_lists(state: SandboxState, article: dict[str, Any], list_ids: list[int]) -> None:
    """POST /articlelists/{article_id}: attach whole lists (all their options)."""
    for list_id in list_ids:
        source = state.option_list(int(list_id))
        if not any(entry["id"] == source["id"] for entry in article["lists"]):
            article["lists"].append(
                {
                    "id": source["id"],
                    "name": source["name"],
                    "description": source["description"],
                    "has_images": False,
                    "options": [{**o, "image_ids": []} for o in source["options"]],
                }
            )
    _regenerate_variants(state, article)
    touch(state, article)


def detach_lists(state: SandboxState, article: dict[str, Any], list_ids: list[int]) -> None:
    ids = {int(i) for i in list_ids}
    article["lists"] = [entry for entry in article["lists"] if entry["id"] not in ids]
    _regenerate_variants(state, article)
    touch(state, article)


def new_option_list(state: SandboxState, name: str, description: str, options: list[tuple[str, str]]) -> dict:
    list_id = state.next_id("list")
    state.option_lists[list_id] = {
        "id": list_id,
        "name": name,
        "description": description,
        "options": [{"id": state.next_id("option"), "name": n, "price": p} for n, p in options],
    }
    return state.option_lists[list_id]


def _surcharge(value: Any, field: str) -> str:
    """An option's price difference as the API shows it ("2.00"); negative is allowed (a cheaper size)."""
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        raise SandboxError(422, f"{field}: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise SandboxError(422, f"{field}: {value!r} is not an amount")
    return f"{amount:.2f}"


def add_list_options(state: SandboxState, source: dict[str, Any], options: list[dict[str, Any]]) -> None:
    """Add options by name; a name the list already has is refused (our assumption: names identify
    options, e.g. in DELETE), and nothing is added when any option is refused."""
    names = {o["name"].casefold() for o in source["options"]}
    made = []
    for index, option in enumerate(options):
        if not isinstance(option, dict) or not str(option.get("name") or "").strip():
            raise SandboxError(422, f"options[{index}].name: options need a name")
        name = str(option["name"]).strip()
        if name.casefold() in names:
            raise SandboxError(422, f"options[{index}].name: list {source['id']} already has an option {name!r}")
        names.add(name.casefold())
        made.append({"name": name, "price": _surcharge(option.get("price"), f"options[{index}].price")})
    source["options"] += [{"id": state.next_id("option"), **option} for option in made]


def remove_list_options(state: SandboxState, source: dict[str, Any], names: list[str]) -> None:
    gone = {o["id"] for o in source["options"] if o["name"] in set(names)}
    source["options"] = [o for o in source["options"] if o["id"] not in gone]
    for article in state.articles.values():
        for entry in article["lists"]:
            if entry["id"] == source["id"]:
                entry["options"] = [o for o in entry["options"] if o["id"] not in gone]
                _regenerate_variants(state, article)


# ------------------------------------------------------------------------------------------ categories


def _siblings(state: SandboxState, parent: int | None) -> list[dict[str, Any]]:
    return sorted(
        (c for c in state.categories.values() if c.get("parent_category_id") == parent),
        key=lambda c: c["_position"],
    )


def _place(state: SandboxState, category: dict[str, Any], sorting: dict[str, Any] | None) -> None:
    siblings = [c for c in _siblings(state, category.get("parent_category_id")) if c["id"] != category["id"]]
    index = len(siblings)
    sorting = sorting or {}
    if sorting.get("first"):
        index = 0
    elif sorting.get("before") or sorting.get("after"):
        # The spec's own descriptions of before/after are swapped; we read them by their names.
        anchor = int(sorting.get("before") or sorting["after"])
        positions = [c["id"] for c in siblings]  # the anchor is among them: `_checked_parent` made sure
        index = positions.index(anchor) + (0 if sorting.get("before") else 1)
    siblings.insert(index, category)
    for position, sibling in enumerate(siblings):
        sibling["_position"] = position


def _checked_parent(state: SandboxState, body: dict[str, Any], category: dict[str, Any] | None) -> int | None:
    """The parent the body asks for, checked before anything changes: it exists, it is not the category
    itself or inside it (a loop would drop the branch from the tree), and a `sorting` anchor is a sibling."""
    own = None if category is None else category["id"]
    parent = body.get("parent_category_id", None if category is None else category.get("parent_category_id"))
    if parent is not None:
        parent = int(parent)
        if parent not in state.categories:
            raise SandboxError(422, f"parent_category_id: category {parent} does not exist")
        above: int | None = parent
        while above is not None:
            if above == own:
                raise SandboxError(422, f"parent_category_id: category {parent} is category {own} or lies inside it")
            above = state.categories[above].get("parent_category_id")
    sorting = body.get("sorting") or {}
    anchor = sorting.get("before") or sorting.get("after")
    if anchor is not None and not sorting.get("first"):
        siblings = {c["id"] for c in _siblings(state, parent)} - {own}
        if int(anchor) not in siblings:
            raise SandboxError(422, f"sorting: category {anchor} is not a sibling")
    return parent


def save_category(state: SandboxState, body: dict[str, Any], category: dict[str, Any] | None = None) -> dict:
    if not isinstance(body, dict):
        raise SandboxError(422, "body must be an object")
    with state.lock:
        if category is None and not body.get("title"):
            raise SandboxError(422, "title: is required")
        parent = _checked_parent(state, body, category)
        if category is None:
            category = {
                "id": state.next_id("category"),
                "parent_category_id": None,
                "hidden": False,
                "title": "",
                "content": "",
                "meta_title": "",
                "meta_description": "",
                "article_order": 5,
                "_position": 10**9,
            }
            today, now = state.now()
            category["_created"] = category["_changed"] = f"{today} {now}"
            state.categories[category["id"]] = category
        for key in ("hidden", "title", "content", "meta_title", "meta_description", "article_order"):
            if key in body:
                category[key] = body[key]
        moved = parent != category.get("parent_category_id")
        category["parent_category_id"] = parent
        if moved or "sorting" in body or category["_position"] == 10**9:
            _place(state, category, body.get("sorting"))
        today, now = state.now()
        category["_changed"] = f"{today} {now}"
        return category


def category_view(state: SandboxState, category: dict[str, Any], *, depth: int | None = None) -> dict[str, Any]:
    """A category as the API shows it: `sorting` among its siblings and, in tree mode, nested `leafs`."""
    siblings = _siblings(state, category.get("parent_category_id"))
    index = next(i for i, c in enumerate(siblings) if c["id"] == category["id"])
    out = {k: v for k, v in category.items() if not k.startswith("_")}
    if out.get("parent_category_id") is None:
        out.pop("parent_category_id")
    sorting: dict[str, Any] = {"first": index == 0, "last": index == len(siblings) - 1}
    if index > 0:
        sorting["previous"] = siblings[index - 1]["id"]
    if index < len(siblings) - 1:
        sorting["next"] = siblings[index + 1]["id"]
    out["sorting"] = sorting
    if depth is not None:
        children = _siblings(state, category["id"]) if depth > 1 else []
        out["leafs"] = [category_view(state, child, depth=depth - 1) for child in children]
    return out


def category_tree(state: SandboxState, max_depth: int) -> list[dict[str, Any]]:
    return [category_view(state, root, depth=max_depth) for root in _siblings(state, None)]
