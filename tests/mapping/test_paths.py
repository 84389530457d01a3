import pytest

from koppel.mapping.paths import parse_path, read_path

ORDER = {
    "number": 1042,
    "debtor": {"address": {"invoice": {"zipcode": "1234AB"}}},
    "orderlines": [
        {"price": {"rate": "21.00"}, "articles": [{"sku": "TOTE-NAT"}]},
        {"price": [{"rate": "9.00"}, {"rate": "21.00"}], "articles": []},
    ],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("number", 1042),
        ("debtor.address.invoice.zipcode", "1234AB"),
        ("debtor.address.delivery.zipcode", None),
        ("orderlines[0].articles[0].sku", "TOTE-NAT"),
        ("orderlines.0.articles.0.sku", "TOTE-NAT"),
        ("orderlines[0].price.rate", "21.00"),
        ("orderlines[1].price.rate", ["9.00", "21.00"]),  # a key over a list maps, as in JSONata
        ("orderlines[5].price", None),
        ("number.value", None),
    ],
)
def test_read_path(path, expected):
    assert read_path(ORDER, path) == expected


def test_a_one_element_list_reads_like_its_element():
    assert read_path({"price": [{"amount": "1.00"}]}, "price.amount") == "1.00"


@pytest.mark.parametrize("path", ["", "a..b", "a.b[x]", "a b", "a.[0]", ".a"])
def test_parse_path_refuses_bad_syntax(path):
    with pytest.raises(ValueError):
        parse_path(path)
