"""Stock in the AccountView sandbox and what the stock flow reads of it: reservations from sales-order lines,
deliveries and invoices lowering reservation and stock together, stock moving without the change date, and
the client reading only stock fields in as few pages as the profile allows."""

from __future__ import annotations

import argparse
import threading
import tracemalloc
from datetime import datetime
from decimal import Decimal

import httpx
import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import ArticleSelection, SalesOrderIn, SalesOrderLineIn
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.accountview.sandbox.__main__ import build, own_arguments

from .conftest import fast_options

CODE = "KP-007-00002"


def _figures(sandbox: AccountViewSandbox, code: str = CODE) -> tuple[float, float, float, float]:
    row = sandbox.rows("ARTICLE", ART_CODE=code)[0]
    return row["QTY_AVAIL"], row["QTY_RSRV"], row["QTY_FREE2"], row["QTY_TECH"]


def _order(client: AccountViewClient, sandbox: AccountViewSandbox, ref: str, quantity: int, code: str = CODE) -> str:
    debtor = sandbox.rows("CONTACT")[0]["SUB_NR"]
    order = client.create_sales_order(
        SalesOrderIn(
            external_ref=ref,
            debtor_number=debtor,
            order_date=datetime(2026, 11, 30, 12, 0),
            lines=[SalesOrderLineIn(article_code=code, quantity=Decimal(quantity))],
        )
    )
    return order.number


