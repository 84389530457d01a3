"""`koppel demo`: both sandboxes with seeded data, a demo integration configured against them (through
the same `integration apply` a user runs), the catalogue synced into the shop (`sync_catalogue`: categories,
a variant product, images), the orders flow run once with progress, and a readable table of what happened to
every order, including a few orders that had to be parked and why."""

from __future__ import annotations

import copy
import random
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.sandbox import REDIRECT_URI
from koppel.connectors.sandboxes import Sandboxes, start_sandboxes

INTEGRATION = "demo-shop"
WORKSPACE = "demo"
PAID = [3, 6]  # the shop sandbox's "Betaald" and "Betaald & afgehaald"

# Order settings that fit the sandboxes' seed: its VAT codes, payment methods and cost articles.
ORDER_SETTINGS: dict[str, Any] = {
    "statuses": PAID,
    "vat_codes": {"21": "H1", "9": "L1", "0": "N0", "reverse_charge": "EU", "export": "N0"},
    "payment_methods": {"table": {"ideal": "IDEAL", "creditcard": "CREDITCARD", "paypal": "PAYPAL",
                                  "bank_transfer": "OVERBOEKING", "bancontact": "IDEAL",
                                  "klarna_paylater": "ACHTERAF"}},
    "payment_terms": {"default": "14"},
    "rounding_article": "AFRONDING",
    "total_tolerance": "0.05",
    "revenue_accounts": {"article": "8000", "custom": "8000", "shipping": "8100", "payment": "8100",
                         "discount": "8000", "rounding": "8000"},
}
# The catalogue (products flow): the sandboxes' variant articles name their parent in ART_PARENT and their colour
# and size in ART_COLOUR / ART_SIZE; the shop's option lists "Kleur" and "Maat" by their ids (the API can't list
# lists: one no article uses is found by id only); the article groups form a small category tree.
PRODUCT_SETTINGS = """enabled = true
category_parents = {{ KEUKEN = "WONEN", SHIRTS = "TEXTIEL" }}

[integration.flows.products.variants]
rule = "parent_field"
parent_field = "ART_PARENT"
attributes = [{{ list_name = "Kleur", field = "ART_COLOUR", list_id = {Kleur} }},
              {{ list_name = "Maat", field = "ART_SIZE", list_id = {Maat} }}]
"""
COST_ARTICLES = {"VERZEND": "Verzendkosten", "BETAALKOST": "Transactiekosten", "KORTING": "Korting",
                 "AFRONDING": "Afronding"}


def add_cost_articles(books: AccountViewClient) -> None:
    """The articles shipping, payment costs, discounts and rounding are booked on (not in the seed)."""
    for code, name in COST_ARTICLES.items():
        if not books.get_articles([code]):
            books.insert("AK1", {"ART_CODE": code, "ART_DESC1": name, "AG_CODE": "WONEN", "ART_UNIT": "ST",
                                 "PX_SELL": Decimal(0), "VAT_CODE": "H1"})


@dataclass
class DemoWorld:
    sandboxes: Sandboxes
    integration_file: Path


def integration_toml(boxes: Sandboxes) -> str:
    shop, books = boxes.shop.info, boxes.books.info
    lists = {entry["name"]: entry["id"] for entry in boxes.shop.state.option_lists.values()}
    products = PRODUCT_SETTINGS.format(Kleur=lists.get("Kleur", 0), Maat=lists.get("Maat", 0))
    orders = "\n".join(f"{k} = {_toml(v)}" for k, v in ORDER_SETTINGS.items() if not isinstance(v, dict))
    tables = "\n".join(f"[integration.flows.orders.{k}]\n" + "\n".join(f"{_toml(kk)} = {_toml(vv)}"
                                                                         for kk, vv in _flat(v).items())
                       for k, v in ORDER_SETTINGS.items() if isinstance(v, dict))
    return f"""# The demo integration: the shop sandbox and the AccountView sandbox (sandbox credentials, not secrets).
[workspace]
name = "{WORKSPACE}"

[connections.shop]
system = "mijnwebwinkel"
credentials = {{ token = "{shop.token}", partner_token = "{shop.partner_token}" }}

[connections.shop.settings]
base_url = "{shop.url}"
rate_per_second = 50
# The dashboard links an order or an article to the sandbox's back-office pages, not to www.mijnwebwinkel.nl.
admin_article_url = "{shop.admin_article_url}"
admin_order_url = "{shop.admin_order_url}"

[connections.books]
system = "accountview"
settings = {{ base_url = "{books.url}", company_id = "{books.company_id}", rate_per_second = 50 }}
credentials = {{ client_id = "{books.client_id}", client_secret = "{books.client_secret}" }}

[integration]
name = "{INTEGRATION}"
shop = "shop"
books = "books"

[integration.flows.orders]
{orders}

{tables}

[integration.flows.products]
{products}"""


def sync_catalogue(console: Any) -> None:
    """The products flow run once (categories, simple and variant articles, images), and what the shop shows
    of it: the category tree and the variant products."""
    from rich.table import Table

    from koppel.sync.runner import run_flow

    summary = run_flow("products", INTEGRATION)
    console.print(f"products: {summary.counts.get('sent', 0)} sent, {summary.counts.get('skipped', 0)} skipped, "
                  f"{len(summary.parked)} parked" + (f" ({summary.error})" if summary.error else ""))
    table = Table("AccountView", "shop", "what happened", title="The catalogue in the shop (categories, variants)")
    shown = [r for r in summary.results if r.key.startswith("category:") or "variants" in r.reason]
    for result in shown + summary.parked:
        table.add_row(result.key, result.target_key, result.reason)
    console.print(table)


