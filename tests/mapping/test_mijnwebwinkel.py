"""MijnWebwinkel as a map target: its article and category fields by body path, merchant fields under
extra.*, and rows nested into the body the API takes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from koppel.mapping import InvalidOverrides, MappingError, MapSpec, load_default_map, map_record, merge_overrides
from koppel.mapping.mijnwebwinkel import nest
from koppel.mapping.targets import target_fields
from koppel.mapping.transforms import run_transform


def test_articles_take_any_merchant_field_but_no_unknown_field() -> None:
    fields = target_fields("article", "mijnwebwinkel")
    assert fields is not None and "extra.visible.Herkomst (land)" in fields and "price.default" in fields
    assert "extra.visible." not in fields and "colour" not in fields
    with pytest.raises(ValueError, match="has no field 'colour'"):
        MapSpec.model_validate({"name": "m", "system": "mijnwebwinkel", "target": "article",
                                "fields": [{"target": "colour", "const": "rood"}]})
    with pytest.raises(InvalidOverrides, match="no field 'colour'"):
        merge_overrides(load_default_map("av_article_to_mww_article"), {"fields": {"colour": {"const": "x"}}})
    assert target_fields("order", "mijnwebwinkel") is None


def test_a_mapped_row_nests_into_the_body() -> None:
    row = {"name": "Tas", "price.default": Decimal("12.10"), "extra.invisible.barcode": "1",
           "extra.visible.Maat.info": "S-XL"}
    assert nest(row) == {"name": "Tas", "price": {"default": Decimal("12.10")},
                         "extra": {"invisible": {"barcode": "1"}, "visible": {"Maat.info": "S-XL"}}}


def test_a_category_title_falls_back_to_the_group_code() -> None:
    spec = load_default_map("av_article_group_to_mww_category")
    assert map_record(spec, {"group": {"code": "WONEN", "description": " "}}).row == {"title": "WONEN",
                                                                                     "hidden": False}
    with pytest.raises(MappingError, match="150"):
        map_record(spec, {"group": {"code": "W", "description": "x" * 151}})


@pytest.mark.parametrize("ean", ["8712345678906", "87123456", "012345678905", "10012345678902", "8712 3456 78906"])
def test_gtin_takes_valid_codes(ean: str) -> None:
    assert run_transform("gtin", ean, {}, source={}, tables={}) == ean.replace(" ", "")


@pytest.mark.parametrize("ean, reason", [("8712345678907", "check digit"), ("871234567890", "check digit"),
                                         ("12345", "not an EAN"), ("87123456789O6", "not an EAN")])
def test_gtin_refuses_wrong_codes(ean: str, reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        run_transform("gtin", ean, {}, source={}, tables={})


def test_between_refuses_numbers_out_of_range() -> None:
    args = {"minimum": "0", "maximum": "100"}
    assert run_transform("between", "12.5", args, source={}, tables={}) == Decimal("12.5")
    with pytest.raises(MappingError, match="below 0"):
        run_transform("between", "-0.01", args, source={}, tables={})
    with pytest.raises(MappingError, match="above 100"):
        run_transform("between", "100.01", args, source={}, tables={})
