"""The products flow's pure rules: grouping articles into variant products, the whole-group check, prices as
base plus surcharges, the settings that refuse what can't work, and the map with the update-product-info
switch."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from koppel.connectors.accountview.models import Article
from koppel.errors import NeedsAttention
from koppel.flows.product_grouping import Grouper, Place, check_group
from koppel.flows.product_mapping import ProductMaps, is_descriptive
from koppel.flows.product_options import surcharges
from koppel.flows.products_settings import Grouping, ProductsSettings
from koppel.mapping import MappingError

PATTERN = {"rule": "code_pattern", "code_pattern": r"(?P<parent>[^-]+)-(?P<Kleur>[^-]+)-(?P<Maat>[^-]+)",
           "attributes": [{"list_name": "Kleur"}, {"list_name": "Maat"}]}


def test_a_code_pattern_reads_parent_and_options_from_the_code() -> None:
    grouper = Grouper(Grouping.model_validate(PATTERN))
    assert grouper.place({"ART_CODE": "SHIRT-RED-M"}) == Place("SHIRT", {"Kleur": "RED", "Maat": "M"}, variant=True)
    assert grouper.place({"ART_CODE": "MUG-BLUE"}) == Place("MUG-BLUE")  # no match: a simple article
    assert grouper.place({"ART_CODE": "SHIRT"}) == Place("SHIRT")  # the parent's own article


def test_a_parent_field_and_a_table_place_articles_too() -> None:
    by_field = Grouper(Grouping.model_validate({
        "rule": "parent_field", "parent_field": "art_parent",
        "attributes": [{"list_name": "Maat", "field": "art_size"}]}))
    assert by_field.place({"ART_CODE": "A1", "ART_PARENT": "a", "ART_SIZE": "XL"}) == Place("A", {"Maat": "XL"}, True)
    assert by_field.place({"ART_CODE": "A2", "ART_PARENT": ""}) == Place("A2")
    by_table = Grouper(Grouping.model_validate({
        "rule": "table", "table": {"x-1": "X", "X-2": {"parent": "X", "options": {"Maat": "L"}}},
        "attributes": [{"list_name": "Maat"}]}))
    assert by_table.place({"ART_CODE": "X-2"}) == Place("X", {"Maat": "L"}, True)
    assert by_table.place({"ART_CODE": "X-1"}) == Place("X", {"Maat": ""}, True)
    assert by_table.member_codes("X") == ["X-1", "X-2"]


@pytest.mark.parametrize("grouping, problem", [
    ({"rule": "parent_field", "attributes": [{"list_name": "Maat", "field": "S"}]}, "parent_field"),
    ({"rule": "code_pattern", "code_pattern": "(?P<kind>.+)-(?P<Maat>.+)", "attributes": [{"list_name": "Maat"}]},
     "parent"),
    ({"rule": "code_pattern", "code_pattern": "(?P<Maat>.)(?P<parent>.+)", "attributes": [{"list_name": "Maat"}]},
     "start with the parent group"),
    ({"rule": "code_pattern", "code_pattern": "(?P<parent>[", "attributes": [{"list_name": "Maat"}]},
     "not a regular expression"),
    ({"rule": "code_pattern", "code_pattern": "(?P<parent>.+)-(?P<Maat>.+)", "attributes": [{"list_name": "Kleur"}]},
     "no group of that name"),
    ({"rule": "parent_field", "parent_field": "P", "attributes": []}, "at least one attribute"),
    ({"rule": "parent_field", "parent_field": "P",
      "attributes": [{"list_name": "Maat", "field": "A"}, {"list_name": "maat", "field": "B"}]}, "own option list"),
])
def test_settings_refuse_a_grouping_that_cannot_work(grouping: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Grouping.model_validate(grouping)


def test_settings_refuse_a_loop_of_category_parents_and_groups_without_codes() -> None:
    with pytest.raises(ValidationError, match="loop"):
        ProductsSettings.model_validate({"category_parents": {"A": "B", "B": "A"}})
    with pytest.raises(ValidationError, match="select=groups"):
        ProductsSettings.model_validate({"select": "groups"})
    assert ProductsSettings.model_validate({"category_parents": {"a": "b", "b": "9001"}}).category_parents == {
        "A": "B", "B": "9001"}


def test_a_group_with_a_missing_value_or_a_shared_combination_is_refused_naming_every_variant() -> None:
    grouping = Grouping.model_validate(PATTERN)
    members = [("S-RED-M", Place("S", {"Kleur": "RED", "Maat": "M"}, True)),
               ("S-RED-M2", Place("S", {"Kleur": "red", "Maat": "M"}, True)),
               ("S-X", Place("S", {"Kleur": "", "Maat": "L"}, True))]
    with pytest.raises(NeedsAttention) as refused:
        check_group("S", grouping, members)
    reason = str(refused.value)
    assert "S-RED-M and S-RED-M2 share the combination" in reason
    assert "S-X has no value for Kleur (the code pattern's group Kleur)" in reason
    check_group("S", grouping, members[:1])


def test_prices_become_a_base_price_and_surcharges_per_option() -> None:
    grouping = Grouping.model_validate(PATTERN)

    def place(colour: str, size: str) -> Place:
        return Place("S", {"Kleur": colour, "Maat": size}, True)

    prices = [("a", place("RED", "M"), Decimal("20.00")), ("b", place("RED", "L"), Decimal("22.00")),
              ("c", place("BLUE", "M"), Decimal("21.00")), ("d", place("BLUE", "L"), Decimal("23.00"))]
    base, extra, rounded = surcharges("S", grouping, prices)
    assert base == Decimal("20.00") and rounded == []
    assert extra == {("Kleur", "RED"): 0, ("Kleur", "BLUE"): 1, ("Maat", "M"): 0, ("Maat", "L"): 2}
    off_by_a_cent = [*prices[:3], ("d", place("BLUE", "L"), Decimal("23.01"))]
    assert surcharges("S", grouping, off_by_a_cent)[2] == ["d"]
    not_additive = [*prices[:3], ("d", place("BLUE", "L"), Decimal("30.00"))]
    with pytest.raises(NeedsAttention, match=r"d \(30.00\)"):
        surcharges("S", grouping, not_additive)


def article(**values: object) -> Article:
    base = {"code": "KP-1", "description": "Linnen tas", "price": Decimal("10.00"), "vat_code": "H1",
            "ean": "8712345678906", "long_description": "Lang", "short_description": "Kort", "available": 5}
    return Article.model_validate(base | values)


def maps(**settings: object) -> ProductMaps:
    return ProductMaps(ProductsSettings.model_validate(settings), prices_include_tax=True,
                       vat_rates={"H1": Decimal("21"), "N0": Decimal("0")})


def test_the_default_map_gives_the_shop_article() -> None:
    row = maps().article(article(), sku="KP-1", variant_product=False, mode="create").row
    assert row["name"] == "Linnen tas" and row["sku"] == "KP-1" and row["description"] == "Lang"
    assert row["price.default"] == Decimal("12.10") and row["taxable"] is True
    assert row["extra.invisible.barcode"] == "8712345678906" and row["stock"] == 5
    zero = maps().article(article(vat_code="N0"), sku="KP-1", variant_product=True, mode="create").row
    assert zero["taxable"] is False and "extra.invisible.barcode" not in zero and "stock" not in zero


def test_without_the_switch_an_update_sends_no_descriptive_field() -> None:
    update = maps().article(article(), sku="KP-1", variant_product=False, mode="update").row
    assert "name" not in update and "description" not in update and "price.default" in update
    assert "stock" not in update  # only a new product starts with AccountView's stock
    switched = maps(update_product_info=True).article(article(), sku="KP-1", variant_product=False, mode="update")
    assert switched.row["name"] == "Linnen tas"
    assert is_descriptive("extra.visible.Herkomst") and not is_descriptive("extra.invisible.barcode")


def test_an_override_adds_a_feature_from_an_accountview_column() -> None:
    overrides = {"av_article_to_mww_article": {"fields": {"extra.visible.Herkomst": {"source": "fields.CNT_ORIG"}}}}
    product_maps = ProductMaps(ProductsSettings(), overrides, prices_include_tax=False, vat_rates={"H1": Decimal(21)})
    assert "CNT_ORIG" in product_maps.columns()
    row = product_maps.article(article(row={"CNT_ORIG": "PT"}), sku="KP-1", variant_product=False, mode="create").row
    assert row["extra.visible.Herkomst"] == "PT" and row["price.default"] == Decimal("10.00")


def test_an_unknown_vat_code_and_bad_values_are_named() -> None:
    with pytest.raises(NeedsAttention, match="VAT code XX"):
        maps().article(article(vat_code="XX"), sku="KP-1", variant_product=False, mode="create")
    with pytest.raises(MappingError) as refused:
        maps().article(article(ean="8712345678907", price=Decimal("-1"), description="x" * 151), sku="KP-1",
                       variant_product=False, mode="create")
    fields = {problem.field for problem in refused.value.problems}
    assert fields == {"extra.invisible.barcode", "price.default", "name"}
