"""The client over real HTTP against the sandbox, for every operation, with the quirk switches at their
defaults, all off and all on (the `quirky_client` fixture)."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.models import (
    ArticleCategoryInput,
    ArticleExtraInput,
    ArticleInput,
    ArticleListInput,
    ArticlePriceInput,
    CategoryInput,
    CategorySortingInput,
    ImageInput,
    ListOptionCreate,
    ListOptionInput,
    Order,
)
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox
from koppel.connectors.sandbox_catalogue import catalogue, is_valid_ean13
from koppel.errors import NeedsAttention

PNG = b"\x89PNG\r\n\x1a\n"  # the signature is what the shop checks; the rest may be anything here


def _new_article(client: MijnWebwinkelClient, **changes: Any) -> int:
    category = next(iter(client.iter_categories())).id
    body = ArticleInput(
        name="Testartikel",
        sku="TEST-1",
        categories=[ArticleCategoryInput(category_id=category, is_main=True, is_active=True)],
        price=ArticlePriceInput(default=Decimal("12.10")),
        **changes,
    )
    return client.create_article(body).id


def test_store(quirky_client: MijnWebwinkelClient) -> None:
    store = quirky_client.store()
    assert store.prices_include_tax is True
    assert store.currency == "EUR"
    assert "nl_NL" in store.active_languages


def test_orders_list_count_and_decoding(quirky_client: MijnWebwinkelClient) -> None:
    orders = list(quirky_client.iter_orders())
    assert len(orders) == quirky_client.count_orders()
    assert all(not o.is_test for o in orders)
    with_tests = list(quirky_client.iter_orders(include_test=True))
    assert len(with_tests) == quirky_client.count_orders(include_test=True) > len(orders)
    for order in with_tests:
        assert isinstance(order.number, str)
        assert sum((line.amount_incl for line in order.orderlines), Decimal(0)) == order.total
        assert order.customer.email
        assert order.billing_address.country_code in {"NL", "BE", "DE"}


def test_order_filters(quirky_client: MijnWebwinkelClient) -> None:
    paid = list(quirky_client.iter_orders(statuses=[3]))
    assert paid and {o.status for o in paid} == {3}
    several = list(quirky_client.iter_orders(statuses=[2, 3]))
    assert quirky_client.count_orders(statuses=[2, 3]) == len(several)
    first = paid[0]
    same_day = list(quirky_client.iter_orders(created_since=first.date, created_until=first.date))
    assert first.number in {o.number for o in same_day}
    assert all(o.date == first.date for o in same_day)
    changed = first.status_changed_at
    assert changed is not None
    since = list(quirky_client.iter_orders(changed_since=changed))
    assert first.number in {o.number for o in since}
    assert all(o.status_changed_at is not None and o.status_changed_at >= changed for o in since)
    mine = list(quirky_client.iter_orders(debtor_email=first.customer.email))
    assert mine and all(o.customer.email == first.customer.email for o in mine)
    archived = list(quirky_client.iter_orders(archived=True))
    assert archived and all(o.archived for o in archived)
    newest_first = list(quirky_client.iter_orders(ordering="desc"))
    assert [o.number for o in newest_first] == [o.number for o in reversed(list(quirky_client.iter_orders()))]


def test_get_order_and_test_order(quirky_client: MijnWebwinkelClient, sandbox: MijnWebwinkelSandbox) -> None:
    listed = {o.number for o in quirky_client.iter_orders()}  # test orders are listed only with test=true
    test_order = next(o for o in quirky_client.iter_orders(include_test=True) if o.number not in listed)
    assert test_order.number.startswith("T-") == sandbox.state.quirks.test_number_marker
    again = quirky_client.get_order(test_order.number)
    assert again.number == test_order.number
    with pytest.raises(NeedsAttention) as caught:
        quirky_client.get_order(999999)
    assert caught.value.status == 404


def test_update_order_status_archive_comment(quirky_client: MijnWebwinkelClient) -> None:
    order = next(o for o in quirky_client.iter_orders(statuses=[1]))
    updated = quirky_client.update_order(order.number, status=2, archived=True, internal_comment="PostNL: 3SABC123")
    assert (updated.status, updated.archived, updated.comments.internal) == (2, True, "PostNL: 3SABC123")
    assert updated.status_changed_at is not None and updated.status_changed_at >= order.created_at
    assert quirky_client.get_order(order.number).status == 2
    quirky_client.update_order(order.number, status=1, archived=False)
    with pytest.raises(NeedsAttention) as caught:
        quirky_client.update_order(order.number, status=99)
    assert caught.value.status == 422


def test_order_statuses(quirky_client: MijnWebwinkelClient) -> None:
    statuses = {s.status: s for s in quirky_client.order_statuses()}
    assert {1, 2, 3, 6, 10} <= set(statuses)
    assert statuses[10].credit_order and not statuses[2].credit_order


def test_articles_list_count_get(quirky_client: MijnWebwinkelClient) -> None:
    articles = list(quirky_client.iter_articles())
    assert len(articles) == quirky_client.count_articles()
    eans = [a.ean for a in articles if a.ean]
    assert eans and all(is_valid_ean13(e) for e in eans)
    assert {a.sku for a in articles} >= {item.sku for item in catalogue(7, 30)}
    assert any(a.stock is None for a in articles) and any(a.stock is not None for a in articles)
    with_variants = next(a for a in articles if a.variants)
    assert all(v.options and v.options[0].list_id == with_variants.lists[0].id for v in with_variants.variants)
    got = quirky_client.get_article(with_variants.id)
    assert got.variants == with_variants.variants
    by_url = quirky_client.get_article(got.categories[0].article_url_id or 0, use_url_id=True)
    assert by_url.id == got.id
    some = list(quirky_client.iter_articles(ids=[articles[0].id, articles[1].id]))
    assert [a.id for a in some] == [articles[0].id, articles[1].id]
    by_uuid = list(quirky_client.iter_articles(uuids=[articles[2].uuid or ""]))
    assert [a.id for a in by_uuid] == [articles[2].id]


def test_article_date_filters(quirky_client: MijnWebwinkelClient) -> None:
    articles = list(quirky_client.iter_articles())
    moment = max(
        dt.datetime.combine(a.created_date, a.created_time)
        for a in articles  # type: ignore[arg-type]
        if a.created_date and a.created_time
    )
    newest = list(quirky_client.iter_articles(created_since=moment))
    assert newest and quirky_client.count_articles(created_since=moment) == len(newest)
    assert list(quirky_client.iter_articles(changed_since=dt.datetime(2999, 1, 1))) == []


def test_create_update_delete_article(quirky_client: MijnWebwinkelClient) -> None:
    article_id = _new_article(quirky_client, stock=5, extra=ArticleExtraInput(invisible={"barcode": "8712345678906"}))
    article = quirky_client.get_article(article_id)
    assert (article.name, article.sku, article.stock, article.ean) == (
        "Testartikel",
        "TEST-1",
        5,
        "8712345678906",
    )
    assert article.price.default == Decimal("12.10")
    updated = quirky_client.update_article(article_id, ArticleInput(name="Nieuw", stock=None))
    assert (updated.name, updated.sku, updated.stock, updated.stock_managed) == (
        "Nieuw",
        "TEST-1",
        None,
        False,
    )
    assert quirky_client.set_stock(article_id, 9).stock == 9
    quirky_client.delete_article(article_id)
    with pytest.raises(NeedsAttention):
        quirky_client.get_article(article_id)


def test_create_article_needs_name_and_categories(quirky_client: MijnWebwinkelClient) -> None:
    with pytest.raises(NeedsAttention) as caught:
        quirky_client.create_article(ArticleInput(name="Zonder categorie"))
    assert caught.value.status == 422 and "categories" in str(caught.value)


def test_option_lists_and_variants(quirky_client: MijnWebwinkelClient) -> None:
    source = next(a for a in quirky_client.iter_articles() if a.lists).lists[0]
    option_list = quirky_client.get_option_list(source.id or 0)
    assert option_list.options
    article_id = _new_article(quirky_client)
    attached = quirky_client.attach_option_lists(article_id, [option_list.id or 0])
    assert len(attached.variants) == len(option_list.options)
    variant = attached.variants[0]
    after = quirky_client.set_stock(article_id, 4, variant_id=variant.id)
    assert next(v for v in after.variants if v.id == variant.id).stock == 4
    # PATCH replaces a list's options: keep only the first option.
    first = option_list.options[0].id or 0
    trimmed = quirky_client.update_article(
        article_id,
        ArticleInput(lists=[ArticleListInput(id=option_list.id or 0, options=[ListOptionInput(id=first)])]),
    )
    assert [o.id for o in trimmed.lists[0].options] == [first]
    assert len(trimmed.variants) == 1 and trimmed.variants[0].stock == 4
    grown = quirky_client.add_list_options(option_list.id or 0, [ListOptionCreate(name="XXL", price=Decimal("3.00"))])
    assert grown.options[-1].name == "XXL" and grown.options[-1].price == Decimal("3.00")
    shrunk = quirky_client.remove_list_options(option_list.id or 0, ["XXL"])
    assert "XXL" not in {o.name for o in shrunk.options}
    detached = quirky_client.detach_option_lists(article_id, [option_list.id or 0])
    assert detached.lists == [] and detached.variants == []
    quirky_client.delete_article(article_id)


def test_images_by_url_upload_and_delete(quirky_client: MijnWebwinkelClient) -> None:
    article_id = _new_article(quirky_client)
    assert quirky_client.get_article(article_id).images == []
    with_url = quirky_client.attach_image_url(article_id, "https://example.test/tote.jpg", position=1)
    assert len(with_url.images) == 1 and with_url.images[0].position == 1
    assert set(with_url.images[0].urls) == {"full", "article", "thumb"}
    image_id = quirky_client.upload_image(article_id, "tote.png", PNG + b"tote", position=2)
    images = quirky_client.get_article(article_id).images
    assert [i.id for i in images] == [with_url.images[0].id, image_id]
    # Naming every image keeps them all, whether the shop merges or replaces `images` (quirk either way);
    # positions are ranks.
    moved = quirky_client.update_article(
        article_id,
        ArticleInput(images=[ImageInput(id=with_url.images[0].id, position=5), ImageInput(id=image_id, position=1)]),
    )
    assert [(i.id, i.position) for i in moved.images] == [(image_id, 1), (with_url.images[0].id, 2)]
    quirky_client.delete_image(image_id)
    assert [i.id for i in quirky_client.get_article(article_id).images] == [with_url.images[0].id]
    assert quirky_client.delete_image(image_id) is False  # already gone: a retried delete is harmless
    assert base64.b64encode(b"x")  # the upload is JSON with base64 content (checked in the sandbox tests)
    quirky_client.delete_article(article_id)


def test_extra_fields(quirky_client: MijnWebwinkelClient) -> None:
    article_id = _new_article(quirky_client)
    article = quirky_client.set_extra_fields(article_id, {"barcode": "8712345678906", "weight": "0,25"})
    assert article.ean == "8712345678906" and article.weight == Decimal("0.25")
    visible = quirky_client.set_extra_fields(article_id, {"Materiaal": "Linnen"}, visible=True)
    assert visible.extra.visible == {"Materiaal": "Linnen"}
    removed = quirky_client.remove_extra_fields(article_id, ["barcode"])
    assert removed.ean is None and removed.extra.invisible == {"weight": "0,25"}
    quirky_client.delete_article(article_id)


def test_categories_tree_get_create_update(quirky_client: MijnWebwinkelClient) -> None:
    tree = quirky_client.category_tree()
    flat = list(quirky_client.iter_categories())
    assert len(flat) == quirky_client.count_categories()

    def walk(nodes: list) -> int:  # type: ignore[type-arg]
        return sum(1 + walk(n.leafs) for n in nodes)

    assert walk(tree) == len(flat)
    assert any(node.leafs for node in tree)
    child = next(c for c in flat if c.parent_category_id)
    assert quirky_client.get_category(child.id).parent_category_id == child.parent_category_id
    root = tree[0]
    made = quirky_client.create_category(
        CategoryInput(title="Nieuw", parent_category_id=root.id, sorting=CategorySortingInput(first=True))
    )
    assert made.parent_category_id == root.id and made.sorting and made.sorting.first
    renamed = quirky_client.update_category(made.id, CategoryInput(title="Hernoemd", hidden=True))
    assert (renamed.title, renamed.hidden) == ("Hernoemd", True)
    in_category = list(quirky_client.category_articles(flat[0].id))
    assert all(a.id for a in in_category)


def test_shipping_methods_and_tax_regions(quirky_client: MijnWebwinkelClient) -> None:
    methods = quirky_client.shipping_methods()
    assert any(m.default for m in methods)
    assert any(m.no_costs_above == Decimal("100.00") for m in methods)
    regions = quirky_client.tax_regions()
    assert regions[0].region_code == "NL" and regions[0].tax_rate == Decimal("0.21")
    assert quirky_client.tax_region("nl").overrides[0].tax_rate == Decimal("0.09")


def test_seeded_orders_cover_the_orders_flow_cases(
    quirky_client: MijnWebwinkelClient, sandbox: MijnWebwinkelSandbox
) -> None:
    orders: list[Order] = list(quirky_client.iter_orders(include_test=True))
    statuses = {s.status for s in quirky_client.order_statuses()}
    assert {o.status for o in orders} >= statuses - {1} - {2}  # 1/2 may have been changed by other tests
    numbers = {o.billing_address.number or "" for o in orders} | {o.shipping_address.number or "" for o in orders}
    assert {"12A", "12-3", "12 bis"} <= numbers
    assert {o.billing_address.country_code for o in orders} >= {"NL", "BE", "DE"}
    assert any(o.customer.company and o.customer.vat_number for o in orders)
    assert any(o.tax_strategy == "reverse_charged_vat" for o in orders)
    assert any(len({r for line in o.orderlines for r in line.vat_rates}) > 1 for o in orders)
    assert any(o.shipping_cost > 0 for o in orders) and any(o.payment_cost > 0 for o in orders)
    assert any(line.vat_rate is None for o in orders for line in o.orderlines)  # split over rates
    assert any(o.discountcode and o.lines_of("discount") for o in orders)
    assert any(
        opt.description == "Action price" and (opt.price.amount or 0) < 0
        for o in orders
        for line in o.article_lines
        for a in line.articles
        for opt in a.options
    )
    assert len(orders) > len(list(quirky_client.iter_orders()))  # test orders, listed only with test=true
    assert any(o.is_test for o in orders) == sandbox.state.quirks.test_number_marker  # "T-" is the quirk
    credits = [o for o in orders if o.is_credit]
    assert credits and all(o.total < 0 for o in credits)
    assert any(c.credited_order_number in {o.number for o in orders} for c in credits)
    emails = [o.customer.email for o in orders]
    assert any(emails.count(e) >= 3 for e in emails)
    assert any(o.debtor.address.delivery is None for o in orders)
