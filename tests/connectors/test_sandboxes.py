"""Both sandboxes started together: one catalogue, and AccountView's warehouse delivering on a timer."""

from __future__ import annotations

import httpx

from koppel.connectors.sandboxes import start_sandboxes


def test_both_sandboxes_share_the_catalogue_and_the_warehouse_timer_stops_with_them() -> None:
    with start_sandboxes(seed=2, articles=16, orders=10, categories=4, deliver_every=30) as boxes:
        books = {r["ART_CODE"] for r in boxes.books.rows("ARTICLE")}
        shop = {a["sku"] for a in boxes.shop.state.articles.values()}
        simple = {code for code in books if code.startswith("KP-")}  # how the shop holds variants is its own
        assert simple and simple <= shop and "SHIRT-0001-ROOD-S" in books
        assert boxes.books.auto_delivery == 30
    assert boxes.books.auto_delivery is None


def test_the_description_gives_the_shops_back_office_pages_that_open_a_record() -> None:
    """`koppel sandbox` shows them (not only --json): a connection's admin_article_url and admin_order_url, whose
    pattern filled in opens the sandbox's page of that article and order."""
    with start_sandboxes(seed=2, articles=4, orders=3, categories=2) as boxes:
        described = dict((name.strip(), value) for name, value in boxes.describe())
        shop = boxes.shop.info
        assert described["admin_article_url"] == shop.admin_article_url
        assert described["admin_order_url"] == shop.admin_order_url
        url_id = next(link["article_url_id"] for article in boxes.shop.state.articles.values()
                      for link in article["categories"])
        number = next(iter(boxes.shop.state.orders.values()))["number"]
        for page in (shop.admin_article_url.format(article_url_id=url_id), shop.admin_order_url.format(number=number)):
            assert page.startswith(shop.url)
            answer = httpx.get(page, timeout=5)
            assert answer.status_code == 200, (page, answer.text)
