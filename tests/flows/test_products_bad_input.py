"""Bad AccountView articles: each goes through correctly or parks with a reason naming the article and the
field, and the rest of the run goes on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from koppel.connectors.accountview.sandbox.articles import add_bad_articles
from tests.flows.products_world import ProductsWorld, start_products_world

# case → (the unit that parks, what its reason must name); None: the article goes through
PARKS: dict[str, tuple[str, tuple[str, ...]] | None] = {
    "missing_code": ("(no code)", ("ART_CODE", "Testartikel missing_code")),
    "duplicate_code": ("KP-001-00001", ("ART_CODE", "KP-001-00001", "kp-001-00001")),
    "duplicate_ean": ("BAD-DUPLICATE-EAN", ("BAR_CODE", "is also on article KP-001-")),
    "invalid_ean": ("BAD-INVALID-EAN", ("barcode", "article.ean", "check digit")),
    "long_name": ("BAD-LONG-NAME", ("name", "article.description", "150")),
    "negative_price": ("BAD-NEGATIVE-PRICE", ("price.default", "article.price", "below 0")),
    "absurd_price": ("BAD-ABSURD-PRICE", ("price.default", "article.price", "above 1000000")),
    "not_an_image": ("BAD-NOT-AN-IMAGE", ("IMG_M_DATA", "not an image")),
    "undecodable_image": ("BAD-UNDECODABLE-IMAG", ("IMG_M_DATA",)),
    "huge_image": ("BAD-HUGE-IMAGE", ("IMG_M_DATA", "BAD-HUGE-IMAGE")),
    "variant_missing_size": ("{group}", ("{group}-3", "Maat", "ART_SIZE")),
    "variant_duplicate": ("{group}", ("{group}-1", "{group}-3", "share the combination")),
    "stock_empty": None,
    "stock_text": None,
    "stock_absurd": None,
}


@pytest.fixture(scope="module")
def bad_run() -> Iterator[tuple[ProductsWorld, dict[str, list[str]], object]]:
    world = start_products_world(articles=60)
    made = add_bad_articles(world.books_sandbox.state, list(PARKS))
    summary = world.sync()
    yield world, made, summary
    world.stop()


@pytest.mark.parametrize("case", sorted(PARKS))
def test_a_bad_article_parks_naming_article_and_field_or_goes_through(bad_run, case: str) -> None:  # type: ignore[no-untyped-def]
    world, made, summary = bad_run
    expected = PARKS[case]
    if expected is None:
        code = made[case][0]
        result = next(r for r in summary.results if r.key == code)
        assert result.outcome == "sent", result.reason
        return
    group = made[case][0].rsplit("-", 1)[0]
    key, words = expected[0].format(group=group), [w.format(group=group) for w in expected[1]]
    result = next((r for r in summary.results if r.key == key), None)
    assert result is not None, f"no unit {key}: {[r.key for r in summary.results if r.outcome != 'sent']}"
    assert result.outcome == "needs_attention", result.reason
    for word in words:
        assert word in result.reason, result.reason


def test_the_rest_of_the_run_goes_on(bad_run) -> None:  # type: ignore[no-untyped-def]
    world, _, summary = bad_run
    assert summary.counts["sent"] >= 55 and not summary.error
    assert world.shop_article("SHIRT-0001")["variants"]
    parked = {r.key for r in summary.parked}
    assert not any(a.get("sku") in parked for a in world.shop_articles())  # a parked product left nothing behind
