"""A realistic, deterministic shop for the sandbox: the same (seed, sizes) always gives the same data.

Articles come from the shared `sandbox_catalogue` (so the AccountView sandbox has the same SKUs/EANs).
The first orders are hand-shaped so that every orders-flow case exists at any size ≥ 10 (see
`GUARANTEED_CASES`); the rest are random but plausible.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from faker import Faker

from koppel.connectors.mijnwebwinkel.money import cents, fmt_cents, incl_from_excl
from koppel.connectors.mijnwebwinkel.sandbox import catalog
from koppel.connectors.mijnwebwinkel.sandbox.orders import build_credit_order, build_order
from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxState
from koppel.connectors.sandbox_catalogue import CatalogueItem, catalogue

EPOCH = dt.datetime(2026, 1, 5, 9, 0, 0)  # seed data is dated from here on, never from "now"
HOUSE_NUMBERS = ("12A", "12-3", "12 bis", "7", "101-II", "3b", "45", "8 A", "221", "14-16")
PAYMENT_METHODS = (
    ("mollie", "ideal"),
    ("mollie", "creditcard"),
    ("paypal", "paypal"),
    ("basic", "bank_transfer"),
    ("mollie", "bancontact"),
    ("klarna_checkout", "klarna_paylater"),
)
GUARANTEED_CASES = (
    "every order status (credit status on credit orders)",
    "Dutch, Belgian and German customers; house numbers 12A, 12-3 and 12 bis",
    "companies with VAT numbers (domestic B2B and intra-EU reverse charge)",
    "several VAT rates in one order; shipping and payment-cost lines; split (list) prices",
    "discount codes; action prices; test orders (T- numbers); credit orders",
    "recurring customers (one e-mail on several orders); orders without a delivery address",
)
_CATEGORY_TREE = (
    ("Wonen", ("Woonaccessoires", "Textiel")),
    ("Keuken", ("Servies", "Theedoeken")),
    ("Kleding", ("Accessoires", "Winter")),
    ("Eten & drinken", ("Koffie & thee", "Zoetigheden")),
    ("Cadeaus", ("Voor haar", "Voor hem")),
)
_FAKERS = {"NL": "nl_NL", "BE": "nl_BE", "DE": "de_DE"}
_VAT_PREFIX = {
    "NL": lambda r: f"NL{r.randint(10**8, 10**9 - 1)}B01",
    "BE": lambda r: f"BE0{r.randint(10**8, 10**9 - 1)}",
    "DE": lambda r: f"DE{r.randint(10**8, 10**9 - 1)}",
}


@dataclass(frozen=True)
class SeedSizes:
    categories: int = 15
    articles: int = 40
    orders: int = 60
    # The catalogue's variant groups (SHIRT-<n>-<COLOUR>-<SIZE>) as one shop article each (SKU SHIRT-<n>,
    # option lists Kleur × Maat), as a shop that sells them already has them; off: one article per item.
    variant_groups: bool = False


def _customer(
    rng: random.Random,
    fakers: dict[str, Faker],
    country: str,
    *,
    company: bool,
    house_number: str | None = None,
) -> dict[str, Any]:
    fake = fakers[country]
    name = fake.name()
    first = name.split()[0].lower().strip(".")
    address: dict[str, Any] = {
        "gender": rng.choice(("M", "V", "")),
        "name": name,
        "company": "",
        "phone": fake.phone_number(),
        "street": fake.street_name(),
        "number": house_number or rng.choice(HOUSE_NUMBERS),
        "zipcode": fake.postcode(),
        "city": fake.city(),
        "country_code": country,
        "taxnumber": "",
        "bankaccount": fake.iban() if rng.random() < 0.3 else "",
    }
    if company:
        address["company"] = fake.company()
        address["taxnumber"] = _VAT_PREFIX[country](rng)
    email = f"{first}.{rng.randint(1, 9999)}@{fake.free_email_domain()}"
    debtor: dict[str, Any] = {"email": email, "address": {"invoice": address}}
    if rng.random() < 0.35:
        delivery = {k: v for k, v in address.items() if k not in ("taxnumber", "bankaccount")}
        delivery.update(
            street=fake.street_name(),
            number=rng.choice(HOUSE_NUMBERS),
            zipcode=fake.postcode(),
            city=fake.city(),
        )
        debtor["address"]["delivery"] = delivery
    return debtor


def _seed_store_tables(state: SandboxState) -> None:
    state.shipping_methods = [
        {
            "id": "2273",
            "display_name": "PostNL pakket",
            "countries": ["NL"],
            "default": True,
            "no_costs_above": "100.00",
            "_cost": "6.95",
        },
        {
            "id": "2274",
            "display_name": "PostNL pakket België",
            "countries": ["BE"],
            "default": False,
            "no_costs_above": "150.00",
            "_cost": "9.95",
        },
        {
            "id": "2275",
            "display_name": "DHL Paket Deutschland",
            "countries": ["DE"],
            "default": False,
            "_cost": "11.95",
        },
        {
            "id": "2276",
            "display_name": "Afhalen in de winkel",
            "countries": ["NL"],
            "default": False,
            "_cost": "0",
        },
    ]


def _overrides(rates: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {"taxRate": rate, "items": [{"type": "product", "references": refs}]} for rate, refs in rates.items() if refs
    ]


def _tax_regions(state: SandboxState) -> list[dict[str, Any]]:
    """The home region, plus Belgium and Germany when the store uses the EU one-stop shop (sandbox store
    setting `_one_stop_shop`). Shipping VAT follows `_shipping_tax_method` ("fixed" or "proportional")."""
    reduced = [a["uuid"] for a in state.articles.values() if a.get("_vat_rate") == "9"]
    shipping = state.store.get("_shipping_tax_method", "fixed")

    def region(code: str, number: str, rate: str, overrides: dict[str, list[str]]) -> dict[str, Any]:
        return {
            "regionCode": code,
            "taxEnabled": True,
            "taxNumber": number,
            "taxRate": rate,
            "shippingTaxMethod": shipping,
            "shippingTaxRate": rate if shipping == "fixed" else None,
            "transactionTaxMethod": "proportional",
            "transactionTaxRate": None,
            "overrides": _overrides(overrides),
        }

    regions = [region("NL", "NL000099998B57", "0.21", {"0.09": reduced})]
    if state.store.get("_one_stop_shop"):
        # Reduced-rate goods: Belgium taxes food at 6 % and some goods at 12 %; Germany at 7 %.
        regions += [
            region("BE", "NL000099998B57", "0.21", {"0.06": reduced[::2], "0.12": reduced[1::2]}),
            region("DE", "NL000099998B57", "0.19", {"0.07": reduced}),
        ]
    return regions


def _categories(state: SandboxState, size: int) -> list[int]:
    made: list[int] = []
    roots = []
    for title, _ in _CATEGORY_TREE:
        if len(made) >= size:
            break
        made.append(catalog.save_category(state, {"title": title, "content": f"<p>{title}</p>"})["id"])
        roots.append(made[-1])
    depth = 0
    while len(made) < size:
        for (_, children), root in zip(_CATEGORY_TREE, roots, strict=False):
            for child in children:
                if len(made) >= size:
                    break
                label = child if depth == 0 else f"{child} {depth + 1}"
                parent = root if depth == 0 else made[-1]
                made.append(catalog.save_category(state, {"title": label, "parent_category_id": parent})["id"])
        depth += 1
    return made


def _products(items: list[CatalogueItem], group: bool) -> Iterator[tuple[CatalogueItem, list[CatalogueItem]]]:
    """(the article, its variant items): each item alone, or with `group` a variant group as one article
    named after its first item without colour and size, at the group's lowest price, without an EAN."""
    for key, members in itertools.groupby(items, key=lambda i: (i.parent_sku if group else "") or i.sku):
        variants = list(members)
        if not group or not variants[0].parent_sku:
            yield from ((item, []) for item in variants)
            continue
        base = min(variants, key=lambda i: i.price_excl)
        name = variants[0].name.rsplit(" ", 2)[0]
        yield base._replace(sku=key, name=name, ean=""), variants


