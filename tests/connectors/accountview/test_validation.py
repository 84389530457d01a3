"""Field rules: the sandbox rejects what AccountView would (AccountView-style errors naming TABLE.FIELD), the
client reports it as needs attention naming the field, and never cuts a value silently."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.fields import data_dictionary
from koppel.connectors.accountview.models import DebtorIn
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.accountview.wire import write_body
from koppel.errors import NeedsAttention

LONG_NAME = "Stichting Vrienden van het Openbaar Vervoer in Gelderland"  # 57 characters; ACCT_NAME holds 40


def _post(sandbox: AccountViewSandbox, client: AccountViewClient, body: dict[str, Any]) -> httpx.Response:
    tokens = client.token_store.load()
    assert tokens is not None
    return httpx.post(
        f"{sandbox.url}/api/v3/AccountViewData",
        json=body,
        headers={"Authorization": f"Bearer {tokens.access_token}", "X-Company": sandbox.company_id},
    )


def _debtor_body(**row: Any) -> dict[str, Any]:
    return write_body(data_dictionary(), "AR1", "CONTACT", row, {}, book_date=None)


def test_sandbox_rejects_an_over_long_value_with_an_accountview_error(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    answer = _post(sandbox, client, _debtor_body(ACCT_NAME=LONG_NAME, SRC_CODE="X", ACCT_NR="1300"))
    assert answer.status_code == 400
    body = answer.json()
    assert body["ErrorType"] == "AccountViewError" and isinstance(body["ErrorNumbers"], list)
    assert "CONTACT.ACCT_NAME" in body["ErrorMessage"] and "40" in body["ErrorMessage"]
    assert sandbox.count("CONTACT", ACCT_NAME=LONG_NAME[:40]) == 0


def test_sandbox_rejects_a_missing_mandatory_field(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    answer = _post(sandbox, client, _debtor_body(ACCT_NAME="Zonder zoekcode", ACCT_NR="1300"))
    assert answer.status_code == 400 and "CONTACT.SRC_CODE" in answer.json()["ErrorMessage"]


def test_client_reports_a_missing_mandatory_field_as_needs_attention(client: AccountViewClient) -> None:
    with pytest.raises(NeedsAttention) as caught:
        client.insert("AR1", {"ACCT_NAME": "Zonder grootboekrekening", "SRC_CODE": "ZONDER"})
    assert caught.value.field == "CONTACT.ACCT_NR" and caught.value.status == 400
    assert "verplicht" in caught.value.message and caught.value.system == "accountview"


def test_client_never_cuts_silently(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    with pytest.raises(NeedsAttention) as caught:
        client.create_debtor(DebtorIn(kind="company", name=LONG_NAME, email="ov@example.nl"))
    assert caught.value.field == "CONTACT.ACCT_NAME" and caught.value.value == LONG_NAME
    assert "40" in caught.value.message
    assert client.find_debtor_by_email("ov@example.nl") is None


def test_client_truncates_with_a_warning_when_asked(client: AccountViewClient) -> None:
    debtor = client.create_debtor(
        DebtorIn(kind="company", name=LONG_NAME, email="ov@example.nl"), truncate=True
    )
    assert debtor.name == LONG_NAME[:40]
    (warning,) = debtor.warnings
    assert (warning.field, warning.value, warning.max_length, warning.stored) == (
        "CONTACT.ACCT_NAME",
        LONG_NAME,
        40,
        LONG_NAME[:40],
    )


def test_key_fields_are_never_truncated(client: AccountViewClient) -> None:
    long_email = "a" * 45 + "@example.nl"
    with pytest.raises(NeedsAttention) as caught:
        client.create_debtor(DebtorIn(kind="person", name="Lang Adres", email=long_email), truncate=True)
    assert caught.value.field == "CONTACT.MAIL_BUS"


def test_lenient_length_quirk_cuts_on_the_server(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    sandbox.quirks.lenient_lengths = True
    answer = _post(sandbox, client, _debtor_body(ACCT_NAME=LONG_NAME, SRC_CODE="X", ACCT_NR="1300"))
    assert answer.status_code == 200 and answer.json()["CONTACT"][0]["ACCT_NAME"] == LONG_NAME[:40]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"ACCT_NAME": "X", "SRC_CODE": "X", "ACCT_NR": "9999"}, "CONTACT.ACCT_NR"),  # unknown ledger
        (
            {"ACCT_NAME": "X", "SRC_CODE": "X", "ACCT_NR": "1300", "CRED_LIM": "veel"},
            "CONTACT.CRED_LIM",
        ),  # type
        ({"ACCT_NAME": "X", "SRC_CODE": "X", "ACCT_NR": "1300", "NO_SUCH": "x"}, "CONTACT.NO_SUCH"),  # column
        (
            {"SUB_NR": "10001", "ACCT_NAME": "X", "SRC_CODE": "X", "ACCT_NR": "1300"},
            "CONTACT.SUB_NR",
        ),  # duplicate
    ],
)
def test_sandbox_validation_errors_name_the_field(
    client: AccountViewClient, row: dict[str, Any], field: str
) -> None:
    with pytest.raises(NeedsAttention) as caught:
        client.insert("AR1", row)
    assert field in caught.value.message


def test_upper_case_formats_are_applied(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    result = client.insert(
        "AR1",
        {
            "ACCT_NAME": "Klein",
            "SRC_CODE": "klein",
            "ACCT_NR": "1300",
            "CNT_CODE": "nl",
            "MAIL_BUS": "Klein@Example.nl",
        },
    )
    row = result.row
    assert (row["SRC_CODE"], row["CNT_CODE"], row["MAIL_BUS"]) == ("KLEIN", "NL", "Klein@Example.nl")


def test_body_shape_errors(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    body = _debtor_body(ACCT_NAME="X", SRC_CODE="X", ACCT_NR="1300")
    body["TableData"]["Data"]["Rows"][0]["Values"].pop()
    assert "values" in _post(sandbox, client, body).json()["ErrorMessage"]
    body = _debtor_body(ACCT_NAME="X", SRC_CODE="X", ACCT_NR="1300")
    body["Table"]["Definition"]["Name"] = "ARTICLE"
    assert "ARTICLE" in _post(sandbox, client, body).json()["ErrorMessage"]
    invoice = write_body(
        data_dictionary(), "DJ2", "DJ_PAGE", {"DJ_CODE": "VRK", "HDR_DESC": "x"}, {}, book_date=None
    )
    tokens = client.token_store.load()
    assert tokens is not None
    answer = httpx.put(
        f"{sandbox.url}/api/v3/accountviewdata",
        json=invoice,
        headers={"Authorization": f"Bearer {tokens.access_token}", "x-company": sandbox.company_id},
    )
    assert "not supported" in answer.json()["ErrorMessage"]
