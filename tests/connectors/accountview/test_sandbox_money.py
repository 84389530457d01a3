"""The amounts the sandbox computes for a sales order and an invoice, under the profile's money rules (prices
incl. or excl. VAT, VAT rounded per line or per document), exposed on `/_sandbox/amounts/…` and, for invoices,
in DJ_PAGE.PAGE_AMT/PAGE_VAT and DJ_LINE.VAT_AMT/BASE_AMT; a sent invoice VAT amount that differs is refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.connectors.accountview.amounts import LineIn, cents, compute
from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.fields import data_dictionary
from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.accountview.sandbox.documents import amounts_of
from koppel.connectors.accountview.wire import write_body
from tests.examples import examples

D = Decimal


def _lines(*amounts: tuple[str, str]) -> list[LineIn]:
    return [LineIn(amount=D(a), rate=D(r), vat_code="") for a, r in amounts]


# --- the rules ------------------------------------------------------------------------------------------------


def test_line_and_document_rounding_differ_where_they_should() -> None:
    three_small = _lines(("0.06", "9"), ("0.06", "9"), ("0.06", "9"))
    by_line = compute(three_small, includes_vat=False, rounding="line")
    by_document = compute(three_small, includes_vat=False, rounding="document")
    assert by_line.vat_per_rate == {D(9): D("0.03")} and by_line.total == D("0.21")
    assert by_document.vat_per_rate == {D(9): D("0.02")} and by_document.total == D("0.20")
    assert [line.vat for line in by_document.lines] == [D("0.01"), D("0.01"), D("0")]


def test_prices_incl_vat_take_the_vat_out_of_the_amount() -> None:
    three_euros = _lines(("1.00", "21"), ("1.00", "21"), ("1.00", "21"))
    by_line = compute(three_euros, includes_vat=True, rounding="line")
    by_document = compute(three_euros, includes_vat=True, rounding="document")
    assert (by_line.vat, by_line.net, by_line.total) == (D("0.51"), D("2.49"), D("3.00"))
    assert (by_document.vat, by_document.net, by_document.total) == (D("0.52"), D("2.48"), D("3.00"))


amount = st.decimals(min_value=D("-100000"), max_value=D("100000"), places=2)
rate = st.sampled_from([D(0), D(6), D(7), D(9), D(12), D(19), D(21)])


@settings(max_examples=examples(300), deadline=None)
@given(
    lines=st.lists(st.tuples(amount, rate), min_size=1, max_size=12),
    includes_vat=st.booleans(),
    rounding=st.sampled_from(["line", "document"]),
)
def test_the_parts_always_add_up(
    lines: list[tuple[Decimal, Decimal]], includes_vat: bool, rounding: Literal["line", "document"]
) -> None:
    result = compute([LineIn(a, r, "") for a, r in lines], includes_vat=includes_vat, rounding=rounding)
    for rate_, vat in result.vat_per_rate.items():
        assert vat == sum((line.vat for line in result.lines if line.rate == rate_), D(0))
        exact = sum((a * r / (100 + r if includes_vat else 100) for a, r in lines if r == rate_), D(0))
        if rounding == "document":
            assert vat == cents(exact)
    for line, (a, r) in zip(result.lines, lines, strict=True):
        assert line.vat == line.vat.quantize(D("0.01")) and line.gross - line.net == line.vat
        assert (line.gross if includes_vat else line.net) == a
        if rounding == "line":
            assert line.vat == cents(a * r / (100 + r if includes_vat else 100))
    assert result.total == result.net + result.vat == sum((line.gross for line in result.lines), D(0))


# --- a sales order ------------------------------------------------------------------------------------------------


def _sales_order(sandbox: AccountViewSandbox, lines: list[dict[str, Any]], ref: str = "money-1") -> Any:
    debtor = sandbox.rows("CONTACT")[0]["SUB_NR"]
    return write_body(
        data_dictionary(), "SO1", "SO_HDR", {"RPL_INV": debtor, "COMMENT1": ref}, {"SO_LINE": lines}, book_date=None
    )


def _articles(sandbox: AccountViewSandbox) -> dict[str, str]:
    """An article code per VAT code (H1 21 %, L1 9 %)."""
    return {row["VAT_CODE"]: row["ART_CODE"] for row in sandbox.rows("ARTICLE")}


def test_sales_order_amounts_over_http(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    arts = _articles(sandbox)
    lines = [
        {"ART_CODE": arts["H1"], "ORD_QTY": 3, "ART_PX": 19.9999},  # 59.9997 → 60.00, VAT 12.60
        {"ART_CODE": arts["L1"], "ORD_QTY": 100000, "ART_PX": 0.0001},  # 10.00, VAT 0.90
        {"ART_CODE": arts["L1"], "ORD_QTY": 1, "ART_PX": 0.06, "VAT_CODE": "L1"},  # 0.06, VAT 0.01
    ]
    debtor = sandbox.rows("CONTACT")[0]["SUB_NR"]
    number = client.insert("SO1", {"RPL_INV": debtor, "COMMENT1": "money-1"}, {"SO_LINE": lines}).row["ORD_NR"]
    answer = httpx.get(f"{sandbox.url}/_sandbox/amounts/SO_HDR/{number}")
    assert answer.status_code == 200
    body = answer.json()
    assert [line["net"] for line in body["lines"]] == ["60.00", "10.00", "0.06"]
    assert body["vat_per_rate"] == {"9": "0.91", "21": "12.60"}
    assert (body["net"], body["vat"], body["total"]) == ("70.06", "13.51", "83.57")
    assert body["rules"] == {"prices_include_vat": False, "vat_rounding": "line", "price_decimals": 4}
    assert httpx.get(f"{sandbox.url}/_sandbox/amounts/SO_HDR/nope").status_code == 404


def _offline(**rules: Any) -> AccountViewSandbox:
    return AccountViewSandbox(seed=7, size=10, profile=AccountViewProfile(**rules))


def test_the_same_order_under_each_profile() -> None:
    expected = {  # three lines of 0.06 at 9 % and one of 1.00 at 21 %
        (False, "line"): ({"9": "0.03", "21": "0.21"}, "1.42"),
        (False, "document"): ({"9": "0.02", "21": "0.21"}, "1.41"),
        (True, "line"): ({"9": "0.00", "21": "0.17"}, "1.18"),  # 0.06 incl. 9 % holds 0.005 VAT → 0.00
        (True, "document"): ({"9": "0.01", "21": "0.17"}, "1.18"),
    }
    for (includes, rounding), (per_rate, total) in expected.items():
        sandbox = _offline(prices_include_vat=includes, vat_rounding=rounding)
        arts = _articles(sandbox)
        lines = [{"ART_CODE": arts["L1"], "ORD_QTY": 1, "ART_PX": 0.06} for _ in range(3)]
        lines.append({"ART_CODE": arts["H1"], "ORD_QTY": 1, "ART_PX": 1})
        (header,) = sandbox.state.write(_sales_order(sandbox, lines), update=False)["SO_HDR"]
        amounts = amounts_of(sandbox.state, "SO_HDR", header["ORD_NR"])
        assert (amounts["vat_per_rate"], amounts["total"]) == (per_rate, total), (includes, rounding)


# --- an invoice ---------------------------------------------------------------------------------------------------


def _page(sandbox: AccountViewSandbox, **header: Any) -> dict[str, Any]:
    debtor = sandbox.rows("CONTACT")[0]["SUB_NR"]
    return {"DJ_CODE": "VRK", "SUB_NR": debtor, "HDR_DESC": "Webshop 1", "EXT_DESC": "money-2", **header}


def _invoice(sandbox: AccountViewSandbox, lines: list[dict[str, Any]], **header: Any) -> Any:
    return write_body(data_dictionary(), "DJ2", "DJ_PAGE", _page(sandbox, **header), {"DJ_LINE": lines}, book_date=None)


def test_an_invoice_gets_accountviews_vat_and_totals(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    lines = [
        {"ACCT_NR": "8000", "AMOUNT": 0.06, "VAT_CODE": "L1"},
        {"ACCT_NR": "8000", "AMOUNT": 0.06, "VAT_CODE": "L1"},
        {"ACCT_NR": "8000", "AMOUNT": 100, "VAT_CODE": "H1", "VAT_AMT": 21},
    ]
    page_nr = client.insert("DJ2", _page(sandbox), {"DJ_LINE": lines}).row["PAGE_NR"]
    (page,) = sandbox.rows("DJ_PAGE", PAGE_NR=page_nr)
    assert (page["PAGE_VAT"], page["PAGE_AMT"], page["GROSS_FLG"]) == (21.02, 121.14, False)
    assert [line["VAT_AMT"] for line in sandbox.rows("DJ_LINE", PAGE_NR=page_nr)] == [0.01, 0.01, 21.0]
    assert [line["BASE_AMT"] for line in sandbox.rows("DJ_LINE", PAGE_NR=page_nr)] == [0.06, 0.06, 100.0]
    body = httpx.get(f"{sandbox.url}/_sandbox/amounts/DJ_PAGE/{page_nr}").json()
    assert (body["vat_per_rate"], body["total"]) == ({"9": "0.02", "21": "21.00"}, "121.14")


def test_an_invoice_incl_vat(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    lines = [{"ACCT_NR": "8000", "AMOUNT": 121, "VAT_CODE": "H1"}]
    page_nr = client.insert("DJ2", _page(sandbox, GROSS_FLG=True), {"DJ_LINE": lines}).row["PAGE_NR"]
    (page,) = sandbox.rows("DJ_PAGE", PAGE_NR=page_nr)
    assert (page["PAGE_VAT"], page["PAGE_AMT"]) == (21.0, 121.0)


def test_a_sent_vat_amount_that_differs_from_accountviews_is_refused(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    pages = sandbox.count("DJ_PAGE")
    body = _invoice(sandbox, [{"ACCT_NR": "8000", "AMOUNT": 10.05, "VAT_CODE": "H1", "VAT_AMT": 2.10}])
    tokens = client.token_store.load()
    assert tokens is not None
    answer = httpx.post(
        f"{sandbox.url}/api/v3/AccountViewData",
        json=body,
        headers={"Authorization": f"Bearer {tokens.access_token}", "X-Company": sandbox.company_id},
    )
    assert answer.status_code == 400
    message = answer.json()["ErrorMessage"]
    assert "DJ_LINE.VAT_AMT" in message and "2.11" in message and "per line" in message
    assert sandbox.count("DJ_PAGE") == pages


def test_a_document_rounded_administration_checks_vat_per_rate_not_per_line() -> None:
    sandbox = _offline(vat_rounding="document")
    lines = [{"ACCT_NR": "8000", "AMOUNT": 0.06, "VAT_CODE": "L1"} for _ in range(3)]
    (page,) = sandbox.state.write(_invoice(sandbox, lines), update=False)["DJ_PAGE"]
    assert page["PAGE_VAT"] == 0.02
    assert [line["VAT_AMT"] for line in sandbox.rows("DJ_LINE", PAGE_NR=page["PAGE_NR"])] == [0.01, 0.01, 0.0]
