"""Where a record lives in the systems' own screens: the shop's back office (an order, an article) and, where
the installation has one, a web address of an AccountView record. The addresses are connection settings
(`admin_order_url`, `admin_article_url`, `record_url`); an unknown one links nothing. A connection to the shop
sandbox links to the sandbox's own back-office pages (`koppel demo` sets them: `SandboxInfo.admin_order_url`).

An article's back-office address takes its `article_url_id`, which the shop holds and Koppel does not keep: it
is read from the shop once (a read only: the dry run's read-only transport), when a record's page asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from koppel.core.integrations.models import Integration
from koppel.core.integrations.settings import AccountViewSettings, MijnWebwinkelSettings
from koppel.errors import KoppelError

SHOP, BOOKS = "MijnWebwinkel", "AccountView"
# The AccountView business object of each entity's key (source or target): what `record_url` names.
ORDER_DOCUMENT = {"sales_order": "SO1", "invoice": "DJ2"}


@dataclass(frozen=True)
class RemotePage:
    system: str
    key: str
    url: str = ""            # "" while `article_id` still has to be looked up in the shop
    article_id: int | None = None


def pages_of(integration: Integration, entity: str, key: str, target_key: str) -> list[RemotePage]:
    """The record's pages in the shop and in AccountView that can be linked (some still to be looked up)."""
    shop = MijnWebwinkelSettings.model_validate(integration.shop.settings or {})
    books = AccountViewSettings.model_validate(integration.books.settings or {})
    pages: list[RemotePage] = []
    if entity == "order":
        if shop.admin_order_url:
            # A number goes into a query string: one with "&", "#" or a space must arrive whole.
            pages.append(RemotePage(SHOP, key, shop.admin_order_url.format(number=quote(key, safe=""))))
        document = ORDER_DOCUMENT.get(str(((integration.flows or {}).get("orders") or {}).get("write_as")), "SO1")
        pages += _books_page(books, document, target_key)
    elif entity in ("product", "stock"):
        pages += _books_page(books, "AK1", key)
        article = target_key.split("/", 1)[0]
        if shop.admin_article_url and article.isdigit():
            pages.append(_article_page(shop, int(article)))
    return pages


def _books_page(books: AccountViewSettings, business_object: str, key: str) -> list[RemotePage]:
    if not books.record_url or not key:
        return []
    return [RemotePage(BOOKS, key, books.record_url.format(business_object=business_object, key=key,
                                                           company_id=books.company_id))]


def _article_page(shop: MijnWebwinkelSettings, article_id: int, url_id: int | None = None) -> RemotePage:
    if "{article_url_id}" in shop.admin_article_url and url_id is None:
        return RemotePage(SHOP, str(article_id), article_id=article_id)
    return RemotePage(SHOP, str(article_id), shop.admin_article_url.format(article_id=article_id,
                                                                           article_url_id=url_id))


def look_up(integration: Integration, page: RemotePage) -> RemotePage:
    """An article's page with its address, read from the shop (the article's main category link holds its
    url id); the page as it was when the shop can't say (gone, unreachable)."""
    if page.article_id is None or page.url:
        return page
    from koppel.sync.clients import shop_client
    from koppel.sync.dry_run import ReadOnlyTransport

    shop = MijnWebwinkelSettings.model_validate(integration.shop.settings or {})
    try:
        with shop_client(integration.shop.settings, integration.shop.credentials,
                         transport=ReadOnlyTransport(SHOP)) as client:
            article = client.get_article(page.article_id)
    except (KoppelError, KeyError, ValueError):
        return page
    links: list[Any] = sorted(article.categories or [], key=lambda link: not link.is_main)
    url_id = next((link.article_url_id for link in links if link.article_url_id is not None), None)
    return page if url_id is None else _article_page(shop, page.article_id, url_id)
