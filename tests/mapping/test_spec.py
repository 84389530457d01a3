import pytest
from pydantic import ValidationError

from koppel.mapping import FieldMap, MapSpec, TransformStep


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


def test_a_table_outside_the_catalogue_takes_any_field():
    spec = MapSpec.model_validate(
        {"name": "m", "target": "CUSTOM", "fields": [{"target": "X_1", "const": 1}]}
    )
    assert spec.field("X_1") is not None
