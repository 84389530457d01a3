"""The sandbox refuses what AccountView's data dictionary forbids, naming TABLE.FIELD, and stores nothing of
a refused write: mandatory fields left out, times in date fields, numbers wider than their field or with
more decimals than it keeps, detail rows without their header, another debtor's delivery address, text
outside the code page and NUL characters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.fields import data_dictionary
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.accountview.wire import write_body


def _post(sandbox: AccountViewSandbox, client: AccountViewClient, body: dict[str, Any]) -> httpx.Response:
    tokens = client.token_store.load()
    assert tokens is not None
    return httpx.post(
        f"{sandbox.url}/api/v3/AccountViewData",
        json=body,
        headers={"Authorization": f"Bearer {tokens.access_token}", "X-Company": sandbox.company_id},
    )


def _body(bo: str, table: str, header: dict[str, Any], details: dict[str, list[dict[str, Any]]] | None = None) -> Any:
    return write_body(data_dictionary(), bo, table, header, details or {}, book_date=None)


def _refused(answer: httpx.Response, field: str) -> str:
    assert answer.status_code == 400, answer.text
    message = answer.json()["ErrorMessage"]
    assert field in message, message
    return str(message)


def _debtor(sandbox: AccountViewSandbox) -> str:
    return str(sandbox.rows("CONTACT")[0]["SUB_NR"])


def _article(sandbox: AccountViewSandbox) -> dict[str, Any]:
    return sandbox.rows("ARTICLE")[0]


def _order(sandbox: AccountViewSandbox, **line: Any) -> Any:
    return _body(
        "SO1",
        "SO_HDR",
        {"RPL_INV": _debtor(sandbox), "COMMENT1": "strict-1"},
        {"SO_LINE": [{"ART_CODE": _article(sandbox)["ART_CODE"], **line}]},
    )


# --- mandatory fields ---------------------------------------------------------------------------------------


def test_a_line_without_its_mandatory_quantity_is_refused_not_stored_as_zero(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    orders = sandbox.count("SO_HDR")
    _refused(_post(sandbox, client, _order(sandbox, ART_PX=10)), "SO_LINE.ORD_QTY")
    assert sandbox.count("SO_HDR") == orders and sandbox.sales_orders_for("strict-1") == 0


def test_a_mandatory_quantity_of_zero_is_empty_as_foxpro_sees_it(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    _refused(_post(sandbox, client, _order(sandbox, ORD_QTY=0, ART_PX=10)), "SO_LINE.ORD_QTY")


def test_a_mandatory_numeric_header_field_left_out_is_refused(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    answer = _post(sandbox, client, _body("DJ1", "DAILY", {"DJ_CODE": "VR2", "DJ_NAME": "Verkoop 2"}))
    _refused(answer, "DAILY.DJ_TYPE")
    assert sandbox.count("DAILY", DJ_CODE="VR2") == 0


# --- dates, widths, decimals ----------------------------------------------------------------------------------


def _invoice(sandbox: AccountViewSandbox, **header: Any) -> Any:
    return _body(
        "DJ2",
        "DJ_PAGE",
        {"DJ_CODE": "VRK", "SUB_NR": _debtor(sandbox), "HDR_DESC": "Webshop", **header},
        {"DJ_LINE": [{"ACCT_NR": "8000", "AMOUNT": 100, "VAT_CODE": "H1"}]},
    )


def test_a_time_in_a_date_field_is_refused_and_midnight_is_a_date(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    message = _refused(_post(sandbox, client, _invoice(sandbox, TRN_DATE="2026-11-30T14:05:00")), "DJ_PAGE.TRN_DATE")
    assert "14:05" in message
    assert _post(sandbox, client, _invoice(sandbox, TRN_DATE="2026-11-30T00:00:00.000Z")).status_code == 200
    (page,) = [p for p in sandbox.rows("DJ_PAGE") if p["TRN_DATE"].startswith("2026-11-30")]
    assert page["TRN_DATE"] == "2026-11-30T00:00:00"


@pytest.mark.parametrize(
    ("bo", "table", "row", "field"),
    [
        ("DJ1", "DAILY", {"DJ_CODE": "VR3", "DJ_NAME": "Verkoop 3", "DJ_TYPE": 12}, "DAILY.DJ_TYPE"),  # N1
        ("DJ1", "DAILY", {"DJ_CODE": "VR3", "DJ_NAME": "Verkoop 3", "DJ_TYPE": -1}, "DAILY.DJ_TYPE"),  # sign
        ("BC1", "PAY_COND", {"DISC_CODE": "99", "DISC_DESC": "Lang", "CRED_DAYS": 12345}, "PAY_COND.CRED_DAYS"),
    ],
)
def test_a_number_wider_than_its_field_is_refused(
    client: AccountViewClient, sandbox: AccountViewSandbox, bo: str, table: str, row: dict[str, Any], field: str
) -> None:
    message = _refused(_post(sandbox, client, _body(bo, table, row)), field)
    assert "wide" in message
    assert sandbox.count(table, **{k: v for k, v in row.items() if k in ("DJ_CODE", "DISC_CODE")}) == 0


def test_the_widest_number_that_fits_is_stored(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    row = {"DISC_CODE": "99", "DISC_DESC": "Lang", "CRED_DAYS": 999}
    assert _post(sandbox, client, _body("BC1", "PAY_COND", row)).status_code == 200
    assert sandbox.rows("PAY_COND", DISC_CODE="99")[0]["CRED_DAYS"] == 999


def test_an_amount_with_more_decimals_than_foxpro_currency_keeps_is_refused(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    message = _refused(_post(sandbox, client, _order(sandbox, ORD_QTY=1, ART_PX=12.34565)), "SO_LINE.ART_PX")
    assert "5" in message and "4" in message
    assert sandbox.sales_orders_for("strict-1") == 0
    assert _post(sandbox, client, _order(sandbox, ORD_QTY=1, ART_PX=12.3457)).status_code == 200
    (line,) = sandbox.rows("SO_LINE", ORD_NR=sandbox.rows("SO_HDR", COMMENT1="strict-1")[0]["ORD_NR"])
    assert line["ART_PX"] == 12.3457


def test_a_quantity_with_more_decimals_than_the_field_keeps_is_refused(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    _refused(_post(sandbox, client, _order(sandbox, ORD_QTY=1.2345, ART_PX=1)), "SO_LINE.ORD_QTY")


def test_float_noise_is_not_an_amount(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    _refused(_post(sandbox, client, _order(sandbox, ORD_QTY=3, ART_PX=0.1 + 0.2)), "SO_LINE.ART_PX")


def test_a_price_beyond_the_administrations_price_precision_is_refused() -> None:
    from koppel.connectors.accountview.profile import AccountViewProfile

    sandbox = AccountViewSandbox(seed=7, size=10, profile=AccountViewProfile(price_decimals=2))
    with sandbox, sandbox.authorised_client() as client:
        message = _refused(_post(sandbox, client, _order(sandbox, ORD_QTY=1, ART_PX=9.995)), "SO_LINE.ART_PX")
        assert "2" in message
        assert _post(sandbox, client, _order(sandbox, ORD_QTY=1, ART_PX=9.99)).status_code == 200


# --- header and detail --------------------------------------------------------------------------------------


def test_a_line_whose_header_id_matches_no_header_is_refused(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    body = _order(sandbox, ORD_QTY=1, ART_PX=10)
    body["TableData"]["DetailData"][0]["Rows"][0]["Values"][1] = "2"  # HeaderId of a header not sent
    _refused(_post(sandbox, client, body), "SO_LINE.HeaderId")
    assert sandbox.sales_orders_for("strict-1") == 0


def test_two_lines_with_one_row_id_are_refused_not_merged(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    article = _article(sandbox)["ART_CODE"]
    body = _body(
        "SO1",
        "SO_HDR",
        {"RPL_INV": _debtor(sandbox), "COMMENT1": "strict-1"},
        {"SO_LINE": [{"ART_CODE": article, "ORD_QTY": 1}, {"ART_CODE": article, "ORD_QTY": 2}]},
    )
    body["TableData"]["DetailData"][0]["Rows"][1]["Values"][0] = "1"
    answer = _post(sandbox, client, body)
    assert answer.status_code == 400 and "RowId" in answer.json()["ErrorMessage"]
    assert sandbox.sales_orders_for("strict-1") == 0


def test_a_delivery_address_of_another_debtor_is_refused(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    address = sandbox.rows("DEL_ADDR")[0]
    other = next(r["SUB_NR"] for r in sandbox.rows("CONTACT") if r["SUB_NR"] != address["SUB_NR"])
    header = {"RPL_INV": other, "COMMENT1": "strict-1", "DEL_CODE": address["REC_ID"]}
    lines = {"SO_LINE": [{"ART_CODE": _article(sandbox)["ART_CODE"], "ORD_QTY": 1}]}
    message = _refused(_post(sandbox, client, _body("SO1", "SO_HDR", header, lines)), "SO_HDR.DEL_CODE")
    assert address["SUB_NR"] in message and other in message
    header["RPL_DEL"] = address["SUB_NR"]  # delivered to the address's own debtor: fine
    assert _post(sandbox, client, _body("SO1", "SO_HDR", header, lines)).status_code == 200


def test_a_line_left_without_price_and_vat_code_takes_the_articles(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    article = _article(sandbox)
    assert _post(sandbox, client, _order(sandbox, ORD_QTY=2)).status_code == 200
    (line,) = sandbox.rows("SO_LINE", ORD_NR=sandbox.rows("SO_HDR", COMMENT1="strict-1")[0]["ORD_NR"])
    assert (line["ART_PX"], line["VAT_CODE"]) == (article["PX_SELL"], article["VAT_CODE"])


# --- text ---------------------------------------------------------------------------------------------------


def _person(name: str, **more: Any) -> Any:
    return _body("AR1", "CONTACT", {"ACCT_NAME": name, "SRC_CODE": "TEST", "ACCT_NR": "1300", **more})


def test_text_outside_the_code_page_is_stored_as_question_marks(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    answer = _post(sandbox, client, _person("Łucja Wójcik 😀", CITY="Łódź", SRC_CODE="straße"))
    assert answer.status_code == 200, answer.text
    (stored,) = answer.json()["CONTACT"]
    assert (stored["ACCT_NAME"], stored["CITY"]) == ("?ucja Wójcik ?", "?ód?")
    assert stored["SRC_CODE"] == "STRAßE"  # FoxPro's UPPER() keeps ß (one character stays one)
    assert sandbox.rows("CONTACT", SUB_NR=stored["SUB_NR"])[0]["ACCT_NAME"] == "?ucja Wójcik ?"


def test_every_character_of_cp1252_survives(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    name = "Café €uro “Zoë” – Œuvre"
    (stored,) = _post(sandbox, client, _person(name)).json()["CONTACT"]
    assert stored["ACCT_NAME"] == name


def test_another_code_page_stores_other_characters() -> None:
    from koppel.connectors.accountview.profile import AccountViewProfile

    sandbox = AccountViewSandbox(seed=7, size=10, profile=AccountViewProfile(code_page="cp1250"))
    with sandbox, sandbox.authorised_client() as client:
        (stored,) = _post(sandbox, client, _person("Łódź Æbeltoft")).json()["CONTACT"]
    assert stored["ACCT_NAME"] == "Łódź ?beltoft"  # Central European: Polish letters yes, Æ no


def test_nul_is_refused_naming_the_field(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    _refused(_post(sandbox, client, _person("Jan\x00Jansen")), "CONTACT.ACCT_NAME")
    assert sandbox.count("CONTACT", ACCT_NAME="Jan") == 0


def test_nul_cuts_the_text_when_the_quirk_says_so(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    sandbox.quirks.truncate_at_nul = True
    (stored,) = _post(sandbox, client, _person("Jan\x00Jansen")).json()["CONTACT"]
    assert stored["ACCT_NAME"] == "Jan"


def test_the_length_counts_after_conversion(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    name = "😀" * 40  # 40 characters, each one '?' in the table: it fits ACCT_NAME C40
    (stored,) = _post(sandbox, client, _person(name)).json()["CONTACT"]
    assert stored["ACCT_NAME"] == "?" * 40
