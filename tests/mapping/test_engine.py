from decimal import Decimal

import pytest

from koppel.mapping import (
    InvalidOverrides,
    MappingError,
    MapSpec,
    ValueTable,
    apply_map,
    default_map_names,
    load_default_map,
    merge_overrides,
    validate_overrides,
)

SPEC = MapSpec.model_validate(
    {
        "name": "test_debtor",
        "target": "CONTACT",
        "fields": [
            {"target": "SUB_NR", "source": "context.sub_nr", "only_create": True},
            {
                "target": "ACCT_NAME",
                "source": "order.name",
                "transforms": ["trim", {"name": "truncate", "args": {"length": 40}}],
                "required": True,
            },
            {
                "target": "POST_CODE",
                "source": "order.zipcode",
                "transforms": [
                    {"name": "normalise_postcode", "args": {"country": {"path": "order.country"}}}
                ],
            },
            {
                "target": "CNT_CODE",
                "source": "order.country",
                "transforms": ["country_code"],
                "required": True,
            },
            {"target": "CITY", "source": "order.city"},
            {"target": "SRC_CODE", "const": "WEB", "only_create": True},
            {
                "target": "DISC_CODE",
                "source": "order.method",
                "transforms": [{"name": "lookup", "args": {"table": "terms"}}],
            },
            {"target": "TEL_BUS", "expr": '$replace(order.phone, /[^0-9+]/, "")'},
        ],
    }
)
TABLES = {"terms": ValueTable(entries={"ideal": "01"}, default="30")}
GOOD = {
    "order": {
        "name": " Jan Jansen ",
        "zipcode": "1234ab",
        "country": "Nederland",
        "city": "Utrecht",
        "method": "ideal",
        "phone": "06-123 456 78",
    },
    "context": {"sub_nr": "10023"},
}


def test_apply_map_builds_the_payload():
    assert apply_map(SPEC, GOOD, tables=TABLES) == {
        "SUB_NR": "10023",
        "ACCT_NAME": "Jan Jansen",
        "POST_CODE": "1234 AB",
        "CNT_CODE": "NL",
        "CITY": "Utrecht",
        "SRC_CODE": "WEB",
        "DISC_CODE": "01",
        "TEL_BUS": "0612345678",
    }


def test_update_mode_leaves_out_only_create_fields():
    payload = apply_map(SPEC, GOOD, tables=TABLES, mode="update")
    assert "SUB_NR" not in payload and "SRC_CODE" not in payload
    assert payload["ACCT_NAME"] == "Jan Jansen"


def test_empty_optional_fields_are_left_out():
    record = {"order": {**GOOD["order"], "city": "  ", "phone": None}, "context": {}}
    payload = apply_map(SPEC, record, tables=TABLES)
    assert "CITY" not in payload and "TEL_BUS" not in payload and "SUB_NR" not in payload


def test_all_problems_of_a_record_are_reported_together():
    record = {
        "order": {"name": "", "zipcode": "12345", "country": "Nederland", "method": "ideal"},
        "context": {},
    }
    record["order"]["city"] = ["Utrecht", "Zeist"]  # a path that reads two values
    with pytest.raises(MappingError) as caught:
        apply_map(SPEC, {"order": {**record["order"], "country": "Nederlandia"}}, tables=TABLES)
    error = caught.value
    assert [p.field for p in error.problems] == ["ACCT_NAME", "CNT_CODE", "CITY"]
    acct_name, cnt_code, city = error.problems
    assert acct_name.source == "order.name" and "is empty, but AccountView needs it" in acct_name.reason
    assert cnt_code.value == "Nederlandia" and cnt_code.source == "order.country"
    assert "CONTACT.CITY takes one" in city.reason
    message = str(error)
    assert message.startswith("Mapping 'test_debtor' failed (3 problems):")
    assert "CNT_CODE (from order.country) [country_code]:" in message
    assert "Correct the country in the order" in message
    assert error.field == "ACCT_NAME"


def test_values_longer_than_the_target_field_are_refused():
    record = {"order": {**GOOD["order"], "city": "Sint-Michielsgestel-aan-de-Dommel-en-Omstreken"}}
    with pytest.raises(MappingError, match="CITY .*46 characters; AccountView allows 35"):
        apply_map(SPEC, record, tables=TABLES)


def test_a_failing_expression_is_a_mapping_problem():
    spec = MapSpec.model_validate(
        {"name": "m", "target": "CONTACT", "fields": [{"target": "CITY", "expr": "order.city + 1"}]}
    )
    with pytest.raises(MappingError, match="CITY .*the expression failed"):
        apply_map(spec, GOOD)


def test_mode_is_create_or_update():
    with pytest.raises(ValueError, match="mode must be 'create' or 'update'"):
        apply_map(SPEC, GOOD, tables=TABLES, mode="upsert")  # type: ignore[arg-type]


