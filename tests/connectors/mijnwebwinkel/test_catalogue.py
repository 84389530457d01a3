"""The client's catalogue surface for the products and stock flows, over real HTTP against the sandbox:
what it finds, what it writes, and how many calls each costs (counted by the sandbox)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.images import image_filename
from koppel.connectors.mijnwebwinkel.models import (
    ArticleCategoryInput,
    ArticleExtraInput,
    ArticleInput,
    ArticleListInput,
    ArticlePriceInput,
    CategoryInput,
    ListOptionInput,
)
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, Quirks, SeedSizes
from koppel.connectors.sandboxkit import Fault
from koppel.errors import NeedsAttention, RetryableError

from .conftest import PARTNER_TOKEN, QUIRK_MODES, TOKEN, make_client

PNG = b"\x89PNG\r\n\x1a\n"  # the signature is what the shop checks
SHOP_SIZE = 250  # three pages of 100


@pytest.fixture(scope="module")
def shop() -> Iterator[MijnWebwinkelSandbox]:
    box = MijnWebwinkelSandbox(
        seed=3, sizes=SeedSizes(categories=6, articles=SHOP_SIZE, orders=0), token=TOKEN, partner_token=PARTNER_TOKEN
    )
    box.start()
    yield box
    box.stop()


@pytest.fixture(params=list(QUIRK_MODES))
def client(request: pytest.FixtureRequest, shop: MijnWebwinkelSandbox) -> Iterator[MijnWebwinkelClient]:
    """A client with the quirk switches at their defaults, all off and all on; the call counter reset."""
    shop.state.quirks.update(QUIRK_MODES[request.param].as_json())
    shop.limits.reset_calls()
    with make_client(shop.info) as c:
        yield c
    shop.faults.clear()
    shop.state.quirks.update(Quirks().as_json())


def calls(shop: MijnWebwinkelSandbox) -> Counter[str]:
    """API calls since the last reset, by method and path without the version ("GET /articles")."""
    counted: Counter[str] = Counter()
    for route, n in shop.limits.calls_json()["by_route"].items():
        method, path = route.split(" ", 1)
        counted[f"{method} /{path.split('/', 2)[2]}"] += n
    shop.limits.reset_calls()
    return counted


def _new_article(client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox, sku: str, **fields: Any) -> int:
    category = min(shop.state.categories)
    body: dict[str, Any] = {
        "name": f"Artikel {sku}",
        "sku": sku,
        "categories": [ArticleCategoryInput(category_id=category, is_main=True, is_active=True)],
    }
    return client.create_article(ArticleInput(**{**body, **fields})).id


# ------------------------------------------------------------------------------------- finding by SKU


def test_index_finds_every_article_by_sku_and_ean_in_one_scan(
    client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox
) -> None:
    index = client.index_articles()
    assert calls(shop) == Counter({"GET /articles": 3, "GET /articles/count": 1})  # 1 + ⌈250/100⌉
    assert index.articles_read == SHOP_SIZE
    for article in shop.state.articles.values():
        extra = article["extra"]
        ean = extra["invisible"].get("barcode") or extra["visible"].get("barcode")
        assert index.article_id(sku=article["sku"].lower() + "  ") == article["id"]  # trimmed, any case
        assert index.article_id(sku="NOT-THERE", ean=ean) == article["id"]  # EAN in either bucket
    assert index.option_list_id("maat") == next(
        i for i, lst in shop.state.option_lists.items() if lst["name"] == "Maat"
    )
    assert index.option_list_id("Kleur") is None  # a list no article uses cannot be found by name


def test_wanted_keys_only_and_duplicates_named(client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox) -> None:
    first, second = sorted(shop.state.articles)[:2]
    sku = shop.state.articles[first]["sku"]
    twin = shop.add_article({"sku": sku.lower(), "name": "Tweeling", "categories": []})
    try:
        index = client.index_articles(skus=[sku], eans=[])
        assert set(index.by_sku) == {sku} and index.by_ean == {}
        with pytest.raises(NeedsAttention) as caught:
            index.article_id(sku=sku)
        assert caught.value.field == "sku" and str(first) in str(caught.value) and str(twin["id"]) in str(caught.value)
        found = client.find_articles_by_sku([sku, shop.state.articles[second]["sku"], "NOPE"])
        assert [a.id for a in found[sku]] == [first, twin["id"]]
        assert [a.id for a in found[shop.state.articles[second]["sku"]]] == [second]
        assert "NOPE" not in found
    finally:
        shop.state.remove_article(twin["id"])


def test_summaries_carry_stock_and_variants_in_every_quirk_mode(
    client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox
) -> None:
    summaries = {s.id: s for s in client.iter_article_summaries()}
    assert calls(shop)["GET /articles"] == 3
    assert set(summaries) == set(shop.state.articles)
    for article_id, article in shop.state.articles.items():
        summary = summaries[article_id]
        assert summary.stock == article["stock"] and summary.stock_managed == (article["stock"] is not None)
        assert [(v.id, v.stock) for v in summary.variants] == [(v["id"], v["stock"]) for v in article["variants"]]
        for variant in article["variants"]:  # found by its options, also when they arrive as a map
            chosen = {o["list_id"]: o["option_id"] for o in variant["options"]}
            found = summary.variant_for(chosen)
            assert found is not None and found.id == variant["id"]
    varied = next(s for s in summaries.values() if s.variants)
    assert varied.variant_for({varied.lists[0].id or 0: -1}) is None


def test_created_since_narrows_the_scan(client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox) -> None:
    article_id = _new_article(client, shop, "NIEUW-1")
    calls(shop)
    today = shop.state.clock().date()
    found = client.find_articles_by_sku(
        ["nieuw-1", shop.state.articles[min(shop.state.articles)]["sku"]], created_since=today
    )
    assert [a.id for a in found["nieuw-1"]] == [article_id] and len(found) == 1  # seeded ones are older
    assert calls(shop) == Counter({"GET /articles": 1, "GET /articles/count": 1})
    client.delete_article(article_id)


def test_get_articles_reads_a_hundred_per_call(client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox) -> None:
    ids = sorted(shop.state.articles)[:150]
    articles = client.get_articles([*ids, 999_999])
    assert [a.id for a in articles] == ids
    assert calls(shop) == Counter({"GET /articles": 2})


# ------------------------------------------------------------------------------------------- stock


def test_variant_stocks_in_one_patch_and_unlimited_only_on_the_article(
    client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox
) -> None:
    article = next(a for a in shop.state.articles.values() if len(a["variants"]) >= 3 and a["stock"] is not None)
    ids = [v["id"] for v in article["variants"]]
    updated = client.set_variant_stocks(article["id"], {ids[0]: 5, ids[1]: 0, ids[2]: 12})
    assert [v.stock for v in updated.variants][:3] == [5, 0, 12]
    assert calls(shop) == Counter({f"PATCH /articles/{article['id']}": 1})
    assert client.set_stock(article["id"], None).stock is None  # unmanaged: the article and all its variants
    assert client.set_stock(article["id"], 8).stock == 8
    if shop.state.quirks.variant_stock_unlimited:
        assert client.set_stock(article["id"], None, variant_id=ids[0]).variants[0].stock is None
    else:
        with pytest.raises(NeedsAttention) as caught:
            client.set_stock(article["id"], None, variant_id=ids[0])
        assert caught.value.field == "variants[0].stock"
        assert shop.state.articles[article["id"]]["variants"][0]["stock"] == 5  # nothing half-written
    with pytest.raises(NeedsAttention) as absurd:
        client.set_stock(article["id"], 10**12)
    assert absurd.value.field == "stock" and "out of range" in str(absurd.value)


# ---------------------------------------------------------------------------- categories, visibility


def test_our_categories_join_the_merchants_and_leave_them_alone(
    client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox
) -> None:
    merchant, ours, other = sorted(shop.state.categories)[:3]
    article_id = _new_article(client, shop, "CAT-1")
    article = client.get_article(article_id)
    url_id = article.categories[0].article_url_id
    calls(shop)
    assert client.set_categories(article, add=[ours], main=ours) is True
    assert calls(shop) == Counter({f"PATCH /articles/{article_id}": 1})
    now = client.get_article(article_id)
    assert [(c.category_id, c.is_main) for c in now.categories] == [(merchant, False), (ours, True)]
    assert now.categories[0].article_url_id == url_id  # the merchant's link is the same link
    calls(shop)
    assert client.set_categories(now, add=[ours], main=ours) is False  # unchanged: no write
    assert calls(shop) == Counter()
    assert client.set_categories(article_id, add=[other], remove=[ours], main=other) is True  # by id: GET + PATCH
    assert calls(shop) == Counter({f"GET /articles/{article_id}": 1, f"PATCH /articles/{article_id}": 1})
    assert [c.category_id for c in client.get_article(article_id).categories] == [merchant, other]
    with pytest.raises(NeedsAttention):
        client.set_categories(article_id, remove=[merchant, other])
    client.delete_article(article_id)


def test_hide_and_show(client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox) -> None:
    article_id = _new_article(client, shop, "VIS-1")
    client.set_categories(article_id, add=[max(shop.state.categories)])
    assert client.set_visible(article_id, False) is True
    hidden = client.get_article(article_id)
    assert not hidden.visible and all(c.is_active is False for c in hidden.categories)
    calls(shop)
    assert client.set_visible(hidden, False) is False and calls(shop) == Counter()
    assert client.set_categories(hidden, add=[sorted(shop.state.categories)[1]]) is True
    assert not client.get_article(article_id).visible  # a page added to a hidden article stays hidden
    assert client.set_visible(article_id, True) is True
    assert all(c.is_active for c in client.get_article(article_id).categories)
    client.delete_article(article_id)


# ---------------------------------------------------------------------------------- option lists


def test_options_found_by_name_or_added_once_with_article_prices(
    client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox
) -> None:
    made = shop.add_option_list(f"Lengte {shop.state.quirks.as_json()}", [{"name": "Kort", "price": "0"}])
    list_id = made["id"]
    calls(shop)
    grown = client.ensure_list_options(list_id, {"kort": None, "Lang": Decimal("2.50")})
    assert [(o.name, o.price) for o in grown.options] == [("Kort", Decimal("0.00")), ("Lang", Decimal("2.50"))]
    assert calls(shop) == Counter({f"GET /articlelists/{list_id}": 1, f"POST /articlelistoptions/{list_id}": 1})
    again = client.ensure_list_options(list_id, {"KORT": None, "lang": None})
    assert again == grown and calls(shop) == Counter({f"GET /articlelists/{list_id}": 1})
    # The answer to an added option is lost: read again, not added twice.
    shop.add_fault(Fault("drop_after_commit", path=f"/v1/articlelistoptions/{list_id}", method="POST", count=1))
    after = client.ensure_list_options(list_id, {"Extra lang": Decimal("4")})
    assert [o.name for o in after.options] == ["Kort", "Lang", "Extra lang"]
    options = [
        ListOptionInput(id=o.id or 0, price=Decimal("1.25") if o.name == "Lang" else None) for o in after.options
    ]
    article = client.create_article(
        ArticleInput(
            name="Broek",
            sku="BROEK-1",
            stock=3,
            categories=[ArticleCategoryInput(category_id=min(shop.state.categories), is_main=True)],
            lists=[ArticleListInput(id=list_id, options=options)],
        )
    )
    assert [o.price for o in article.lists[0].options] == [Decimal("0.00"), Decimal("1.25"), Decimal("4.00")]
    assert len(article.variants) == 3 and all(v.stock == 0 for v in article.variants)  # new variants: 0, not null
    client.delete_article(article.id)


# ------------------------------------------------------------------------------------------ images


def test_images_replaced_by_content_and_the_merchants_kept(
    client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox
) -> None:
    article_id = _new_article(client, shop, "IMG-1")
    merchant = client.attach_image_url(article_id, "https://merchant.test/sfeer.jpg", position=1).images[0]
    first = client.replace_image(article_id, "IMG-1", PNG + b"one", position=2)
    assert first == image_filename("IMG-1", PNG + b"one") and first.endswith(".png")
    calls(shop)
    assert client.replace_image(article_id, "IMG-1", PNG + b"one", previous=first) == first
    assert calls(shop) == Counter({f"GET /articles/{article_id}": 1})  # unchanged: no upload
    second = client.replace_image(article_id, "IMG-1", PNG + b"two", previous=first)
    assert second != first
    names = [i.original_name for i in client.get_article(article_id).images]
    assert names == [merchant.original_name, second]  # ours replaced, the merchant's kept
    client.delete_article(article_id)


def test_lost_upload_answer_is_found_by_file_name(client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox) -> None:
    article_id = _new_article(client, shop, "IMG-2")
    name = image_filename("IMG-2", PNG + b"x")
    shop.add_fault(Fault("drop_after_commit", path=f"/v1/articles/uploadImage/{article_id}", method="POST", count=1))
    image_id = client.upload_image(article_id, name, PNG + b"x")
    images = client.get_article(article_id).images
    assert [(i.id, i.original_name) for i in images] == [(image_id, name)]  # uploaded once
    shop.add_fault(Fault("http_status", path=f"/v1/articles/uploadImage/{article_id}", method="POST", status=429))
    with pytest.raises(RetryableError):  # refused, so not looked for
        client.upload_image(article_id, "other.png", PNG + b"y")
    client.delete_article(article_id)


def test_images_checked_before_they_travel(client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox) -> None:
    calls(shop)
    with pytest.raises(NeedsAttention) as not_image:
        client.upload_image(1, "factuur.pdf", b"%PDF-1.4 not an image")
    with pytest.raises(NeedsAttention) as too_big:
        client.upload_image(1, "groot.png", PNG + bytes(20 * 1024 * 1024))
    assert calls(shop) == Counter()  # neither was sent
    assert not_image.value.field == too_big.value.field == "image"
    assert "not an image" in str(not_image.value) and "20.0 MB" in str(too_big.value)


def test_the_shop_refuses_what_a_laxer_client_sends(shop: MijnWebwinkelSandbox) -> None:
    """A client configured for bigger images still gets the shop's 422 as NeedsAttention naming the field."""
    article_id = min(shop.state.articles)
    with make_client(shop.info, max_image_bytes=64 * 1024 * 1024) as lax, pytest.raises(NeedsAttention) as caught:
        lax.upload_image(article_id, "groot.png", PNG + bytes(11 * 1024 * 1024))
    assert caught.value.status == 422 and caught.value.field == "content" and "MB" in str(caught.value)


