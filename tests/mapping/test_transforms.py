from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koppel.errors import NeedsAttention
from koppel.mapping import MappingError, ValueTable
from koppel.mapping.transforms import TRANSFORMS, Noted, check_step, run_transform


def refused(name, value, args=None, **kwargs) -> MappingError:
    with pytest.raises(MappingError) as caught:
        run_transform(name, value, args, **kwargs)
    return caught.value


# -- text -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "args", "expected"),
    [
        ("trim", "  Müller  en   Zn ", None, "Müller en Zn"),
        ("trim", 1042, None, "1042"),
        ("trim", 12.5, None, "12.5"),
        ("upper", "dorpsstraat", None, "DORPSSTRAAT"),
        ("lower", "Jan@Example.NL", None, "jan@example.nl"),
        (
            "truncate",
            "Brouwerij Sint-Aldegonde Ambachtelijke Bieren NV",
            {"length": 40},
            "Brouwerij Sint-Aldegonde Ambachtelijke B",
        ),
        ("truncate", "Łódź 🍺", {"length": 40}, "Łódź 🍺"),
        ("truncate", "Café de Zwaan", {"length": 5}, "Café"),  # no trailing blank after the cut
        ("max_length", "BE0123456789", {"length": 14}, "BE0123456789"),
        ("email", "  Jan.Jansen@Example.NL ", None, "jan.jansen@example.nl"),
        ("replace", "NL39 RABO 0300 0652 64", {"old": " "}, "NL39RABO0300065264"),
    ],
)
def test_text_transforms(name, value, args, expected):
    assert run_transform(name, value, args) == expected


@pytest.mark.parametrize("value", ["jan", "jan@", "jan@example", "jan jansen@example.nl", "@example.nl"])
def test_email_refuses_what_is_not_an_address(value):
    error = refused("email", value)
    assert "is not an e-mail address" in str(error)
    assert "Correct the customer's e-mail address" in str(error)
    assert error.problems[0].value == value
    assert error.problems[0].transform == "email"


def test_max_length_refuses_instead_of_cutting():
    error = refused("max_length", "a" * 45 + "@example.nl", {"length": 50})
    assert "56 characters, AccountView allows 50" in str(error)


def test_text_transform_refuses_an_object():
    assert "expected text" in str(refused("trim", {"street": "Dorpsstraat"}))


def test_empty_values_pass_through_ordinary_transforms():
    for name in ("trim", "upper", "email", "country_code", "round", "date_format"):
        args = {"format": "%Y"} if name == "date_format" else None
        assert run_transform(name, None, args) is None
        assert run_transform(name, "  ", args) is None


# -- addresses --------------------------------------------------------------------------------------------

ADDRESS = {"street": "Dorpsstraat", "number": "12-3"}


@pytest.mark.parametrize(("part", "expected"), [("street", "Dorpsstraat"), ("number", "12"), ("suffix", "3")])
def test_split_house_number_from_an_address_object(part, expected):
    assert run_transform("split_house_number", ADDRESS, {"part": part}) == expected


@pytest.mark.parametrize(
    ("value", "part", "expected"),
    [
        ("12A", "number", "12"),
        ("12A", "suffix", "A"),
        ("Hoofdstraat 12A", "street", "Hoofdstraat"),
        ("Hoofdstraat 12A", "suffix", "A"),
        ("12 bis", "suffix", "bis"),
    ],
)
def test_split_house_number_from_a_string(value, part, expected):
    assert run_transform("split_house_number", value, {"part": part}) == expected


def test_split_house_number_with_other_keys():
    address = {"straat": "Meir", "huisnummer": "12 bus 3"}
    args = {"part": "suffix", "street_key": "straat", "number_key": "huisnummer"}
    assert run_transform("split_house_number", address, args) == "bus 3"


