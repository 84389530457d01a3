"""The shipped default order maps applied to real-shaped MijnWebwinkel orders (fixtures/)."""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from koppel.mapping import MappingError, ValueTable, apply_map, load_default_map, map_record

FIXTURES = Path(__file__).parent / "fixtures"
TABLES = {
    "payment_terms": ValueTable(entries={"ideal": "01", "bancontact": "01"}, default="30"),
    "payment_methods": ValueTable(
        entries={"ideal": "IDEAL", "advance": "VOORUIT", "bancontact": "BANCONTACT"}
    ),
    "vat_codes": ValueTable(
        entries={"21": "1", "9": "2", "0": "0", "reverse_charged_vat": "VR", "zero_percent": "E"}
    ),
    "cost_articles": ValueTable(entries={"shipping": "VERZEND", "payment": "BETAALK", "discount": "KORTING"}),
    "revenue_accounts": ValueTable(entries={"article": "8000", "shipping": "8100", "payment": "8200"}),
}
CONTEXT = {"sub_nr": "10023", "collective_account": "1300", "journal": "VK", "del_code": "7"}


def order(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


def mapped(map_name: str, source: dict, mode: str = "create") -> dict:
    return apply_map(load_default_map(map_name), source, tables=TABLES, mode=mode)


B2C = order("order_1042_b2c_nl")
B2B_NL = order("order_27_b2b_nl")
B2B_BE = order("order_2051_b2b_be_delivery_de")


# -- debtors ----------------------------------------------------------------------------------------------


def test_person_debtor_from_a_dutch_consumer_order():
    assert mapped("mww_order_to_av_debtor_person", {"order": B2C, "context": CONTEXT}) == {
        "SUB_NR": "10023",
        "ACCT_NAME": "Jan Jansen",
        "SRC_CODE": "JAN JANSEN",
        "ACCT_NR": "1300",
        "ADDRESS1": "Dorpsstraat 12A",
        "ST_STREET": "Dorpsstraat",
        "ST_NR": "12",
        "ST_EXTRA": "A",
        "POST_CODE": "1234 AB",
        "CITY": "Utrecht",
        "CNT_CODE": "NL",
        "TEL_BUS": "0612345678",
        "MAIL_BUS": "jan@example.nl",
    }


def test_company_debtor_from_the_spec_example():
    assert mapped("mww_order_to_av_debtor_company", {"order": B2B_NL, "context": CONTEXT}) == {
        "SUB_NR": "10023",
        "ACCT_NAME": "Voorbeeldig BV",
        "SRC_CODE": "VOORBEELDI",
        "ACCT_NR": "1300",
        "MAIN_CONT": "Truus voorbeeldig",
        "MC_MAILB": "support@mijnwebwinkel.nl",
        "ADDRESS1": "Molenstraat 62",
        "ST_STREET": "Molenstraat",
        "ST_NR": "62",
        "POST_CODE": "5341 GE",
        "CITY": "Oss",
        "CNT_CODE": "NL",
        "TEL_BUS": "06-12345678",
        "MAIL_BUS": "support@mijnwebwinkel.nl",
        "IBAN_NR": "NL39RABO0300065264",
    }


def test_belgian_company_with_the_number_in_the_street_and_a_long_name():
    assert mapped("mww_order_to_av_debtor_company", {"order": B2B_BE, "context": CONTEXT}) == {
        "SUB_NR": "10023",
        "ACCT_NAME": "Brouwerij Sint-Aldegonde Ambachtelijke B",
        "SRC_CODE": "BROUWERIJ",
        "ACCT_NR": "1300",
        "MAIN_CONT": "Marie Peeters",
        "MC_MAILB": "inkoop@brouwerij-sint-aldegonde.be",
        "ADDRESS1": "Rue Royale 12 bus 3",
        "ST_STREET": "Rue Royale",
        "ST_NR": "12",
        "ST_EXTRA": "bus 3",
        "POST_CODE": "1000",
        "CITY": "Brussel",
        "CNT_CODE": "BE",
        "TEL_BUS": "+32 2 123 45 67",
        "MAIL_BUS": "inkoop@brouwerij-sint-aldegonde.be",
        "VAT_NR": "BE0123456789",
        "IBAN_NR": "BE68539007547034",
    }


@pytest.mark.parametrize("map_name", ["mww_order_to_av_debtor_person", "mww_order_to_av_debtor_company"])
def test_updating_a_debtor_keeps_what_the_accountant_curates(map_name):
    payload = mapped(map_name, {"order": B2B_NL, "context": CONTEXT}, mode="update")
    curated = {"SUB_NR", "SRC_CODE", "ACCT_NR", "ACCT_NAME", "MAIN_CONT", "ADDRESS1", "ST_STREET", "ST_NR",
               "ST_EXTRA", "POST_CODE", "CITY", "CNT_CODE"}
    assert not curated & set(payload)
    created = mapped(map_name, {"order": B2B_NL, "context": CONTEXT})
    assert set(payload) == set(created) - curated and {"MAIL_BUS", "TEL_BUS"} <= set(payload)


def test_a_company_map_on_a_consumer_order_says_the_company_name_is_missing():
    with pytest.raises(MappingError) as caught:
        mapped("mww_order_to_av_debtor_company", {"order": B2C, "context": CONTEXT})
    assert [p.field for p in caught.value.problems] == ["ACCT_NAME", "SRC_CODE"]


def test_a_nasty_order_lists_every_problem_for_the_shop_owner():
    nasty = copy.deepcopy(B2C)
    invoice = nasty["debtor"]["address"]["invoice"]
    nasty["debtor"]["email"] = "jan.jansen@@example"
    # no country code, only the name: the postcode is still checked as Dutch
    invoice.update(zipcode="123AB", country_code="", country="Nederland", number="zie boven")
    with pytest.raises(MappingError) as caught:
        mapped("mww_order_to_av_debtor_person", {"order": nasty, "context": CONTEXT})
    problems = {p.field: p for p in caught.value.problems}
    assert set(problems) == {"MAIL_BUS"}  # address clean-up alone never parks an order
    assert problems["MAIL_BUS"].value == "jan.jansen@@example"
    assert problems["MAIL_BUS"].source == "order.debtor.email"


def test_an_address_that_does_not_fit_goes_as_typed_with_warnings():
    odd = copy.deepcopy(B2C)
    # a Dutch-looking postcode on a German address, and a house number that is not one
    odd["debtor"]["address"]["invoice"].update(zipcode=" 7523SD ", country_code="DE", number="zie boven")
    result = map_record(load_default_map("mww_order_to_av_debtor_person"), {"order": odd, "context": CONTEXT},
                        tables=TABLES)
    assert (result.row["POST_CODE"], result.row["ST_EXTRA"], result.row["CNT_CODE"]) == ("7523SD", "zie boven", "DE")
    assert "ST_NR" not in result.row
    assert any(w.startswith("POST_CODE: ' 7523SD ' is not a German postcode") for w in result.warnings)
    assert any(w.startswith("ST_NR: house number 'zie boven'") for w in result.warnings)


def test_an_unknown_country_is_named():
    unknown = copy.deepcopy(B2C)
    unknown["debtor"]["address"]["invoice"].update(country_code="", country="Atlantis")
    with pytest.raises(MappingError) as caught:
        mapped("mww_order_to_av_debtor_person", {"order": unknown, "context": CONTEXT})
    problems = {p.field: p for p in caught.value.problems}
    assert set(problems) == {"CNT_CODE"}
    assert "'Atlantis' is not a country we know" in problems["CNT_CODE"].reason
    assert "Correct the country in the order" in problems["CNT_CODE"].hint


def test_names_outside_the_code_page_are_transliterated_with_a_warning():
    unicode_order = copy.deepcopy(B2C)
    unicode_order["debtor"]["address"]["invoice"].update(
        name="Zoë Müller-Łukasiewicz 🌷", city="Łódź", country_code="PL", zipcode="90-001"
    )
    result = map_record(load_default_map("mww_order_to_av_debtor_person"),
                        {"order": unicode_order, "context": CONTEXT}, tables=TABLES)
    assert result.row["ACCT_NAME"] == "Zoë Müller-Lukasiewicz"  # ë and ü are in cp1252: kept
    assert result.row["SRC_CODE"] == "ZOË MÜLLER"
    assert (result.row["CITY"], result.row["CNT_CODE"], result.row["POST_CODE"]) == ("Lódz", "PL", "90-001")
    assert "ACCT_NAME: 'Zoë Müller-Łukasiewicz 🌷' sent as 'Zoë Müller-Lukasiewicz'" in result.warnings[0]


def test_delivery_address_in_germany_with_only_a_country_name():
    assert mapped("mww_order_to_av_delivery_address", {"order": B2B_BE, "context": CONTEXT}) == {
        "SUB_NR": "10023",
        "DEL_NAME": "Lager Köln",
        "ADDRESS1": "Hauptstraße 5a",
        "ST_STREET": "Hauptstraße",
        "ST_NR": "5",
        "ST_EXTRA": "A",
        "POST_CODE": "50667",
        "CITY": "Köln",
        "CNT_CODE": "DE",
        "MAIL_BUS": "inkoop@brouwerij-sint-aldegonde.be",
    }


# -- sales orders -----------------------------------------------------------------------------------------


def test_sales_order_header():
    assert mapped("mww_order_to_av_sales_order", {"order": B2C, "context": CONTEXT}) == {
        "ORD_DATE": "2024-03-06T14:02:11",
        "RPL_INV": "10023",
        "RPL_DEL": "10023",
        "DEL_CODE": "7",
        "COMMENT1": "1042",
        "TO_EMAIL": "jan@example.nl",
        "DISC_CODE": "01",
        "PAY_TYPE": "IDEAL",
    }


def test_sales_order_header_needs_the_debtor_number():
    with pytest.raises(MappingError, match="RPL_INV \\(from context.sub_nr\\): is empty"):
        mapped("mww_order_to_av_sales_order", {"order": B2C, "context": {}})


def test_sales_order_lines_for_articles_and_shipping():
    article, shipping = B2C["orderlines"]
    assert mapped("mww_order_line_to_av_sales_order_line", {"order": B2C, "line": article}) == {
        "ART_CODE": "TOTE-NAT",
        "ART_DESC": "Canvas tote - Natural",
        "ORD_QTY": Decimal("2"),
        "ART_PX": Decimal("20.6198"),
        "VAT_CODE": "1",
        "DEL_DATE": "2024-03-06T00:00:00",
    }
    assert mapped("mww_cost_line_to_av_sales_order_line", {"order": B2C, "line": shipping}) == {
        "ART_CODE": "VERZEND",
        "ART_DESC": "Verzendkosten",
        "ORD_QTY": Decimal("1"),
        "ART_PX": Decimal("8.2231"),
        "VAT_CODE": "1",
        "DEL_DATE": "2024-03-06T00:00:00",
    }


def test_spec_example_lines_with_json_numbers():
    prices = [
        mapped("mww_order_line_to_av_sales_order_line", {"order": B2B_NL, "line": line})["ART_PX"]
        for line in B2B_NL["orderlines"][:4]
    ]
    assert prices == [Decimal("12.3967"), Decimal("4.0909"), Decimal("1.6116"), Decimal("1.7890")]


def test_reverse_charged_order_lines_get_the_reverse_charge_vat_code():
    line = B2B_BE["orderlines"][0]
    assert (
        mapped("mww_order_line_to_av_sales_order_line", {"order": B2B_BE, "line": line})["VAT_CODE"] == "VR"
    )


def test_a_line_priced_at_several_rates_must_be_split_first():
    split_line = B2B_NL["orderlines"][4]
    with pytest.raises(MappingError) as caught:
        mapped("mww_cost_line_to_av_sales_order_line", {"order": B2B_NL, "line": split_line})
    assert {p.field for p in caught.value.problems} == {"ART_PX", "VAT_CODE"}
    assert "split into one line per rate" in str(caught.value)


def test_a_line_as_the_connector_models_dump_it_maps_the_same():
    # the MijnWebwinkel models keep `price` as a list of parts and money as Decimal
    article = copy.deepcopy(B2C["orderlines"][0])
    article["price"] = [{k: Decimal(v) for k, v in article["price"].items()}]
    raw = mapped("mww_order_line_to_av_sales_order_line", {"order": B2C, "line": B2C["orderlines"][0]})
    assert mapped("mww_order_line_to_av_sales_order_line", {"order": B2C, "line": article}) == raw


def test_an_article_line_without_sku_is_refused():
    line = copy.deepcopy(B2C["orderlines"][0])
    line["articles"][0]["sku"] = ""
    with pytest.raises(MappingError, match="ART_CODE \\(from line.articles\\[0\\].sku\\): is empty"):
        mapped("mww_order_line_to_av_sales_order_line", {"order": B2C, "line": line})


# -- invoices ---------------------------------------------------------------------------------------------


def test_invoice_header():
    assert mapped("mww_order_to_av_invoice", {"order": B2B_BE, "context": CONTEXT}) == {
        "DJ_CODE": "VK",
        "SUB_NR": "10023",
        "INV_NR": "2051",
        "TRN_DATE": "2024-09-17",
        "HDR_DESC": "Webwinkelbestelling 2051",
        "EXT_DESC": "2051",
        "CUR_CODE": "EUR",
        "DISC_CODE": "01",
        "PAY_TYPE": "BANCONTACT",
        "COMMENT1": "Levering via laadperron",
    }


def test_invoice_lines_add_up_to_the_shop_total():
    lines = [
        mapped("mww_order_line_to_av_invoice_line", {"order": B2C, "line": line})
        for line in B2C["orderlines"]
    ]
    assert lines == [
        {
            "ACCT_NR": "8000",
            "TRN_DESC": "Canvas tote - Natural",
            "AMOUNT": Decimal("41.24"),
            "VAT_CODE": "1",
            "VAT_AMT": Decimal("8.66"),
            "TRN_QTY": Decimal("2"),
            "TRN_DATE": "2024-03-06",
        },
        {
            "ACCT_NR": "8100",
            "TRN_DESC": "Verzendkosten",
            "AMOUNT": Decimal("8.22"),
            "VAT_CODE": "1",
            "VAT_AMT": Decimal("1.73"),
            "TRN_QTY": Decimal("1"),
            "TRN_DATE": "2024-03-06",
        },
    ]
    assert sum(line["AMOUNT"] + line["VAT_AMT"] for line in lines) == Decimal(B2C["price"]["total"])


def test_invoice_line_revenue_account_must_be_set_up_for_the_line_type():
    discount = {
        "type": "discount",
        "quantity": 1,
        "description": "Korting",
        "price": {"amount": "-4.132231", "amount_including_tax": "-5.00", "rate": "21.00"},
    }
    with pytest.raises(MappingError, match="'discount' is not in value table 'revenue_accounts'"):
        mapped("mww_order_line_to_av_invoice_line", {"order": B2C, "line": discount})
