import pytest

from koppel.mapping.address import HouseAddress, country_code, normalise_postcode, split_house_number


@pytest.mark.parametrize(
    ("street", "number", "expected"),
    [
        ("Dorpsstraat", "12A", HouseAddress("Dorpsstraat", 12, "A")),
        ("Dorpsstraat", "12 a", HouseAddress("Dorpsstraat", 12, "A")),
        ("Dorpsstraat", "12-3", HouseAddress("Dorpsstraat", 12, "3")),
        ("Dorpsstraat", "12 bis", HouseAddress("Dorpsstraat", 12, "bis")),
        ("Dorpsstraat", "12/3", HouseAddress("Dorpsstraat", 12, "3")),
        ("Dorpsstraat", 7, HouseAddress("Dorpsstraat", 7, "")),
        ("  Lange   Voorhout ", " 34 ", HouseAddress("Lange Voorhout", 34, "")),
        ("Hoofdstraat 12A", "", HouseAddress("Hoofdstraat", 12, "A")),
        ("Hoofdstraat 12 A", None, HouseAddress("Hoofdstraat", 12, "A")),
        ("Plein 1940-1945 12", "", HouseAddress("Plein 1940-1945", 12, "")),
        ("Kerkstraat 7-9", "", HouseAddress("Kerkstraat", 7, "9")),
        # Belgium: box numbers, and the number first in French
        ("Rue Royale 12 bus 3", "", HouseAddress("Rue Royale", 12, "bus 3")),
        ("Meir", "12 bus 3", HouseAddress("Meir", 12, "bus 3")),
        ("12 Rue Royale", "", HouseAddress("Rue Royale", 12, "")),
        # Germany
        ("Hauptstraße 5a", "", HouseAddress("Hauptstraße", 5, "A")),
        ("Königstr.", "12-14", HouseAddress("Königstr.", 12, "14")),
        # no number at all: left to the required check of the map
        ("Hof ter Linde", "", HouseAddress("Hof ter Linde", None, "")),
        ("", None, HouseAddress("", None, "")),
    ],
)
def test_split_house_number(street, number, expected):
    assert split_house_number(street, number) == expected


@pytest.mark.parametrize("number", ["abc", "A12", "-", "nr. 12"])
def test_split_house_number_refuses_a_number_without_digits_first(number):
    with pytest.raises(ValueError, match="does not start with a number"):
        split_house_number("Dorpsstraat", number)


@pytest.mark.parametrize(
    ("postcode", "country", "expected"),
    [
        ("1234ab", "NL", "1234 AB"),
        ("1234 AB", "NL", "1234 AB"),
        (" 1234  ab ", "NL", "1234 AB"),
        ("NL-1234AB", "NL", "1234 AB"),
        ("2000", "BE", "2000"),
        ("B-1000", "BE", "1000"),
        ("10115", "DE", "10115"),
        ("D-50667", "DE", "50667"),
        ("sw1a 1aa", "GB", "SW1A 1AA"),
        ("1234ab", None, "1234AB"),
        ("", "NL", ""),
    ],
)
def test_normalise_postcode(postcode, country, expected):
    assert normalise_postcode(postcode, country) == expected


@pytest.mark.parametrize(
    ("postcode", "country", "message"),
    [
        ("0123 AB", "NL", "not a Dutch postcode"),
        ("1234", "NL", "not a Dutch postcode"),
        ("1234 SS", "NL", "not a Dutch postcode"),
        ("12345", "NL", "not a Dutch postcode"),
        ("100", "BE", "not a Belgian postcode"),
        ("1234", "DE", "not a German postcode"),
    ],
)
def test_normalise_postcode_refuses_invalid(postcode, country, message):
    with pytest.raises(ValueError, match=message):
        normalise_postcode(postcode, country)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NL", "NL"),
        ("nl", "NL"),
        ("NLD", "NL"),
        ("Nederland", "NL"),
        ("the Netherlands", "NL"),
        ("Holland", "NL"),
        ("België", "BE"),
        ("belgie", "BE"),
        ("Belgique", "BE"),
        ("Deutschland", "DE"),
        ("Duitsland", "DE"),
        ("deu", "DE"),
        ("Österreich", "AT"),
        ("Polen", "PL"),
        ("Verenigd Koninkrijk", "GB"),
        ("", ""),
    ],
)
def test_country_code(value, expected):
    assert country_code(value) == expected


@pytest.mark.parametrize("value", ["Łódź", "Atlantis", "XX", "Nederlandd"])
def test_country_code_refuses_unknown(value):
    with pytest.raises(ValueError, match="not a country we know"):
        country_code(value)