def test_a_number_that_is_not_one_goes_as_typed_with_a_note():
    address = {"street": "Dorpsstraat", "number": "zie boven"}
    number = run_transform("split_house_number", address, {"part": "number"})
    assert isinstance(number, Noted) and number.value == ""
    assert "'zie boven' does not start with a number" in number.note
    assert run_transform("split_house_number", address, {"part": "street"}) == "Dorpsstraat"
    assert run_transform("split_house_number", address, {"part": "suffix"}) == "zie boven"


def test_a_house_number_with_a_slash():
    address = {"street": "Kanaalweg", "number": "104/12"}
    parts = [run_transform("split_house_number", address, {"part": p}) for p in ("street", "number", "suffix")]
    assert parts == ["Kanaalweg", "104", "12"]


def test_normalise_postcode_reads_the_country_from_the_record():
    record = {"address": {"zipcode": "1234ab", "country_code": "NL"}}
    args = {"country": {"path": "address.country_code"}}
    assert run_transform("normalise_postcode", "1234ab", args, source=record) == "1234 AB"


@pytest.mark.parametrize(
    ("value", "country", "expected"),
    [("1234ab", "NL", "1234 AB"), ("B-2000", "België", "2000"), ("10115", "DEU", "10115")],
)
def test_normalise_postcode_with_a_fixed_country(value, country, expected):
    assert run_transform("normalise_postcode", value, {"country": country}) == expected


def test_normalise_postcode_refuses_an_invalid_dutch_postcode_when_asked():
    error = refused("normalise_postcode", "123AB", {"country": "NL", "invalid": "refuse"})
    assert "'123AB' is not a Dutch postcode" in str(error)
    assert "Correct the postcode" in str(error)


@pytest.mark.parametrize(("postcode", "country"), [(" 123AB ", "NL"), ("7523SD", "DE"), ("7523SD", "NL")])
def test_a_postcode_that_does_not_fit_its_country_goes_as_typed_with_a_note(postcode, country):
    kept = run_transform("normalise_postcode", postcode, {"country": country})
    assert isinstance(kept, Noted) and kept.value == postcode.strip()
    assert "sent as typed" in kept.note


@pytest.mark.parametrize(("value", "expected"), [("Nederland", "NL"), ("bel", "BE"), ("de", "DE")])
def test_country_code(value, expected):
    assert run_transform("country_code", value) == expected


def test_country_code_refuses_unknown():
    assert "'Middle-earth' is not a country we know" in str(refused("country_code", "Middle-earth"))


# -- numbers and money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        ("2.675", 2, "2.68"),
        ("2.665", 2, "2.67"),
        ("-2.675", 2, "-2.68"),
        ("41.239669", 2, "41.24"),
        (2.675, 2, "2.68"),
        ("12,50", 2, "12.50"),
        (7, 2, "7.00"),
        ("20.6198345", 4, "20.6198"),
        ("0.5", 0, "1"),
    ],
)
def test_round_half_up_on_decimals(value, places, expected):
    result = run_transform("round", value, {"places": places})
    assert isinstance(result, Decimal)
    assert result == Decimal(expected) and str(result) == expected


@pytest.mark.parametrize("value", ["twaalf", "1.2.3", "NaN", "Infinity", True, {"amount": 1}])
def test_round_refuses_what_is_not_a_number(value):
    assert "number" in str(refused("round", value))


def test_money_refuses_several_values_with_advice():
    error = refused("round", [Decimal("0.19"), Decimal("0.65")])
    assert "expected one value but got 2" in str(error)
    assert "split into one line per rate" in str(error)


@pytest.mark.parametrize(
    ("name", "value", "rate", "expected"),
    [
        ("vat_incl_to_excl", "49.90", "21", "41.24"),
        ("vat_incl_to_excl", "9.75", "9.00", "8.94"),
        ("vat_incl_to_excl", "14.50", "0", "14.50"),
        ("vat_excl_to_incl", "41.239669", "21.00", "49.90"),
        ("vat_excl_to_incl", "8.944950", "9", "9.75"),
    ],
)
def test_vat_conversions(name, value, rate, expected):
    assert run_transform(name, value, {"rate": rate}) == Decimal(expected)


