"""The generic read over real HTTP: both paging styles, filters and operators, and every quirk mode."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.accountview.wire import Filter
from koppel.errors import NeedsAttention

from .conftest import fast_options


@pytest.mark.parametrize("paging", ["page_number", "last_key"])
def test_paging_reads_every_row_once(
    client: AccountViewClient, sandbox: AccountViewSandbox, paging: str
) -> None:
    rows = list(client.read("AK1", page_size=7, paging=paging))  # type: ignore[arg-type]
    codes = [r["ART_CODE"] for r in rows]
    assert codes == sorted(r["ART_CODE"] for r in sandbox.rows("ARTICLE"))
    assert sandbox.calls["read:AK1"] == 5  # 30 rows: 4 full pages and a short one


@pytest.mark.parametrize("paging", ["page_number", "last_key"])
def test_paging_stops_safely_when_the_server_ignores_it(
    client: AccountViewClient, sandbox: AccountViewSandbox, paging: str
) -> None:
    sandbox.quirks.ignore_paging = True
    rows = list(client.read("AK1", page_size=10, paging=paging))  # type: ignore[arg-type]
    assert len(rows) == 10 and len({r["ART_CODE"] for r in rows}) == 10
    assert sandbox.calls["read:AK1"] == 2


def test_read_is_lazy(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    rows = client.read("AR1", page_size=5)
    assert sandbox.calls["read:AR1"] == 0
    next(rows)
    assert sandbox.calls["read:AR1"] == 1


def test_fields_filters_operators_and_sort(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    some = sandbox.rows("ARTICLE")[:3]
    rows = list(
        client.read(
            "ak1",
            fields=["ART_CODE", "article.px_sell"],
            filters=[Filter("PX_SELL", 50, "GreaterThanOrEqual")],
            sort=["PX_SELL"],
            descending=True,
        )
    )
    prices = [r["PX_SELL"] for r in rows]
    assert prices == sorted(prices, reverse=True) and all(p >= 50 for p in prices)
    assert set(rows[0]) == {"ART_CODE", "PX_SELL", "ARTICLE_Id", "EXT_KEY"}
    prefix = some[0]["ART_CODE"][:6]
    simple = [r for r in sandbox.rows("ARTICLE") if r["ART_CODE"].startswith(prefix)]  # not the variants
    assert len(list(client.read("AK1", filters=[Filter("ART_CODE", prefix, "StartsWith")]))) == len(simple) == 24
    contains = list(client.read("AK1", filters=[Filter("ART_DESC1", some[0]["ART_DESC1"][2:6], "Contains")]))
    assert some[0]["ART_CODE"] in {r["ART_CODE"] for r in contains}
    either = list(
        client.read(
            "AK1",
            match_any=True,
            filters=[Filter("ART_CODE", some[0]["ART_CODE"]), Filter("ART_CODE", some[1]["ART_CODE"])],
        )
    )
    assert len(either) == 2
    not_equal = list(client.read("AK1", filters=[Filter("ART_CODE", some[0]["ART_CODE"], "NotEqual")]))
    assert len(not_equal) == 29
    in_list = list(client.read("AK1", filters=[Filter("ART_CODE", [r["ART_CODE"] for r in some])]))
    assert len(in_list) == 3


def test_date_filters_use_foxpro_literals(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    future = datetime.now() + timedelta(days=1)
    assert list(client.read("AK1", filters=[Filter("CNG_DATE", future, "DateOnOrAfterDate")])) == []
    past = datetime.now() - timedelta(days=1)
    assert len(list(client.read("AK1", filters=[Filter("CNG_DATE", past, "42")]))) == 30
    assert (
        len(list(client.read("AK1", filters=[Filter("CNG_DATE", future.date(), "DateOnOrBeforeDate")]))) == 30
    )


def test_detail_rows_are_nested_under_their_header(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    orders = list(client.read("SO1"))
    assert orders and all(isinstance(o["SO_LINE"], list) and o["SO_LINE"] for o in orders)
    assert sum(len(o["SO_LINE"]) for o in orders) == sandbox.count("SO_LINE")


def test_quirk_padded_strings_are_trimmed(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    sandbox.quirks.padded_strings = True
    code = sandbox.rows("ARTICLE")[0]["ART_CODE"]
    article = client.get_articles([code])[code]
    assert article.code == code and not article.description.endswith(" ")
    vat = client.vat_codes()[0]
    assert len(vat.code) <= 2


def test_quirk_404_on_empty_read_means_no_rows(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    sandbox.quirks.empty_404 = True
    assert client.find_debtor_by_email("nobody@example.org") is None
    assert client.get_articles(["NOPE"]) == {}


def test_quirk_single_object_instead_of_list(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    sandbox.quirks.single_object = True
    code = sandbox.rows("ARTICLE")[4]["ART_CODE"]
    assert list(client.get_articles([code])) == [code]
    debtor = sandbox.rows("CONTACT")[0]
    found = client.find_debtor_by_email(debtor["MAIL_BUS"])
    assert found is not None and found.number == debtor["SUB_NR"]


def test_quirk_error_with_http_200_is_still_an_error(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    sandbox.quirks.error_200 = True
    with pytest.raises(NeedsAttention) as caught:
        list(client.read("AK1", filters=[Filter("NO_SUCH_FIELD", "x")]))
    assert caught.value.status == 200 and "ARTICLE.NO_SUCH_FIELD" in caught.value.message


def test_all_quirks_at_once_still_read_correctly(sandbox: AccountViewSandbox) -> None:
    sandbox.quirks.update({"padded_strings": True, "single_object": True, "empty_404": True})
    with sandbox.authorised_client(options=fast_options(sandbox, paging="last_key")) as client:
        rows = list(client.read("AR1", page_size=4))
    assert [r["SUB_NR"] for r in rows] == sorted(r["SUB_NR"] for r in sandbox.rows("CONTACT"))