def test_money_stays_decimal():
    spec = MapSpec.model_validate(
        {
            "name": "m",
            "target": "DJ_LINE",
            "fields": [
                {
                    "target": "AMOUNT",
                    "source": "line.amount",
                    "transforms": [{"name": "round", "args": {"places": 2}}],
                }
            ],
        }
    )
    assert apply_map(spec, {"line": {"amount": "41.239669"}}) == {"AMOUNT": Decimal("41.24")}


# -- default maps -----------------------------------------------------------------------------------------


def test_default_maps_load():
    names = default_map_names()
    assert set(names) >= {
        "mww_order_to_av_debtor_company",
        "mww_order_to_av_debtor_person",
        "mww_order_to_av_delivery_address",
        "mww_order_to_av_sales_order",
        "mww_order_line_to_av_sales_order_line",
        "mww_cost_line_to_av_sales_order_line",
        "mww_order_to_av_invoice",
        "mww_order_line_to_av_invoice_line",
    }
    for name in names:
        assert load_default_map(name).name == name


def test_load_default_map_names_the_known_maps():
    known = "av_article_group_to_mww_category, av_article_to_mww_article, mww_"
    with pytest.raises(KeyError, match=f"no default map 'orders'; known maps: {known}"):
        load_default_map("orders")


def test_load_default_map_gives_a_fresh_copy():
    load_default_map("mww_order_to_av_invoice").fields.clear()
    assert load_default_map("mww_order_to_av_invoice").fields


# -- overrides --------------------------------------------------------------------------------------------


def test_an_override_replaces_one_field():
    spec = merge_overrides(SPEC, {"fields": {"CITY": {"transforms": ["upper"]}}})
    assert apply_map(spec, GOOD, tables=TABLES)["CITY"] == "UTRECHT"
    assert spec.field("CITY").source == "order.city"  # the rest of the field stays
    assert SPEC.field("CITY").transforms == []  # the default is untouched


def test_an_override_can_change_the_origin_and_add_and_remove_fields():
    overrides = {
        "fields": {
            "SRC_CODE": {
                "source": "order.name",
                "transforms": ["trim", "upper", {"name": "truncate", "args": {"length": 10}}],
            },
            "COUNTRY": {"const": "Nederland"},
        },
        "remove": ["TEL_BUS"],
    }
    payload = apply_map(merge_overrides(SPEC, overrides), GOOD, tables=TABLES)
    assert payload["SRC_CODE"] == "JAN JANSEN"
    assert payload["COUNTRY"] == "Nederland"
    assert "TEL_BUS" not in payload


def test_overrides_are_json_round_trippable():
    spec = merge_overrides(SPEC, {"fields": {"CITY": {"transforms": ["upper"]}}})
    assert MapSpec.model_validate_json(spec.model_dump_json()) == spec


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fields": {"CITY": {"transforms": ["uppercase"]}}}, "field 'CITY': unknown transform 'uppercase'"),
        (
            {"fields": {"CITY": {"transforms": [{"name": "truncate", "args": {"lenght": 10}}]}}},
            "field 'CITY': transform 'truncate': argument length: Field required; argument lenght: Extra",
        ),
        ({"fields": {"STAD": {"source": "order.city"}}}, "CONTACT has no field 'STAD'"),
        ({"fields": {"CITY": {"sorce": "order.city"}}}, "field 'CITY': unknown attribute(s) 'sorce'"),
        ({"fields": {"CITY": {"source": "order..city"}}}, "bad source path 'order..city'"),
        ({"fields": {"CITY": {"expr": "order.("}}}, "does not parse"),
        ({"fields": {"WWW_URL": {"transforms": ["trim"]}}}, "needs exactly one of source, const or expr"),
        ({"remove": ["WWW_URL"]}, "cannot remove 'WWW_URL': the map does not fill it"),
        ({"field": {}}, "unknown key 'field'"),
        ({"fields": ["CITY"]}, "'fields' must be an object and 'remove' a list"),
    ],
)
def test_validate_overrides_names_what_is_wrong(overrides, message):
    with pytest.raises(InvalidOverrides) as caught:
        validate_overrides(SPEC, overrides)
    assert message in str(caught.value)
    assert caught.value.map_name == "test_debtor"


def test_validate_overrides_reports_every_problem():
    overrides = {
        "fields": {"CITY": {"transforms": ["uppercase"]}, "STAD": {"const": "x"}},
        "remove": ["WWW_URL"],
    }
    with pytest.raises(InvalidOverrides) as caught:
        validate_overrides(SPEC, overrides)
    assert len(caught.value.problems) == 3


def test_valid_overrides_pass():
    validate_overrides(
        load_default_map("mww_order_to_av_debtor_person"),
        {"fields": {"ACCT_NR": {"const": "1300"}, "LNG_CODE": {"const": "NL"}}},
    )
