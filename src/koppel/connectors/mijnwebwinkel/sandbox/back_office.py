"""The shop's back office ("beheer"), as far as Koppel links into it: a read-only page of one article and of one
order at the addresses the dashboard builds, so its links lead somewhere in the demo and the tests instead of
to the real www.mijnwebwinkel.nl, which knows no sandbox record.

The article's address is the reference's (NOTES §6: `/beheer/article/edit?categoryArticleId=<article_url_id>`,
the number of one of the article's category links, not its API id). The reference names no order page: the
sandbox serves the address Koppel assumes by default (`/beheer/order/view?orderNumber=<number>`, see
`koppel.core.integrations.settings`). An unknown record answers 404. The pages are in Dutch, as the back office
of a Dutch shop is.

Not the API: no tokens (the sandbox listens on this machine only), and the kit's faults, rate limit and call
counter leave these pages alone (`beside_the_api`), so looking at a page never changes what a test or a
benchmark counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxError, SandboxState

PREFIX = "/beheer"
ARTICLE_PAGE = f"{PREFIX}/article/edit"  # ?categoryArticleId=<article_url_id>
ORDER_PAGE = f"{PREFIX}/order/view"  # ?orderNumber=<number>


def article_url(base_url: str) -> str:
    """The sandbox's article page as a connection's `admin_article_url` pattern."""
    return f"{base_url}{ARTICLE_PAGE}?categoryArticleId={{article_url_id}}"


def order_url(base_url: str) -> str:
    """The sandbox's order page as a connection's `admin_order_url` pattern."""
    return f"{base_url}{ORDER_PAGE}?orderNumber={{number}}"


def routes() -> list[Route]:
    return [Route(ARTICLE_PAGE, article_page, methods=["GET"]), Route(ORDER_PAGE, order_page, methods=["GET"])]


def beside_the_api(api: Any, pages: Any) -> Any:
    """One ASGI app: the back office's paths go to `pages` directly, everything else to `api` (the API wrapped
    in the kit's faults, rate limit and call counter)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX + "/"):
            await pages(scope, receive, send)
        else:
            await api(scope, receive, send)

    return app


# ------------------------------------------------------------------------------------------- pages


async def article_page(request: Request) -> HTMLResponse:
    state: SandboxState = request.app.state.sandbox
    wanted = request.query_params.get("categoryArticleId", "").strip()
    with state.lock:
        try:
            article = state.article(int(wanted), by_url_id=True) if wanted.isascii() and wanted.isdigit() else None
        except SandboxError:
            article = None
        if article is None:
            return _not_found(f"Geen artikel met categoryArticleId {wanted or '(leeg)'}.")
        body = _article(state, article, int(wanted))
        return _page(f"Artikel {article.get('name') or article['id']}", body)


async def order_page(request: Request) -> HTMLResponse:
    state: SandboxState = request.app.state.sandbox
    number = request.query_params.get("orderNumber", "").strip()
    with state.lock:
        try:
            order = state.order(number) if number else None
        except SandboxError:
            order = None
        if order is None:
            return _not_found(f"Geen bestelling met nummer {number or '(leeg)'}.")
        return _page(f"Bestelling {order['number']}", _order(state, order))


def _article(state: SandboxState, article: dict[str, Any], url_id: int) -> str:
    price = article.get("price") or {}
    stock = article.get("stock")
    facts = [("Artikel-id (API)", article["id"]), ("categoryArticleId", url_id), ("SKU", article.get("sku")),
             ("Prijs", price.get("default")), ("Inkoopprijs", price.get("purchase")),
             ("Voorraad", "onbeperkt" if stock is None else stock),
             ("Bijgewerkt", f"{article.get('updated_date', '')} {article.get('updated_time', '')}".strip())]
    names = {c["id"]: c.get("title") or c["id"] for c in state.categories.values()}
    categories = [(names.get(link["category_id"], link["category_id"]), link.get("article_url_id"),
                   "ja" if link.get("is_main") else "", "ja" if link.get("is_active") else "nee")
                  for link in article.get("categories") or []]
    variants = [(variant["id"], ", ".join(str(o.get("name", o.get("option_id"))) for o in variant.get("options") or []),
                 variant.get("stock")) for variant in article.get("variants") or []]
    html = _facts(facts) + "<h2>Categorieën</h2>" + _table(("categorie", "categoryArticleId", "hoofd", "actief"),
                                                           categories)
    if variants:
        html += "<h2>Varianten</h2>" + _table(("variant", "opties", "voorraad"), variants)
    return html


def _order(state: SandboxState, order: dict[str, Any]) -> str:
    statuses = {s["status"]: s.get("description") for s in state.statuses}
    price, payment = order.get("price") or {}, order.get("payment") or {}
    debtor = order.get("debtor") or {}
    facts = [("Datum", f"{order.get('date', '')} {order.get('time', '')}".strip()),
             ("Status", statuses.get(order.get("status"), order.get("status"))),
             ("Betaling", f"{payment.get('method_name', '')} ({order.get('payment_status', '')})"),
             ("E-mail klant", debtor.get("email")), ("Totaal", f"{order.get('currency', '')} {price.get('total', '')}"),
             ("Btw", _taxes(price.get("tax")))]
    addresses = debtor.get("address") or {}
    html = _facts(facts)
    for kind, title in (("invoice", "Factuuradres"), ("delivery", "Afleveradres")):
        if addresses.get(kind):
            html += f"<h2>{title}</h2>" + _address(addresses[kind])
    lines = [(line.get("quantity"), line.get("description") or line.get("type"),
              ", ".join(str(a.get("sku") or "") for a in line.get("articles") or []),
              ", ".join(str(p.get("amount_including_tax", p.get("amount", ""))) for p in _each(line.get("price"))))
             for line in order.get("orderlines") or []]
    return html + "<h2>Regels</h2>" + _table(("aantal", "omschrijving", "SKU", "bedrag incl. btw"), lines)


def _taxes(tax: Any) -> str:
    return ", ".join(f"{entry.get('amount', '')} ({entry.get('rate', '')}%)" for entry in _each(tax))


def _each(value: Any) -> list[dict[str, Any]]:
    """A price or tax the API gives as one {rate, amount, …} or as a list of them (one per VAT rate)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return [value] if isinstance(value, dict) else []


def _address(address: dict[str, Any]) -> str:
    parts = [address.get("company"), address.get("name"),
             f"{address.get('street', '')} {address.get('number', '')}".strip(),
             f"{address.get('zipcode', '')} {address.get('city', '')}".strip(), address.get("country_code")]
    return "<p>" + "<br>".join(escape(str(part)) for part in parts if part) + "</p>"


def _facts(rows: Iterable[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><th>{escape(name)}</th><td>{_cell(value)}</td></tr>" for name, value in rows)
    return f"<table>{cells}</table>"


def _table(heads: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    if not rows:
        return "<p>(geen)</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{escape(title)} · beheer (sandbox)'
        f"</title></head><body><p><em>MijnWebwinkel-sandbox · beheer · alleen lezen</em></p>"
        f"<h1>{escape(title)}</h1>{body}</body></html>", status_code=status)


def _not_found(why: str) -> HTMLResponse:
    return _page("Niet gevonden", f"<p>{escape(why)}</p>", status=404)
