"""The wire format and the data dictionary, without HTTP."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.connectors.accountview.fields import data_dictionary
from koppel.connectors.accountview.records import postcode
from koppel.connectors.accountview.sandbox.query import ReadRequest
from koppel.connectors.accountview.sandbox.quirks import Quirks
from koppel.connectors.accountview.sandbox.seed import seed
from koppel.connectors.accountview.sandbox.state import Sandbox
from koppel.connectors.accountview.wire import Filter, filter_literal, nest_details, table_rows, write_body
from tests.examples import examples


def test_dictionary_has_real_and_assumed_tables() -> None:
    dictionary = data_dictionary()
    name = dictionary.field("contact", "acct_name")
    assert name is not None and (name.type, name.length, name.mandatory, name.assumed) == (
        "C",
        40,
        True,
        False,
    )
    sub_nr = dictionary.field("CONTACT", "SUB_NR")
    assert sub_nr is not None and sub_nr.upper
    ean = dictionary.field("ARTICLE", "BAR_CODE")
    assert ean is not None and ean.assumed
    assert dictionary.length_violation("CONTACT", "CNT_CODE", "NLD") is not None
    assert dictionary.length_violation("CONTACT", "COMMENT1", "x" * 500) is None  # memo


def test_filter_parameters() -> None:
    params = Filter("CNG_DATE", datetime(2024, 1, 31, 10, 0), "DateOnOrAfterDate").params(2)
    assert params == {
        "FilterControlSource2": "CNG_DATE",
        "FilterOperator2": "DateOnOrAfterDate",
        "FilterValueType2": "T",
        "FilterValue2": "{^2024-01-31 10:00:00}",
        "FilterIsListOfValues2": "false",
    }
    listed = Filter("ART_CODE", ["A", "B"]).params(1)
    assert listed["FilterValue1"] == "A,B" and listed["FilterIsListOfValues1"] == "true"
    assert filter_literal(date(2024, 1, 31)) == "{^2024-01-31}"
    assert Filter("PX_SELL", Decimal("1.5")).params(1)["FilterValueType1"] == "N"


def test_write_body_is_positional_with_row_and_header_ids() -> None:
    body = write_body(
        data_dictionary(),
        "SO1",
        "SO_HDR",
        {"RPL_INV": "10001", "ORD_DATE": datetime(2024, 5, 1)},
        {"SO_LINE": [{"ART_CODE": "A", "ORD_QTY": Decimal(2)}, {"ART_CODE": "B", "ART_PX": 1.5}]},
        book_date=date(2024, 5, 1),
    )
    definition = body["Table"]["Definition"]
    assert [f["Name"] for f in definition["Fields"]] == ["RowId", "RPL_INV", "ORD_DATE"]
    assert definition["Fields"][2]["FieldType"] == "T"
    assert body["TableData"]["Data"]["Rows"] == [{"Values": ["1", "10001", "2024-05-01T00:00:00"]}]
    detail = body["Table"]["DetailDefinitions"][0]
    assert [f["Name"] for f in detail["Fields"]] == ["RowId", "HeaderId", "ART_CODE", "ORD_QTY", "ART_PX"]
    assert body["TableData"]["DetailData"][0]["Rows"] == [
        {"Values": ["1", "1", "A", 2.0, None]},
        {"Values": ["2", "1", "B", None, 1.5]},
    ]
    assert body["BookDate"] == "2024-05-01T00:00:00"


def test_tolerant_decoding() -> None:
    assert table_rows({"article": {"ART_CODE": "A  "}}, "ARTICLE") == [{"ART_CODE": "A"}]
    assert table_rows({}, "ARTICLE") == [] and table_rows(None, "ARTICLE") == []
    nested = nest_details(
        {"SO_HDR": [{"ORD_NR": "1", "SO_HDR_Id": 0}], "SO_LINE": [{"ART_CODE": "A", "SO_HDR_Id": 0}]},
        "SO_HDR",
        ("SO_LINE",),
    )
    assert nested[0]["SO_LINE"] == [{"ART_CODE": "A", "SO_HDR_Id": 0}]


@given(st.from_regex(r"\A[1-9][0-9]{3} ?[a-zA-Z]{2}\Z"))
def test_dutch_postcodes_are_normalised(raw: str) -> None:
    normalised = postcode(raw, "NL")
    assert len(normalised) == 7 and normalised[4] == " " and normalised[5:].isupper()


@settings(max_examples=examples(40), deadline=None)
@given(page_size=st.integers(min_value=1, max_value=40), style=st.sampled_from(["page_number", "last_key"]))
def test_sandbox_paging_returns_every_row_exactly_once(page_size: int, style: str) -> None:
    sandbox = _seeded()
    seen: list[str] = []
    page, last_key = 1, None
    while True:
        params = {"BusinessObject": "AR1", "PageSize": str(page_size)}
        if style == "page_number":
            params["PageNumber"] = str(page)
        elif last_key is not None:
            params["lastKey"] = last_key
        rows = ReadRequest(sandbox, params).select(Quirks())
        seen += [r["SUB_NR"] for r in rows]
        if len(rows) < page_size:
            break
        page, last_key = page + 1, rows[-1]["SUB_NR"]
    assert seen == sorted(r["SUB_NR"] for r in sandbox.rows("CONTACT"))


@cache
def _seeded() -> Sandbox:
    sandbox = Sandbox()
    seed(sandbox, seed=5, size=30)
    return sandbox