def _variant_lists(
    state: SandboxState, variants: list[CatalogueItem], lists: dict[str, dict[str, Any]], includes: bool
) -> list[dict[str, Any]]:
    """Kleur × Maat with the group's options, each size's surcharge as this article's option price."""
    base = min(v.price_excl for v in variants)
    chosen: list[dict[str, Any]] = []
    for list_name, value in (("Kleur", lambda v: v.colour.capitalize()), ("Maat", lambda v: v.size)):
        option_list = lists[list_name]
        wanted = list(dict.fromkeys(value(v) for v in variants))
        missing = [{"name": n} for n in wanted if n not in {o["name"] for o in option_list["options"]}]
        catalog.add_list_options(state, option_list, missing)
        options = []
        for name in wanted:
            extra = min(v.price_excl for v in variants if value(v) == name) - base
            price = incl_from_excl(extra, variants[0].vat_rate) if includes else extra
            option_id = next(o["id"] for o in option_list["options"] if o["name"] == name)
            options.append({"id": option_id, "price": fmt_cents(price)})
        chosen.append({"id": option_list["id"], "options": options})
    return chosen


def _articles(state: SandboxState, rng: random.Random, seed: int, sizes: SeedSizes, categories: list[int]) -> None:
    """The articles, built as stored dicts directly (no request-path copies or checks): 100,000 seed in
    seconds. The draws from `rng` are in a fixed order, so orders seeded after them stay the same."""
    includes = state.store["prices_include_tax"]
    size_list = catalog.new_option_list(
        state, "Maat", "Kies je maat", [("S", "0.00"), ("M", "0.00"), ("L", "0.00"), ("XL", "2.00")]
    )
    # A list no article uses unless variant groups are seeded (the API cannot create lists).
    colour_list = catalog.new_option_list(state, "Kleur", "", [("Naturel", "0.00"), ("Zwart", "1.50")])
    lists = {"Maat": size_list, "Kleur": colour_list}
    size_options = [{"id": o["id"]} for o in size_list["options"]]
    products = _products(catalogue(seed, sizes.articles), sizes.variant_groups)
    for index, (item, variants) in enumerate(products):
        rate = item.vat_rate
        default = incl_from_excl(item.price_excl, rate) if includes else item.price_excl
        action = cents(default * Decimal("0.8")) if index % 6 == 2 else None
        created = EPOCH - dt.timedelta(days=200 - index % 150, minutes=index * 7)
        day, moment = created.date().isoformat(), created.time().isoformat()
        extra: dict[str, dict[str, str]] = {"visible": {}, "invisible": {"weight": f"{rng.randint(1, 40) / 20:.2f}"}}
        if item.ean:
            extra["visible" if index % 7 == 3 else "invisible"]["barcode"] = item.ean
        # Every 5th unmanaged; every 10th too (a variant article) with its variants at 0: sold out per
        # combination, as NOTES §8.3's black tote (unlimited under `article_stock_null_frees_variants`).
        stock = None if index % 5 == 4 else rng.randint(0, 60)
        article = state.put_article(
            {
                "name": item.name,
                "description": f"<p>{item.name}</p>",
                "sku": item.sku,
                "badge_text": "",
                "taxable": rate != 0,
                "_vat_rate": f"{rate:f}",
                "price": {
                    "default": fmt_cents(default),
                    "action": None if action is None else fmt_cents(action),
                    "purchase": fmt_cents(item.price_excl * Decimal("0.55")),
                },
                "stock": None if index % 10 == 6 else stock,
                "can_backorder": index % 9 == 0,
                "delivery_days": rng.choice((1, 2, 3, 5)),
                "meta_title": item.name,
                "meta_description": "",
                "extra": extra,
                "created_date": day,
                "created_time": moment,
                "updated_date": day,
                "updated_time": moment,
                "categories": [],
                "lists": [],
                "variants": [],
                "images": [],
            },
            copy_it=False,
        )
        links = [{"category_id": categories[index % len(categories)], "is_main": True, "is_active": True}]
        if index % 4 == 0 and len(categories) > 1:
            links.append(
                {
                    "category_id": categories[(index + 3) % len(categories)],
                    "is_main": False,
                    "is_active": index % 8 != 0,
                }
            )
        body: dict[str, Any] = {"categories": links}
        if variants:
            body["lists"] = _variant_lists(state, variants, lists, includes)
        elif index % 5 == 1:
            body["lists"] = [{"id": size_list["id"], "options": size_options}]
        if index % 3 != 2:
            body["images"] = [
                {"url": f"https://images.koppel.test/{item.sku}-{n}.jpg", "position": n}
                for n in range(1, 1 + index % 3 + 1)
            ]
        catalog.fill_article(state, article, body)
        for variant in article["variants"]:
            variant["stock"] = 0 if index % 10 == 6 else rng.randint(0, 15)