def test_vat_rate_read_from_the_line():
    line = {"price": {"amount_including_tax": "9.95", "rate": "21.00"}}
    result = run_transform(
        "vat_incl_to_excl", "9.95", {"rate": {"path": "price.rate"}, "places": 6}, source=line
    )
    assert result == Decimal("8.223140")


def test_vat_refuses_a_rate_that_is_not_a_percentage():
    assert "not a percentage" in str(refused("vat_incl_to_excl", "10", {"rate": "121"}))


def test_vat_refuses_a_missing_rate_in_the_record():
    error = refused("vat_incl_to_excl", "10", {"rate": {"path": "price.rate"}}, source={"price": {}})
    assert "arguments read from the record are not usable" in str(error)


@pytest.mark.parametrize(
    ("name", "value", "operand", "places", "expected"),
    [
        ("divide", "41.239669", 2, 4, "20.6198"),
        ("subtract", "49.90", "41.239669", 2, "8.66"),
        ("multiply", "1.611570", 3, None, "4.834710"),
        ("add", "0.1", "0.2", None, "0.3"),
    ],
)
def test_arithmetic_is_decimal(name, value, operand, places, expected):
    result = run_transform(name, value, {"value": operand, "places": places})
    assert result == Decimal(expected) and isinstance(result, Decimal)


def test_divide_by_zero_is_refused():
    assert "division by zero" in str(refused("divide", "10", {"value": 0}))


MONEY = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("1000000"), places=2)
RATES = st.sampled_from([Decimal(r) for r in ("0", "6", "9", "12", "19", "21", "27")]) | st.decimals(
    min_value=Decimal("0"), max_value=Decimal("30"), places=2
)


@given(MONEY, RATES)
def test_incl_to_excl_to_incl_round_trips_within_a_cent(incl, rate):
    excl = run_transform("vat_incl_to_excl", incl, {"rate": rate})
    back = run_transform("vat_excl_to_incl", excl, {"rate": rate})
    assert isinstance(excl, Decimal) and isinstance(back, Decimal)
    assert abs(back - incl) <= Decimal("0.01")


@given(
    st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=6),
    st.integers(min_value=0, max_value=4),
)
def test_round_is_exact_decimal_half_up(value, places):
    result = run_transform("round", str(value), {"places": places})
    step = Decimal(1).scaleb(-places)
    # exact: never more than half a step away, and a tie goes away from zero
    assert abs(result - value) <= step / 2
    if abs(result - value) == step / 2:
        assert abs(result) > abs(value)
    assert result == result.quantize(step)


@given(st.integers(min_value=0, max_value=10**9))
def test_round_of_cents_ending_in_five_never_suffers_float_error(cents_times_ten):
    # x.xx5 exactly: binary floats get these wrong (2.675 → 2.67), Decimal must not
    value = Decimal(cents_times_ten * 10 + 5).scaleb(-3)
    assert run_transform("round", str(value), {"places": 2}) == (value + Decimal("0.005")).quantize(
        Decimal("0.01")
    )


# -- dates ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "args", "expected"),
    [
        ("2024-03-06", {}, "2024-03-06"),
        ("2024-03-06T14:02:11", {"format": "%Y-%m-%dT%H:%M:%S"}, "2024-03-06T14:02:11"),
        ("2024-03-06", {"format": "%d-%m-%Y"}, "06-03-2024"),
        ("06-03-2024", {"input_format": "%d-%m-%Y"}, "2024-03-06"),
        ("2021-07-02T10:39:05.276Z", {"format": "%Y-%m-%d %H:%M"}, "2021-07-02 10:39"),
    ],
)
def test_date_format(value, args, expected):
    assert run_transform("date_format", value, args) == expected


