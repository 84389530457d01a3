"""Stock as the sandbox models it, per article, under the profile's field names:

- technical (`QTY_TECH`): what is physically in the warehouse;
- available (`QTY_AVAIL`): what AccountView counts as available; the seed sets it equal to technical;
- reserved (`QTY_RSRV`): raised by every new sales-order line, lowered when the order is delivered;
- free (`QTY_FREE2`): available − reserved, kept up to date by the sandbox on every change.

Delivering a sales order (or invoicing one not yet delivered) lowers reservation, available and technical
stock together by its lines' quantities. None of this moves the article's change date (`CNG_DATE`): in
AccountView stock moves through transactions, not through edits of the article [assumed; issue 11 says so].
What these fields mean exactly in AccountView is not public (NOTES §10.3): these are our assumptions,
listed in the sandbox README ("Stock").
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import structlog

from koppel.connectors.accountview.sandbox.errors import ApiError

if TYPE_CHECKING:
    from koppel.connectors.accountview.sandbox.state import Row, Sandbox

FIGURES = ("available", "reserved", "technical")
log = structlog.get_logger(__name__)


def number(value: Any) -> float:
    """A stock figure for arithmetic; what is no number (bad data put in on purpose) counts as 0."""
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def fields(sandbox: Sandbox) -> dict[str, str]:
    """Stock figure → the ARTICLE field holding it under the sandbox's profile."""
    profile = sandbox.profile
    return {
        "available": profile.article_available_field,
        "reserved": profile.article_reserved_field,
        "technical": profile.article_technical_field,
        "free": profile.article_free_field,
        "managed": profile.article_stock_managed_field,
    }


def refresh_free(sandbox: Sandbox, article: Row) -> None:
    named = fields(sandbox)
    article[named["free"]] = round(number(article.get(named["available"])) - number(article.get(named["reserved"])), 3)


def reserve(sandbox: Sandbox, code: str, quantity: float) -> None:
    """A new sales-order line reserves its quantity (called inside a write, under the lock)."""
    article = sandbox.tables["ARTICLE"].get(code)
    if article is None:
        return
    reserved = fields(sandbox)["reserved"]
    article[reserved] = round(number(article.get(reserved)) + quantity, 3)
    refresh_free(sandbox, article)


def set_stock(sandbox: Sandbox, code: str, **figures: Any) -> Row:
    """Change stock figures of one article (`available`, `reserved`, `technical`: numbers; `managed`: bool)
    as a stock transaction would: the change date stays. Free stock follows. Unknown article → 404."""
    named = fields(sandbox)
    unknown = set(figures) - {*FIGURES, "managed"}
    if unknown:
        raise ApiError(f"unknown stock figure(s) {', '.join(sorted(unknown))}; known: {', '.join(FIGURES)}, managed")
    with sandbox.lock:
        article = _article(sandbox, code)
        for name, value in figures.items():
            if value is None:
                continue
            if name == "managed":
                article[named["managed"]] = bool(value)
            else:
                article[named[name]] = round(float(value), 3)
        refresh_free(sandbox, article)
        sandbox.changed()
        return dict(article)


def deliver(sandbox: Sandbox, order_number: str) -> dict[str, Any]:
    """The sales order is delivered: each line's quantity leaves the reservation and the available and
    technical stock. Delivering twice is refused (409)."""
    with sandbox.lock:
        header = _order(sandbox, order_number)
        if sandbox.order_status.get(order_number):
            raise ApiError(f"sales order {order_number} is already {sandbox.order_status[order_number]}", status=409)
        named = fields(sandbox)
        moved: dict[str, float] = {}
        for line in sandbox.details_of("SO_LINE", header):
            article = sandbox.tables["ARTICLE"].get(line["ART_CODE"])
            quantity = number(line.get("ORD_QTY"))
            if article is None:
                continue
            article[named["reserved"]] = round(max(0.0, number(article.get(named["reserved"])) - quantity), 3)
            for figure in ("available", "technical"):
                article[named[figure]] = round(number(article.get(named[figure])) - quantity, 3)
            refresh_free(sandbox, article)
            moved[line["ART_CODE"]] = moved.get(line["ART_CODE"], 0.0) + quantity
        sandbox.order_status[order_number] = "delivered"
        sandbox.changed()
        return {"order": order_number, "status": "delivered", "delivered": moved}


def invoice(sandbox: Sandbox, order_number: str) -> dict[str, Any]:
    """The sales order is invoiced: delivered first if it was not (AccountView books the stock out with the
    invoice then); invoicing twice is refused (409)."""
    with sandbox.lock:
        status = sandbox.order_status.get(order_number)
        if status == "invoiced":
            raise ApiError(f"sales order {order_number} is already invoiced", status=409)
        answer = deliver(sandbox, order_number) if status is None else {"order": order_number, "delivered": {}}
        sandbox.order_status[order_number] = "invoiced"
        return {**answer, "status": "invoiced"}


def open_orders(sandbox: Sandbox) -> Iterator[str]:
    """Numbers of sales orders neither delivered nor invoiced, oldest first."""
    key = sandbox.schema.keys["SO_HDR"]
    with sandbox.lock:
        numbers = [str(r[key]) for r in sandbox.tables["SO_HDR"].values()]
    return (n for n in numbers if n not in sandbox.order_status)


def _article(sandbox: Sandbox, code: str) -> Row:
    article = sandbox.tables["ARTICLE"].get(code.strip().upper()) or sandbox.tables["ARTICLE"].get(code)
    if article is None:
        raise ApiError(f"article {code!r} does not exist", status=404)
    return article


def _order(sandbox: Sandbox, number: str) -> Row:
    header = sandbox.tables["SO_HDR"].get(number)
    if header is None:
        raise ApiError(f"sales order {number!r} does not exist", status=404)
    return header


class Deliverer:
    """The demo's warehouse: a thread delivering the oldest open sales order every so many seconds."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.every: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, every: float | None) -> None:
        """(Re)start with this interval; None stops."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.every = every
        if every is None:
            return
        if every <= 0:
            raise ApiError("the delivery interval must be more than 0 seconds")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every, self._stop), name="sandbox-deliverer",
                                        daemon=True)
        self._thread.start()

    def _run(self, every: float, stop: threading.Event) -> None:
        while not stop.wait(every):
            number = next(open_orders(self.sandbox), None)
            if number is None:
                continue
            try:  # someone may have delivered it since: then the next tick takes the next one
                log.info("sandbox.delivered", order=number, articles=deliver(self.sandbox, number)["delivered"])
            except ApiError:
                continue
