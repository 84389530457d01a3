"""Features without a map: the products settings' table of the shop's article fields (AccountView field → shop
article field, visible or not) fills them through the article map, against both sandboxes; an override of the
same field in the map still wins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from koppel.flows.products_settings import ProductsSettings
from tests.flows.products_world import ProductsWorld, start_products_world

FEATURES = [{"field": "cnt_orig", "name": "Land van herkomst"},
            {"field": "ART_UNIT", "name": "Eenheid", "visible": False}]


@pytest.fixture
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=12)
    yield world
    world.stop()


def test_the_settings_features_fill_the_shops_article_fields_visible_or_not(world: ProductsWorld) -> None:
    summary = world.sync(features=FEATURES)
    assert summary.counts["needs_attention"] == 0, summary.parked
    with world.books_sandbox.state.lock:
        origin = world.books_sandbox.state.tables["ARTICLE"]["KP-001-00001"]["CNT_ORIG"]
    extra = world.shop_article("KP-001-00001")["extra"]
    assert origin and extra["visible"]["Land van herkomst"] == origin
    assert extra["invisible"]["Eenheid"] == "ST" and "Eenheid" not in extra["visible"]
    assert extra["invisible"]["barcode"]  # the EAN stays where the flow puts it

    # a feature is descriptive: without the update-product-info switch the shop's own value stays
    world.change("KP-001-00001", CNT_ORIG="PT")
    world.sync(features=FEATURES)
    assert world.shop_article("KP-001-00001")["extra"]["visible"]["Land van herkomst"] == origin
    world.change("KP-001-00001", CNT_ORIG="IT")
    world.sync(features=FEATURES, update_product_info=True)
    assert world.shop_article("KP-001-00001")["extra"]["visible"]["Land van herkomst"] == "IT"


def test_a_feature_added_to_the_settings_reaches_articles_already_in_the_shop(world: ProductsWorld) -> None:
    world.sync()
    assert "Land van herkomst" not in (world.shop_article("KP-001-00002")["extra"].get("visible") or {})
    summary = world.sync(features=FEATURES[:1], update_product_info=True)
    assert summary.counts["needs_attention"] == 0, summary.parked
    with world.books_sandbox.state.lock:
        origin = world.books_sandbox.state.tables["ARTICLE"]["KP-001-00002"]["CNT_ORIG"]
    assert world.shop_article("KP-001-00002")["extra"]["visible"]["Land van herkomst"] == origin


def test_an_override_of_the_same_field_wins_over_the_settings(world: ProductsWorld) -> None:
    from koppel.flows.products import PRODUCTS, ProductsFlow
    from koppel.sync.runner import run_here

    settings = ProductsSettings.model_validate({"features": FEATURES[:1]})
    overrides = {"av_article_to_mww_article": {"fields": {"extra.visible.Land van herkomst": {"const": "NL"}}}}
    flow = ProductsFlow(world.shop, world.books, settings, world.links, mapping_overrides=overrides)
    run_here(PRODUCTS, flow, world.links, wait=0.01)
    assert world.shop_article("KP-001-00001")["extra"]["visible"]["Land van herkomst"] == "NL"


def test_features_refuse_the_built_in_fields_and_a_name_used_twice() -> None:
    with pytest.raises(ValidationError, match="EAN's or the weight's"):
        ProductsSettings.model_validate({"features": [{"field": "X", "name": "Barcode"}]})
    with pytest.raises(ValidationError, match="its own shop article field name"):
        ProductsSettings.model_validate({"features": [{"field": "X", "name": "Kleur"},
                                                      {"field": "Y", "name": "kleur"}]})