# -------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "x" * 256}, "name", "256 characters"),
        ({"price": ArticlePriceInput(default=Decimal("-1"))}, "price.default", "negative"),
        ({"price": ArticlePriceInput(default=Decimal("12345678"))}, "price.default", "maximum"),
        ({"extra": ArticleExtraInput(invisible={"barcode": "8712345678900"})}, "extra.invisible.barcode", "check"),
        ({"extra": ArticleExtraInput(visible={"barcode": "12345"})}, "extra.visible.barcode", "EAN"),
    ],
)
def test_bad_articles_are_refused_naming_the_field(
    shop: MijnWebwinkelSandbox, changes: dict[str, Any], field: str, words: str
) -> None:
    with make_client(shop.info) as client:
        before = len(shop.state.articles)
        with pytest.raises(NeedsAttention) as created:
            _new_article(client, shop, "BAD-1", **changes)
        assert created.value.field == field and words in str(created.value)
        assert len(shop.state.articles) == before
        article_id = min(shop.state.articles)
        with pytest.raises(NeedsAttention) as updated:
            client.update_article(article_id, ArticleInput(**changes))
        assert updated.value.field == field


def test_bad_barcode_through_the_article_fields(shop: MijnWebwinkelSandbox) -> None:
    with make_client(shop.info) as client:
        with pytest.raises(NeedsAttention) as caught:
            client.set_extra_fields(min(shop.state.articles), {"barcode": "8712345678901"}, visible=True)
        assert caught.value.field == "extra.visible.barcode"
        shop.state.rules.update({"check_barcode": False})
        try:
            article = client.set_extra_fields(min(shop.state.articles), {"barcode": "8712345678901"}, visible=True)
            assert article.extra.visible["barcode"] == "8712345678901"
        finally:
            shop.state.rules.update({"check_barcode": True})


# -------------------------------------------------------------------------------- lost category


def test_lost_answer_to_a_new_category_is_found_by_title_and_parent(
    client: MijnWebwinkelClient, shop: MijnWebwinkelSandbox
) -> None:
    parent = min(shop.state.categories)
    title = f"Groep {len(shop.state.categories)}"
    shop.add_fault(Fault("drop_after_commit", path="/v1/categories", method="POST", count=1))
    made = client.create_category(CategoryInput(title=title, parent_category_id=parent))
    same = [c for c in shop.state.categories.values() if c["title"] == title]
    assert [c["id"] for c in same] == [made.id] and made.parent_category_id == parent