def _flat(value: dict[str, Any]) -> dict[str, Any]:
    """`payment_methods = {table = {...}}` as TOML keys under the flow's sub-table."""
    out: dict[str, Any] = {}
    for key, inner in value.items():
        if isinstance(inner, dict):
            out.update({f"{key}.{k}": v for k, v in inner.items()})
        else:
            out[key] = inner
    return out


def _toml(value: Any) -> str:
    if isinstance(value, str) and "." in value and not value.replace(".", "").isdigit():
        return ".".join(f'"{part}"' for part in value.split("."))  # a dotted key
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def add_problem_orders(boxes: Sandboxes) -> list[str]:
    """Three paid orders a real shop produces sooner or later: no e-mail, an article AccountView doesn't
    know, and a total that doesn't add up. The demo shows them parked with their reasons."""
    state = boxes.shop.state
    template = next(o for o in state.orders.values()
                    if o["status"] in PAID and not str(o["number"]).upper().startswith("T")
                    and not o.get("credited_order_number")
                    and any(line.get("type") == "article" for line in o["orderlines"]))
    rng = random.Random(7)
    numbers = []
    for problem in ("no_email", "unknown_article", "wrong_total"):
        order = copy.deepcopy(template)
        order["number"] = str(90000 + rng.randrange(1000))
        order.pop("uuid", None)
        if problem == "no_email":
            order["debtor"]["email"] = ""
        elif problem == "unknown_article":
            line = next(line for line in order["orderlines"] if line.get("type") == "article")
            for article in line.get("articles", []):
                article["sku"] = "ONBEKEND-404"
        else:
            order["price"]["total"] = str(Decimal(str(order["price"]["total"])) + Decimal("10.00"))
        numbers.append(str(boxes.shop.add_order(order)["number"]))
    return numbers


def prepare(data_dir: Path, *, orders: int = 60, articles: int = 40) -> DemoWorld:
    """Start the sandboxes and configure the demo integration in the (migrated) database."""
    from koppel.core.integrations.apply import apply_file
    from koppel.core.integrations.models import Integration
    from koppel.sync.clients import books_client
    from koppel.sync.grants import finish_grant_from_url, start_grant

    boxes = start_sandboxes(seed=1, articles=articles, orders=orders)
    try:
        add_problem_orders(boxes)
        path = data_dir / "demo-integration.toml"
        path.write_text(integration_toml(boxes))
        tomllib.loads(path.read_text())  # fail here, clearly, if the generated file is not TOML
        apply_file(path)
        books = Integration.objects.get(name=INTEGRATION).books
        # The user's "connect AccountView", through the same grant as `koppel connect` and the dashboard: the
        # sandbox's consent page approves at once, and the tokens land encrypted in the connection.
        consent = httpx.get(start_grant(books.pk, REDIRECT_URI).url, follow_redirects=False)
        finish_grant_from_url(consent.headers["location"])
        books.refresh_from_db()
        with books_client(books.pk, books.settings, books.credentials) as client:
            add_cost_articles(client)
    except Exception:
        boxes.stop()
        raise
    return DemoWorld(sandboxes=boxes, integration_file=path)


def show_stock(console: Any, boxes: Sandboxes) -> None:
    """The stock flow in three cycles: the shop gets AccountView's stock (available − reserved); a delivery
    booked in AccountView (stock moves, the article's change date does not) reaches the shop; an order,
    booked by the orders flow as a sales order, raises its article's reservation, and the next cycle lowers
    the shop's stock."""
    from koppel.sync.runner import run_flow

    first = run_flow("stock", INTEGRATION)
    console.print(f"Stock: {first.counts.get('sent', 0)} articles got AccountView's stock (available − reserved), "
                  f"{len(first.parked)} parked with their reason.")
    codes = boxes.books.state.tables["ARTICLE"]
    article = next(a for a in boxes.shop.state.articles.values()
                   if not a["variants"] and a["sku"] in codes and (a["stock"] or 0) > 2)
    code, before = article["sku"], article["stock"]
    available = float(codes[code][boxes.books.profile.article_available_field] or 0)
    boxes.books.set_stock(code, available=available + 25)
    run_flow("stock", INTEGRATION)
    console.print(f"25 × {code} came in, booked in AccountView (its change date unchanged): the shop's stock "
                  f"{before} → {article['stock']}.")
    before = article["stock"]
    order = boxes.shop.compose_order({  # a paid order that leaves the shop's own stock alone
        "status": PAID[0],
        "debtor": {"email": "voorraad@example.nl",
                   "address": {"invoice": {"name": "Vera Voorraad", "zipcode": "1234AB", "country_code": "NL"}}},
        "orderlines": [{"type": "article", "quantity": 2, "articles": [{"id": article["id"]}]}],
        "payment": {"gateway_name": "mollie", "method_name": "ideal"},
    })
    run_flow("orders", INTEGRATION)
    reserved = codes[code][boxes.books.profile.article_reserved_field]
    run_flow("stock", INTEGRATION)
    console.print(f"Order {order['number']} for 2 × {code}, booked as a sales order, raised its reservation in "
                  f"AccountView to {reserved:g}: the shop's stock {before} → {article['stock']}.")
