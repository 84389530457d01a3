"""What the products flow reads from AccountView: articles changed since a moment, in pages, only the fields
asked for, within the shop's selection; article groups; images decoded per the profile. Over real HTTP
against the sandbox."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import ArticleSelection
from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.records import product_fields
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.accountview.sandbox.articles import add_article, catalogue_values, encode_image
from koppel.connectors.accountview.sandbox.seed import seed
from koppel.connectors.accountview.sandbox.state import Sandbox
from koppel.connectors.sandbox_catalogue import catalogue, catalogue_image
from koppel.errors import NeedsAttention

from .conftest import fast_options


def _requests(client: AccountViewClient) -> list[httpx.URL]:
    """The URLs of every request the client makes from now on."""
    seen: list[httpx.URL] = []
    client.http.event_hooks["request"].append(lambda request: seen.append(request.url))
    return seen


def test_every_field_of_the_default_map_arrives_typed(client: AccountViewClient) -> None:
    items = {i.sku: i for i in catalogue(7, 30)}
    articles = {a.code: a for a in client.iter_articles()}
    assert set(articles) == set(items)
    shirt = articles["SHIRT-0001-BLAUW-L"]
    item = items[shirt.code]
    assert (shirt.description, shirt.short_description, shirt.long_description) == (
        item.name, item.short_description, item.long_description
    )
    assert shirt.price == item.price_excl and shirt.weight == item.weight and shirt.ean == item.ean
    assert (shirt.parent_code, shirt.size, shirt.colour, shirt.group_code) == ("SHIRT-0001", "L", "blauw", "SHIRTS")
    assert shirt.vat_code == "H1" and shirt.webshop and not shirt.blocked and shirt.image_name == item.image_name
    assert shirt.image is None  # image data only when asked for
    assert "IMG_M_DATA" not in shirt.row and "ARTICLE_Id" not in shirt.row and "CNT_ORIG" not in shirt.row
    assert not shirt.problems and shirt.changed_at is not None
    # a map reading a further field (a feature: country of origin) asks for it beside the default ones
    wider = next(client.iter_articles(fields=[*product_fields(client.profile), "CNT_ORIG"]))
    assert wider.row["CNT_ORIG"] == items[wider.code].origin and wider.short_description


def test_only_the_fields_asked_for_are_read(client: AccountViewClient) -> None:
    seen = _requests(client)
    article = next(client.iter_articles(fields=["ART_DESC1"]))
    asked = set(seen[-1].params["Fields"].split(","))
    # the name, plus what paging, the cursor and the selection always need
    assert asked == {"ART_CODE", "ART_DESC1", "AG_CODE", "WEB_SHOP", "REC_BLK", "CNG_DATE"}
    assert set(article.row) == asked and article.long_description == ""


def test_changed_since_reads_only_later_changes(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    later = datetime.now().replace(microsecond=0) + timedelta(days=1)
    assert list(client.iter_articles(later)) == []
    sandbox.state.clock = lambda: later + timedelta(hours=1)
    try:
        sandbox.change_article("KP-007-00003", ART_DESC1="Nieuwe naam")
        sandbox.set_stock("KP-007-00004", available=1)  # stock moves the change date not
    finally:
        sandbox.state.clock = lambda: datetime.now().replace(microsecond=0)
    changed = list(client.iter_articles(later))
    assert [(a.code, a.description) for a in changed] == [("KP-007-00003", "Nieuwe naam")]
    assert changed[0].changed_at == later + timedelta(hours=1)


def test_pages_are_read_lazily_one_at_a_time(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    articles = client.iter_articles(page_size=7)
    next(articles)
    assert sandbox.calls["read:AK1"] == 1
    assert len(list(articles)) == 29 and sandbox.calls["read:AK1"] == 5  # 7+7+7+7+2


def test_page_size_never_exceeds_the_profile_maximum(sandbox: AccountViewSandbox) -> None:
    profile = sandbox.profile.model_copy(update={"max_page_size": 10})
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as client:
        seen = _requests(client)
        assert len(list(client.iter_articles(page_size=500))) == 30
    assert {url.params["PageSize"] for url in seen} == {"10"} and len(seen) == 4


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (ArticleSelection(), 30),
        (ArticleSelection(kind="groups", groups=("shirts", "ETEN")), None),
        (ArticleSelection(kind="webshop"), 27),  # every tenth item is not for the shop
    ],
)
def test_the_selection_is_filtered_by_accountview(
    client: AccountViewClient, sandbox: AccountViewSandbox, selection: ArticleSelection, expected: int | None
) -> None:
    seen = _requests(client)
    found = list(client.iter_articles(selection=selection))
    rows = sandbox.rows("ARTICLE")
    if expected is None:
        expected = sum(1 for r in rows if r["AG_CODE"] in ("SHIRTS", "ETEN"))
        assert seen[0].params["FilterIsListOfValues1"] == "true"
    assert len(found) == expected and all(selection.matches(a) for a in found)
    assert len(seen) == 1  # AccountView filtered: one short page, nothing dropped on our side


def test_a_server_ignoring_the_filter_cannot_widen_the_selection(sandbox: AccountViewSandbox) -> None:
    profile = sandbox.profile.model_copy(update={"list_filter": "match_any"})  # groups kept by the client
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as client:
        since = datetime(2000, 1, 1)
        found = list(client.iter_articles(since, selection=ArticleSelection(kind="groups", groups=("SHIRTS",))))
    assert {a.code for a in found} == {r["ART_CODE"] for r in sandbox.rows("ARTICLE") if r["AG_CODE"] == "SHIRTS"}


def test_without_list_filters_a_full_read_ors_the_groups(sandbox: AccountViewSandbox) -> None:
    profile = sandbox.profile.model_copy(update={"list_filter": "match_any"})
    selection = ArticleSelection(kind="groups", groups=("SHIRTS", "ETEN"))
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as client:
        seen = _requests(client)
        found = list(client.iter_article_stock(selection))
    assert seen[-1].params["MatchAnyFilter"] == "true"
    assert {seen[-1].params["FilterValue1"], seen[-1].params["FilterValue2"]} == {"SHIRTS", "ETEN"}
    groups = {r["ART_CODE"]: r["AG_CODE"] for r in sandbox.rows("ARTICLE")}
    assert {s.code for s in found} == {code for code, group in groups.items() if group in ("SHIRTS", "ETEN")}


def test_a_selection_does_not_see_an_article_that_left_it(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    """Why an incremental run reads without a selection: the flag just cleared is only seen that way."""
    selection = ArticleSelection(kind="webshop")
    sandbox.change_article("KP-007-00001", WEB_SHOP=False)
    assert "KP-007-00001" not in {a.code for a in client.iter_articles(selection=selection)}
    left = next(a for a in client.iter_articles() if a.code == "KP-007-00001")
    assert not selection.matches(left)


def test_a_group_selection_needs_groups() -> None:
    with pytest.raises(ValueError, match="at least one group"):
        ArticleSelection(kind="groups")


def test_article_groups_in_one_read(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    groups = {g.code: g.description for g in client.article_groups()}
    assert groups["SHIRTS"] == "Shirts" and sandbox.calls["read:AG1"] == 1


def test_images_decode_per_the_profile(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    item = next(i for i in catalogue(7, 30) if i.image_name)
    image = client.article_image(item.sku)
    assert image is not None and image.data == catalogue_image(item) and image.name == item.image_name
    assert image.media_type == "image/png" and len(image.content_hash) == 64
    without = next(i for i in catalogue(7, 30) if not i.image_name)
    assert client.article_image(without.sku) is None and client.article_image("NO-SUCH") is None
    pages = {a.code: a for a in client.iter_articles(with_images=True, page_size=10)}
    assert pages[item.sku].image == image and pages[without.sku].image is None


def test_hex_encoded_images() -> None:
    profile = AccountViewProfile(article_image_encoding="hex")
    with AccountViewSandbox(seed=2, size=12, profile=profile) as sandbox:
        item = next(i for i in catalogue(2, 12) if i.image_name)
        assert sandbox.rows("ARTICLE", ART_CODE=item.sku)[0]["IMG_M_DATA"] == catalogue_image(item).hex()
        with sandbox.authorised_client(options=fast_options(sandbox)) as client:
            image = client.article_image(item.sku)
    assert image is not None and image.data == catalogue_image(item)


def test_image_name_as_an_object_as_s3_reads_it(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    item = next(i for i in catalogue(7, 30) if i.image_name)
    sandbox.force_values(item.sku, {"IMG_MEDIUM": {"name": "foto.jpg"}})
    image = client.article_image(item.sku)
    assert image is not None and image.name == "foto.jpg"
    assert next(a for a in client.iter_articles() if a.code == item.sku).image_name == "foto.jpg"


def test_undecodable_image_data_parks_naming_the_article(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    (code,) = sandbox.add_bad_articles(["undecodable_image"])["undecodable_image"]
    with pytest.raises(NeedsAttention) as caught:
        client.article_image(code)
    assert caught.value.field == "ARTICLE.IMG_M_DATA" and code in str(caught.value)
    listed = {a.code: a for a in client.iter_articles(with_images=True)}
    assert listed[code].image is None and "ARTICLE.IMG_M_DATA" in listed[code].problems
    assert len(listed) == 31  # the rest went on


@pytest.mark.parametrize("quirk", ["padded_strings", "single_object", "image_name_object"])
def test_product_reads_survive_the_quirks(client: AccountViewClient, sandbox: AccountViewSandbox, quirk: str) -> None:
    sandbox.quirks.update({quirk: True})
    shirt = next(a for a in client.iter_articles(page_size=1) if a.code == "SHIRT-0001-ROOD-S")
    assert shirt.parent_code == "SHIRT-0001" and shirt.size == "S" and shirt.colour == "rood"
    assert shirt.image_name == "shirt-0001-rood-s.png"
    image = client.article_image(shirt.code)
    assert image is not None and image.name == shirt.image_name and image.media_type == "image/png"
    assert {g.code for g in client.article_groups()} >= {"SHIRTS"}


def test_seeded_articles_are_what_the_write_path_stores() -> None:
    """The bulk seed skips the write path for speed: it must store exactly what that path would."""
    bulk, written = Sandbox(), Sandbox()
    seed(bulk, seed=5, size=20)
    seed(written, seed=5, size=0)
    item = catalogue(5, 20)[12]  # a variant, with an image
    values = catalogue_values(item, written.profile, technical=7)
    stored = add_article(written, values)
    seeded = bulk.get("ARTICLE", item.sku)
    assert seeded is not None
    volatile = ("INP_DATE", "CNG_DATE", "CNG_NR", "QTY_AVAIL", "QTY_TECH", "QTY_FREE2", "QTY_RSRV")
    assert {k: v for k, v in stored.items() if k not in volatile} == {
        k: v for k, v in seeded.items() if k not in volatile
    }
    assert set(stored) == set(seeded)
    assert stored["IMG_M_DATA"] == encode_image(catalogue_image(item), written.profile)
    assert base64.b64decode(stored["IMG_M_DATA"]) == catalogue_image(item)


@pytest.fixture
def big_sandbox() -> Iterator[AccountViewSandbox]:
    with AccountViewSandbox(seed=1, size=3000) as sandbox:
        yield sandbox


def test_a_listing_filters_and_sorts_once_not_per_page(big_sandbox: AccountViewSandbox) -> None:
    """Pages of one listing come from one filtered, sorted pass; a write makes the next listing fresh."""
    with big_sandbox.authorised_client(options=fast_options(big_sandbox)) as client:
        codes = [a.code for a in client.iter_articles(page_size=500)]
        assert codes == sorted(r["ART_CODE"] for r in big_sandbox.rows("ARTICLE"))
        big_sandbox.add_article({"ART_CODE": "AAA-FIRST", "ART_DESC1": "Eerste", "AG_CODE": "WONEN"})
        assert next(client.iter_articles(page_size=500)).code == "AAA-FIRST"
        with_key = client.options.model_copy(update={"paging": "last_key"})
        client.options = with_key
        assert [a.code for a in client.iter_articles(page_size=700)][1:] == codes


def test_articles_by_code_or_ean_read_the_fields_asked_for(client: AccountViewClient) -> None:
    item = next(i for i in catalogue(7, 30) if i.image_name)
    everything = client.get_articles([item.sku.lower()])[item.sku]
    assert everything.image is not None and everything.long_description == item.long_description
    seen = _requests(client)
    lean = client.get_articles([item.sku], fields=product_fields(client.profile))[item.sku]
    assert lean.image is None and lean.long_description == item.long_description and lean.parent_code == ""
    assert "IMG_M_DATA" not in seen[-1].params["Fields"]
    by_ean = client.find_articles_by_ean([item.ean], fields=["ART_DESC1"])[item.ean]
    assert by_ean.code == item.sku and set(by_ean.row) == {"ART_CODE", "ART_DESC1", "BAR_CODE"}
