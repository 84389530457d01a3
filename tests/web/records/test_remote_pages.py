"""A record's page links it into the systems' own screens: an order to the shop's back office (and to its
AccountView document where the installation has a web address for records), an article to the shop's article
page by the url id the shop holds (read from the shop sandbox when the page asks; an article the shop does not
have is not linked); an address set to "" links nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SandboxInfo, SeedSizes
from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection, Integration
from tests.web.alerts.test_views import user_in
from tests.web.records.test_views import integration_of, page, record

pytestmark = pytest.mark.django_db
ORDER_PAGE = "https://www.mijnwebwinkel.nl/beheer/order/view?orderNumber="
ARTICLE_PAGE = "https://www.mijnwebwinkel.nl/beheer/article/edit?categoryArticleId="


@pytest.fixture(scope="module")
def shop_sandbox() -> Iterator[tuple[MijnWebwinkelSandbox, SandboxInfo]]:
    sandbox = MijnWebwinkelSandbox(seed=1, sizes=SeedSizes(articles=3, orders=0))
    info = sandbox.start()
    yield sandbox, info
    sandbox.stop()


@pytest.fixture
def mine() -> Workspace:
    return Workspace.objects.create(name="kaaswinkel")


@pytest.fixture
def shop(mine: Workspace) -> Integration:
    return integration_of(mine, "kaaswinkel-shop")


def configure(connection: Connection, **settings: str) -> None:
    connection.settings = {**connection.settings, **settings}
    connection.save()


def test_an_order_links_to_the_shops_back_office_and_to_accountview_where_it_has_an_address(
        mine: Workspace, shop: Integration) -> None:
    anna = user_in(mine, "anna", role="read_only")
    order = record(shop, "1001", "sent", "sales order 5", target_key="SO-5")
    url = f"/records/w/{mine.pk}/records/{order.pk}/"
    text = page(anna, url)
    assert f'href="{ORDER_PAGE}1001"' in text
    assert "AccountView SO-5" not in text  # AccountView: no web address of a record unless one is set

    configure(shop.books, record_url="https://av.kaaswinkel.nl/{company_id}/{business_object}/{key}")
    assert 'href="https://av.kaaswinkel.nl/1/SO1/SO-5"' in page(anna, url)
    Integration.objects.filter(pk=shop.pk).update(flows={"orders": {"write_as": "invoice"}})
    assert 'href="https://av.kaaswinkel.nl/1/DJ2/SO-5"' in page(anna, url)  # an invoice is a journal page

    configure(shop.shop, admin_order_url="")
    assert ORDER_PAGE not in page(anna, url)  # "" links nothing


def test_an_article_links_to_its_page_by_the_url_id_the_shop_holds(
        mine: Workspace, shop: Integration, shop_sandbox: tuple[MijnWebwinkelSandbox, SandboxInfo]) -> None:
    sandbox, info = shop_sandbox
    shop.shop.settings = {"base_url": info.url, "rate_per_second": 50}
    shop.shop.credentials = {"token": info.token, "partner_token": info.partner_token}
    shop.shop.save()
    article = next(iter(sandbox.state.articles.values()))
    url_id = sorted(article["categories"], key=lambda link: not link.get("is_main"))[0]["article_url_id"]
    anna = user_in(mine, "anna", role="read_only")
    product = record(shop, "MOK-01", "sent", "created shop article", entity="product", target_key=str(article["id"]))

    text = page(anna, f"/records/w/{mine.pk}/records/{product.pk}/")
    assert f'hx-get="/records/w/{mine.pk}/records/{product.pk}/shop-article/"' in text  # the page does not wait
    link = page(anna, f"/records/w/{mine.pk}/records/{product.pk}/shop-article/")
    assert f'href="{ARTICLE_PAGE}{url_id}"' in link and url_id != article["id"]

    gone = record(shop, "WEG-01", "sent", entity="product", target_key="987654")
    answer = page(anna, f"/records/w/{mine.pk}/records/{gone.pk}/shop-article/")
    assert "href" not in answer and "987654" in answer  # the shop does not have it: named, not linked

    other = Workspace.objects.create(name="slagerij")
    stranger = user_in(other, "sam")
    assert stranger.get(f"/records/w/{mine.pk}/records/{product.pk}/shop-article/").status_code == 404