def test_a_sales_order_line_reserves_and_delivery_lowers_reservation_and_stock_together(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    sandbox.set_stock(CODE, available=50, technical=50, reserved=0)
    changed_at = sandbox.rows("ARTICLE", ART_CODE=CODE)[0]["CNG_DATE"]
    number = _order(client, sandbox, "MWW-1", 3)
    assert _figures(sandbox) == (50, 3, 47, 50)
    (stock,) = [s for s in client.iter_article_stock() if s.code == CODE]
    assert (stock.available, stock.reserved, stock.free, stock.technical) == (50, 3, 47, 50)
    delivered = sandbox.deliver_sales_order(number)
    assert delivered["delivered"] == {CODE: 3.0}
    assert _figures(sandbox) == (47, 0, 47, 47)  # free stock unchanged: the goods were already promised
    assert sandbox.rows("ARTICLE", ART_CODE=CODE)[0]["CNG_DATE"] == changed_at  # stock moves, the date not
    with pytest.raises(Exception, match="already delivered"):
        sandbox.deliver_sales_order(number)
    assert sandbox.invoice_sales_order(number)["status"] == "invoiced"
    assert _figures(sandbox) == (47, 0, 47, 47)  # invoicing a delivered order moves no stock again


def test_invoicing_an_undelivered_order_delivers_it(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    sandbox.set_stock(CODE, available=10, technical=10, reserved=0)
    number = _order(client, sandbox, "MWW-2", 4)
    sandbox.invoice_sales_order(number)
    assert _figures(sandbox) == (6, 0, 6, 6)
    with pytest.raises(Exception, match="already invoiced"):
        sandbox.invoice_sales_order(number)


def test_stock_through_the_admin_surface_keeps_the_change_date(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    admin = f"{sandbox.url}/_sandbox"
    before = sandbox.rows("ARTICLE", ART_CODE=CODE)[0]["CNG_DATE"]
    answer = httpx.put(f"{admin}/stock/{CODE}", json={"available": 12, "technical": 14, "managed": False})
    assert answer.status_code == 200
    assert httpx.get(f"{admin}/stock/{CODE}").json() | {"reserved": None} == {
        "available": 12, "reserved": None, "technical": 14, "free": 12 - _figures(sandbox)[1], "managed": False,
    }
    assert sandbox.rows("ARTICLE", ART_CODE=CODE)[0]["CNG_DATE"] == before
    assert httpx.put(f"{admin}/stock/NO-SUCH", json={"available": 1}).status_code == 404
    assert httpx.put(f"{admin}/stock/{CODE}", json={"avaliable": 1}).status_code == 400
    assert httpx.put(f"{admin}/stock/{CODE}", json={"available": "veel"}).status_code == 400
    number = _order(client, sandbox, "MWW-3", 2)
    assert httpx.post(f"{admin}/sales-orders/{number}/deliver").json()["delivered"] == {CODE: 2.0}
    assert httpx.post(f"{admin}/sales-orders/{number}/deliver").status_code == 409
    assert httpx.post(f"{admin}/sales-orders/{number}/ship").status_code == 404
    assert httpx.post(f"{admin}/sales-orders/99999999/invoice").status_code == 404
    (stock,) = [s for s in client.iter_article_stock() if s.code == CODE]
    assert stock.managed is False and stock.available == 10


def test_the_timer_delivers_open_orders(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    number = _order(client, sandbox, "MWW-4", 1)
    done = threading.Event()
    try:
        assert httpx.put(f"{sandbox.url}/_sandbox/sales-orders/auto-deliver", json={"every": 0.02}).json() == {
            "every": 0.02
        }
        for _ in range(500):  # every open seeded order goes first, oldest first
            if sandbox.state.order_status.get(number) == "delivered":
                done.set()
                break
            threading.Event().wait(0.02)
    finally:
        httpx.put(f"{sandbox.url}/_sandbox/sales-orders/auto-deliver", json={"every": None})
    assert done.is_set() and sandbox.auto_delivery is None
    assert httpx.put(f"{sandbox.url}/_sandbox/sales-orders/auto-deliver", json={"every": 0}).status_code == 400


def test_stock_reads_ask_only_stock_fields_in_pages_of_the_maximum(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    seen: list[httpx.URL] = []
    client.http.event_hooks["request"].append(lambda request: seen.append(request.url))
    assert sum(1 for _ in client.iter_article_stock()) == 30
    assert [url.params["PageSize"] for url in seen] == ["1000"]  # the profile's max_page_size
    sandbox.seed(seed=3, size=250)
    profile = sandbox.profile.model_copy(update={"max_page_size": 100})
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as small_pages:
        seen.clear()
        small_pages.http.event_hooks["request"].append(lambda request: seen.append(request.url))
        stock = list(small_pages.iter_article_stock(extra_fields=["PX_SELL"]))
    reads = [url for url in seen if url.path.endswith("accountviewdata")]
    assert len(stock) == 250 and len(reads) == 3  # 100 + 100 + 50: ceil(250 / 100)
    assert set(reads[0].params["Fields"].split(",")) == {
        "ART_CODE", "QTY_AVAIL", "QTY_RSRV", "QTY_FREE2", "QTY_TECH", "STOCK_ART", "REC_BLK", "PX_SELL"
    }
    assert all(s.figures["PX_SELL"] is not None for s in stock)
    unmanaged = [s for s in stock if s.managed is False]
    assert 0 < len(unmanaged) < len(stock) / 10  # one article in 25 keeps no stock


def test_a_multiple_of_the_page_size_costs_one_empty_read_more(sandbox: AccountViewSandbox) -> None:
    sandbox.seed(seed=3, size=200)
    profile = sandbox.profile.model_copy(update={"max_page_size": 100})
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as client:
        assert sum(1 for _ in client.iter_article_stock()) == 200
    assert sandbox.calls["read:AK1"] == 3


def test_stock_of_a_selection(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    shirts = list(client.iter_article_stock(ArticleSelection(kind="groups", groups=("SHIRTS",))))
    assert {s.code for s in shirts} == {r["ART_CODE"] for r in sandbox.rows("ARTICLE") if r["AG_CODE"] == "SHIRTS"}
    webshop = list(client.iter_article_stock(ArticleSelection(kind="webshop")))
    assert len(webshop) == 27


def test_bad_stock_values_are_named_and_the_rest_goes_on(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    made = sandbox.add_bad_articles(["stock_empty", "stock_text", "stock_absurd"])
    stock = {s.code: s for s in client.iter_article_stock()}
    assert len(stock) == 33
    empty, text, absurd = (stock[made[case][0]] for case in ("stock_empty", "stock_text", "stock_absurd"))
    assert empty.available is None and not empty.problems
    assert text.available is None and text.problems == {"ARTICLE.QTY_AVAIL": "'veel' is not a number"}
    assert absurd.available == Decimal("1e12") and absurd.reserved == 0
    # an order on a stock field holding text still reserves (AccountView's arithmetic is not ours to judge)
    _order(client, sandbox, "MWW-5", 1, code=made["stock_text"][0])
    assert sandbox.rows("ARTICLE", ART_CODE=made["stock_text"][0])[0]["QTY_RSRV"] == 1


@pytest.mark.slow
def test_memory_of_a_stock_read_does_not_grow_with_the_catalogue() -> None:
    """Peak memory above the loaded sandbox, while reading all stock: the same for 4,000 and 16,000
    articles (one page at a time), measured in one run as a ratio."""
    peaks = []
    for size in (4_000, 16_000):
        with AccountViewSandbox(seed=1, size=size) as sandbox:
            with sandbox.authorised_client(options=fast_options(sandbox)) as client:
                next(client.iter_article_stock())  # token, company, first page: the steady state
                tracemalloc.start()
                baseline = tracemalloc.get_traced_memory()[0]
                count = sum(1 for _ in client.iter_article_stock())
                peaks.append(tracemalloc.get_traced_memory()[1] - baseline)
                tracemalloc.stop()
            assert count == size
    assert peaks[1] < 1.5 * peaks[0]


def test_the_runner_starts_the_warehouse_timer() -> None:
    parser = argparse.ArgumentParser()
    own_arguments(parser)
    args = parser.parse_args(["--size", "6", "--deliver-every", "45"])
    args.seed = 1  # the kit's runner adds --seed
    sandbox = build(args)
    try:
        assert sandbox.auto_delivery == 45 and sandbox.counts()["ARTICLE"] == 6
    finally:
        sandbox.stop()
    assert sandbox.auto_delivery is None