@pytest.mark.parametrize("value", ["2024-02-30", "gisteren", "06/03/2024"])
def test_date_format_refuses_non_dates(value):
    assert "is not a date" in str(refused("date_format", value))


# -- value tables, defaults, concat, coalesce -------------------------------------------------------------

PAYMENT_TERMS = ValueTable(entries={"ideal": "01", "banktransfer": "30"}, default="14")
VAT_CODES = ValueTable(entries={"21": "1", "9": "2", "0": "0"})


@pytest.mark.parametrize(
    ("value", "table", "expected"),
    [
        ("ideal", PAYMENT_TERMS, "01"),
        ("iDEAL", PAYMENT_TERMS, "01"),
        ("paypal", PAYMENT_TERMS, "14"),
        (None, PAYMENT_TERMS, "14"),
        ("21.00", VAT_CODES, "1"),
        (Decimal("9.0"), VAT_CODES, "2"),
        (0, VAT_CODES, "0"),
        (None, VAT_CODES, None),
    ],
)
def test_lookup(value, table, expected):
    assert run_transform("lookup", value, {"table": "t"}, tables={"t": table}) == expected


def test_lookup_force_writes_the_default_whatever_the_input():
    forced = ValueTable(entries={"ideal": "01"}, default="30", force=True)
    assert run_transform("lookup", "ideal", {"table": "t"}, tables={"t": forced}) == "30"


def test_lookup_refuses_an_unmapped_value_without_default():
    error = refused("lookup", "6.00", {"table": "vat_codes"}, tables={"vat_codes": VAT_CODES})
    assert "'6.00' is not in value table 'vat_codes'" in str(error)
    assert "Add '6.00' to the 'vat_codes' table" in str(error)


def test_lookup_refuses_a_table_that_is_not_set_up():
    assert "value table 'payment_terms' is not set up" in str(
        refused("lookup", "ideal", {"table": "payment_terms"})
    )


@pytest.mark.parametrize(("value", "expected"), [(None, "X"), ("", "X"), ("  ", "X"), ("A", "A"), (0, 0)])
def test_default(value, expected):
    assert run_transform("default", value, {"value": "X"}) == expected


def test_concat_skips_empty_parts_and_reads_paths():
    record = {"street": "Dorpsstraat", "number": "12A", "extra": ""}
    args = {"values": [{"path": "number"}, {"path": "extra"}]}
    assert run_transform("concat", "Dorpsstraat", args, source=record) == "Dorpsstraat 12A"
    assert (
        run_transform("concat", "2024-03-06", {"values": ["14:02:11"], "separator": "T"})
        == "2024-03-06T14:02:11"
    )
    assert run_transform("concat", None, {"values": [""]}) is None


def test_coalesce():
    record = {"company": "", "name": "Jan Jansen"}
    args = {"values": [{"path": "company"}, {"path": "name"}, "Onbekend"]}
    assert run_transform("coalesce", None, args, source=record) == "Jan Jansen"
    assert run_transform("coalesce", "Voorbeeldig BV", args, source=record) == "Voorbeeldig BV"


# -- the registry -----------------------------------------------------------------------------------------


def test_every_transform_says_what_it_does():
    assert all(t.summary for t in TRANSFORMS.values())


def test_check_step_names_unknown_transforms_and_bad_arguments():
    with pytest.raises(ValueError, match="unknown transform 'uppercase'; known transforms: add, "):
        check_step("uppercase", {})
    with pytest.raises(ValueError, match="transform 'truncate': argument length"):
        check_step("truncate", {"length": 0})
    with pytest.raises(ValueError, match="argument len: Extra inputs are not permitted"):
        check_step("truncate", {"length": 10, "len": 3})


def test_mapping_error_is_needs_attention():
    assert isinstance(refused("country_code", "Mordor"), NeedsAttention)
