"""From the demo's own setup (`koppel demo`'s `prepare`: both sandboxes, the demo integration applied), the links
a record's page builds (`remote_pages.pages_of`; an article's url id looked up in the shop) open the shop
sandbox's back-office pages and show the record, instead of www.mijnwebwinkel.nl, which knows no sandbox record."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from koppel.core.integrations.models import Integration
from koppel.demo import INTEGRATION, DemoWorld, prepare
from koppel.sync import remote_pages
from koppel.sync.remote_pages import RemotePage

pytestmark = pytest.mark.django_db(transaction=True)  # the demo saves AccountView tokens at once


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoWorld]:
    world = prepare(tmp_path, orders=12, articles=12)
    yield world
    world.sandboxes.stop()


def shop_page(entity: str, key: str, target_key: str = "") -> RemotePage:
    integration = Integration.objects.get(name=INTEGRATION)
    [page] = [p for p in remote_pages.pages_of(integration, entity, key, target_key) if p.system == remote_pages.SHOP]
    return remote_pages.look_up(integration, page)


def test_an_orders_link_opens_the_order_in_the_shop_sandbox(demo: DemoWorld) -> None:
    shop = demo.sandboxes.shop
    number = next(str(o["number"]) for o in shop.state.orders.values() if not str(o["number"]).startswith("T"))

    page = shop_page("order", number, "SO-1")

    assert page.url == f"{shop.info.url}/beheer/order/view?orderNumber={number}"
    answer = httpx.get(page.url, timeout=5)
    assert answer.status_code == 200 and f"Bestelling {number}" in answer.text


def test_an_order_number_the_query_string_would_cut_arrives_whole(demo: DemoWorld) -> None:
    shop = demo.sandboxes.shop
    odd = copy.deepcopy(next(iter(shop.state.orders.values())))
    odd.pop("uuid", None)
    odd["number"] = "W-7 & co#2"
    shop.add_order(odd)

    answer = httpx.get(shop_page("order", "W-7 & co#2").url, timeout=5)

    assert answer.status_code == 200 and "Bestelling W-7 &amp; co#2" in answer.text


def test_a_products_and_a_stock_records_link_open_the_article_in_the_shop_sandbox(demo: DemoWorld) -> None:
    shop = demo.sandboxes.shop
    article = next(a for a in shop.state.articles.values() if a["variants"] and a["categories"])
    variant = article["variants"][0]

    for entity, target in (("product", str(article["id"])), ("stock", f"{article['id']}/{variant['id']}")):
        page = shop_page(entity, article["sku"], target)
        assert page.url.startswith(f"{shop.info.url}/beheer/article/edit?categoryArticleId="), entity
        answer = httpx.get(page.url, timeout=5)
        assert answer.status_code == 200 and article["sku"] in answer.text, entity
        assert f"<td>{variant['id']}</td>" in answer.text


def test_a_record_the_shop_no_longer_has_links_to_a_page_that_says_so(demo: DemoWorld) -> None:
    shop = demo.sandboxes.shop
    number = str(next(iter(shop.state.orders.values()))["number"])
    page = shop_page("order", number)
    with shop.state.lock:
        del shop.state.orders[number]

    answer = httpx.get(page.url, timeout=5)

    assert answer.status_code == 404 and number in answer.text
