"""Both sandboxes started together: one catalogue, and AccountView's warehouse delivering on a timer."""

from __future__ import annotations

from koppel.connectors.sandboxes import start_sandboxes


def test_both_sandboxes_share_the_catalogue_and_the_warehouse_timer_stops_with_them() -> None:
    with start_sandboxes(seed=2, articles=16, orders=10, categories=4, deliver_every=30) as boxes:
        books = {r["ART_CODE"] for r in boxes.books.rows("ARTICLE")}
        shop = {a["sku"] for a in boxes.shop.state.articles.values()}
        simple = {code for code in books if code.startswith("KP-")}  # how the shop holds variants is its own
        assert simple and simple <= shop and "SHIRT-0001-ROOD-S" in books
        assert boxes.books.auto_delivery == 30
    assert boxes.books.auto_delivery is None