def _line(rng: random.Random, article: dict[str, Any], quantity: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": article["id"]}
    if article["lists"]:
        entry["options"] = [{"list_option_id": rng.choice(lst["options"])["id"]} for lst in article["lists"]]
    return {"type": "article", "quantity": quantity or rng.choice((1, 1, 1, 2, 3)), "articles": [entry]}


def _orders(state: SandboxState, rng: random.Random, fakers: dict[str, Faker], size: int) -> None:
    articles = list(state.articles.values())
    by_rate: dict[str, list[dict[str, Any]]] = {}
    for article in articles:
        by_rate.setdefault(article.get("_vat_rate", "21"), []).append(article)
    full = by_rate.get("21") or articles
    reduced = by_rate.get("9") or articles
    on_action = [a for a in articles if a["price"].get("action")] or articles
    statuses = sorted(state.status_ids(credit=False))
    credit_status = min(state.status_ids(credit=True))
    regulars = [_customer(rng, fakers, c, company=False) for c in ("NL", "NL", "BE", "DE")]
    pool = regulars + [
        _customer(rng, fakers, rng.choice(("NL", "NL", "NL", "BE", "DE")), company=rng.random() < 0.3)
        for _ in range(max(3, size // 3))
    ]
    crafted: list[dict[str, Any]] = [
        {
            "debtor": _customer(rng, fakers, "NL", company=False, house_number="12A"),
            "lines": [full[0]],
            "payment": PAYMENT_METHODS[0],
        },
        {
            "debtor": _customer(rng, fakers, "BE", company=True, house_number="12 bis"),
            "lines": [full[1 % len(full)]],
            "payment": PAYMENT_METHODS[3],
            "reference": "PO-4711",
        },
        {
            "debtor": _customer(rng, fakers, "DE", company=False, house_number="12-3"),
            "lines": [full[2 % len(full)], reduced[0]],
            "payment": PAYMENT_METHODS[1],
            "discountcode": "KORTING10",
        },
        {
            "debtor": _customer(rng, fakers, "NL", company=True, house_number="45"),
            "lines": [on_action[0], reduced[-1]],
            "payment": PAYMENT_METHODS[2],
        },
        {"debtor": regulars[0], "lines": [full[-1]], "payment": PAYMENT_METHODS[0], "test": True},
        {
            "debtor": regulars[0],
            "lines": [on_action[-1], full[0]],
            "payment": PAYMENT_METHODS[5],
            "discountcode": "WELKOM5",
        },
        {"debtor": regulars[0], "lines": [reduced[0]], "payment": PAYMENT_METHODS[4], "pickup": True},
    ]
    if state.store.get("_one_stop_shop"):  # consumers abroad taxed at their country's rates: 6/12/21, 7/19
        crafted += [
            {
                "debtor": regulars[2],
                "lines": [reduced[0], reduced[1 % len(reduced)], full[0]],
                "payment": PAYMENT_METHODS[0],
            },
            {"debtor": regulars[3], "lines": [full[0], reduced[0]], "payment": PAYMENT_METHODS[1]},
        ]
    for spec in crafted:
        spec["debtor"] = copy.deepcopy(spec["debtor"])
        if spec.get("pickup"):
            spec["debtor"]["address"].pop("delivery", None)
    moment = EPOCH
    made: list[dict[str, Any]] = []
    for index in range(size):
        moment += dt.timedelta(minutes=rng.randint(20, 600))
        if index < len(crafted):
            spec = crafted[index]
        else:
            lines = [rng.choice(articles) for _ in range(rng.choice((1, 1, 2, 3, 4)))]
            spec = {
                "debtor": copy.deepcopy(rng.choice(pool)),
                "lines": lines,
                "payment": rng.choice(PAYMENT_METHODS),
                "test": rng.random() < 0.04,
                "discountcode": "KORTING10" if rng.random() < 0.1 else "",
            }
        first_credit = index == len(crafted)
        if first_credit or (index > len(crafted) and rng.random() < 0.07):
            original = made[0] if first_credit else rng.choice(made)
            if not original["credit_order_numbers"] and str(original["number"]).isdigit():
                made.append(_credit(state, original, credit_status, moment))
                continue
        gateway, method = spec["payment"]
        body: dict[str, Any] = {
            "status": statuses[index % len(statuses)],
            "debtor": spec["debtor"],
            "orderlines": [_line(rng, a) for a in spec["lines"]],
            "payment": {
                "gateway_name": gateway,
                "method_name": method,
                "status": {"id": 1 if index % 4 else 5},
            },
            "discountcode": spec.get("discountcode", ""),
            "comments": {"customer": "Graag snel leveren!" if index % 11 == 3 else "", "internal": ""},
            "archived": index < size // 4 and index % 3 == 0,
        }
        if spec.get("pickup"):
            body["shipping_type"] = 6
        if spec.get("reference"):
            body["reference"] = spec["reference"]
        order = build_order(
            state,
            body,
            test=bool(spec.get("test")),
            mutate=False,
            date=moment.strftime("%Y-%m-%d"),
            time=moment.strftime("%H:%M:%S"),
        )
        changed = moment + dt.timedelta(hours=rng.randint(0, 48)) if order["status"] != 1 else moment
        order["status_changed_date"], order["status_changed_time"] = (
            changed.strftime("%Y-%m-%d"),
            changed.strftime("%H:%M:%S"),
        )
        made.append(order)


def _credit(state: SandboxState, original: dict[str, Any], status: int, moment: dt.datetime) -> dict[str, Any]:
    lines = []
    for line in original["orderlines"]:
        if line["type"] == "article":
            entry: dict[str, Any] = {"id": line["articles"][0]["id"]}
            options = [
                {"list_option_id": o["list_option_id"]}
                for o in line["articles"][0]["options"]
                if o.get("list_option_id")
            ]
            if options:
                entry["options"] = options
            lines.append({"type": "article", "quantity": line["quantity"], "articles": [entry]})
    if not lines:
        lines = [
            {
                "type": "custom",
                "quantity": 1,
                "description": "Retour",
                "unit_price": {"amount_including_tax": "1.00", "rate": "21.00"},
            }
        ]
    return build_credit_order(
        state,
        {
            "credited_order_number": str(original["number"]),
            "status": status,
            "orderlines": lines,
            "comments": {"internal": "Retour ontvangen"},
        },
        mutate=False,
        date=moment.strftime("%Y-%m-%d"),
        time=moment.strftime("%H:%M:%S"),
    )


def seed_state(state: SandboxState, seed: int = 1, sizes: SeedSizes | None = None) -> SandboxState:
    """Fill `state` (which should be empty) with the shop for `seed` at `sizes`."""
    sizes = sizes or SeedSizes()
    rng = random.Random(seed)
    state._rng.seed(f"mww-sandbox:{seed}")
    fakers = {country: Faker(locale) for country, locale in _FAKERS.items()}
    for offset, fake in enumerate(fakers.values()):
        fake.seed_instance(seed * 31 + offset)
    with state.lock:
        _seed_store_tables(state)
        categories = _categories(state, max(1, sizes.categories))
        if sizes.articles:
            _articles(state, rng, seed, sizes, categories)
        state.tax_regions = _tax_regions(state)
        if sizes.orders and state.articles:
            _orders(state, rng, fakers, sizes.orders)
    return state
