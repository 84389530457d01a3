import pytest
from pydantic import ValidationError

from koppel.mapping import (
    FieldMap,
    MappingError,
    MapSpec,
    TargetField,
    TransformStep,
    apply_map,
    register_dictionary,
    targets,
)


def test_a_transform_may_be_written_as_its_name():
    field = FieldMap.model_validate({"target": "CITY", "source": "a.city", "transforms": ["trim"]})
    assert field.transforms == [TransformStep(name="trim")]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"target": "CITY"}, "needs exactly one of source, const or expr"),
        ({"target": "CITY", "source": "a", "const": "x"}, "needs exactly one of source, const or expr"),
        ({"target": "CITY", "source": "a..b"}, "bad source path"),
        ({"target": "CITY", "expr": "a.("}, "does not parse"),
        ({"target": "CITY", "source": "a", "transforms": ["titlecase"]}, "unknown transform 'titlecase'"),
        (
            {"target": "CITY", "source": "a", "transforms": [{"name": "truncate"}]},
            "argument length: Field required",
        ),
        ({"target": "CITY", "source": "a", "colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_field_maps_are_checked(field, message):
    with pytest.raises(ValidationError, match=message):
        FieldMap.model_validate(field)


def test_a_constant_may_be_null_or_false():
    assert FieldMap.model_validate({"target": "DD_ACT", "const": False}).const is False
    assert FieldMap.model_validate({"target": "DD_ACT", "const": None}).origin == "a constant"


def test_target_fields_must_exist_in_the_table():
    with pytest.raises(ValidationError, match="CONTACT has no field 'ACCT_NAAM'"):
        MapSpec.model_validate(
            {"name": "m", "target": "CONTACT", "fields": [{"target": "ACCT_NAAM", "const": "x"}]}
        )


def test_a_target_field_is_filled_once():
    fields = [{"target": "CITY", "const": "Oss"}, {"target": "CITY", "const": "Utrecht"}]
    with pytest.raises(ValidationError, match="fills target field 'CITY' twice"):
        MapSpec.model_validate({"name": "m", "target": "CONTACT", "fields": fields})


def test_a_table_the_target_system_does_not_have_is_refused():
    with pytest.raises(ValidationError, match="accountview has no table 'CUSTOM'"):
        MapSpec.model_validate({"name": "m", "target": "CUSTOM", "fields": [{"target": "X_1", "const": 1}]})


def test_a_target_system_without_a_dictionary_is_refused():
    with pytest.raises(ValidationError, match="unknown target system 'exact'"):
        MapSpec.model_validate({"name": "m", "system": "exact", "target": "CONTACT", "fields": []})


def test_another_system_is_checked_against_its_own_dictionary(monkeypatch):
    monkeypatch.setattr(targets, "_DICTIONARIES", dict(targets._DICTIONARIES))
    fields = {"name": TargetField(system="shop", table="product", name="name", kind="text", max_length=5)}
    register_dictionary("shop", lambda table: fields if table == "product" else None)
    spec = MapSpec.model_validate(
        {"name": "m", "system": "shop", "target": "product", "fields": [{"target": "name", "source": "a"}]}
    )
    with pytest.raises(MappingError, match="'Lantaarn' is 8 characters; shop allows 5"):
        apply_map(spec, {"a": "Lantaarn"})
    with pytest.raises(ValidationError, match="product has no field 'title'"):
        MapSpec.model_validate(
            {"name": "m", "system": "shop", "target": "product", "fields": [{"target": "title", "const": "x"}]}
        )
