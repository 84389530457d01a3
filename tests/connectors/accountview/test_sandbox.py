"""The sandbox itself: wire details of NOTES §14 (case-insensitive names, response shape, auth and company
checks), the deterministic seed, the admin surface under /_sandbox/ and the Python inspection API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.accountview.sandbox.seed import seed
from koppel.connectors.accountview.sandbox.state import Sandbox
from koppel.connectors.sandbox_catalogue import catalogue, is_valid_ean13


def _headers(client: AccountViewClient, sandbox: AccountViewSandbox) -> dict[str, str]:
    tokens = client.token_store.load()
    assert tokens is not None
    return {"authorization": f"Bearer {tokens.access_token}", "X-COMPANY": sandbox.company_id}


def test_names_match_case_insensitively(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    headers = _headers(client, sandbox)
    upper = httpx.get(
        f"{sandbox.url}/API/V3/AccountViewData",
        headers=headers,
        params={
            "BusinessObject": "AR1",
            "PageSize": "2",
            "FilterControlSource1": "contact.sub_nr",
            "FilterOperator1": "EQUAL",
            "FilterValueType1": "C",
            "FilterValue1": "10001   ",
        },
    ).json()
    lower = httpx.get(
        f"{sandbox.url}/api/v3/accountviewdata",
        headers=headers,
        params={
            "businessobject": "ar1",
            "pagesize": "2",
            "filtercontrolsource1": "SUB_NR",
            "filteroperator1": "equal",
            "filtervaluetype1": "c",
            "filtervalue1": "10001",
        },
    ).json()
    assert upper == lower and upper["CONTACT"][0]["SUB_NR"] == "10001"
    body = {
        "businessobject": "AG1",
        "table": {
            "definition": {
                "name": "art_grp",
                "fields": [
                    {"name": "rowid", "fieldtype": "C"},
                    {"name": "ag_code", "fieldtype": "C"},
                    {"name": "ag_desc", "fieldtype": "C"},
                ],
            }
        },
        "tabledata": {"data": {"rows": [{"values": ["1", "tuin", "Tuin"]}]}},
    }
    created = httpx.post(f"{sandbox.url}/api/v3/accountviewdata", headers=headers, json=body).json()
    assert created["ART_GRP"][0]["AG_CODE"] == "TUIN"


def test_response_shape(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    answer = httpx.get(
        f"{sandbox.url}/api/v3/accountviewdata",
        headers=_headers(client, sandbox),
        params={"BusinessObject": "SO1", "PageSize": "2"},
    )
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert list(body) == ["SO_HDR", "SO_LINE"]
    assert [h["SO_HDR_Id"] for h in body["SO_HDR"]] == [0, 1] and all(
        h["EXT_KEY"] == 0 for h in body["SO_HDR"]
    )
    assert {line["SO_HDR_Id"] for line in body["SO_LINE"]} <= {0, 1}
    assert [line["SO_LINE_Id"] for line in body["SO_LINE"]] == list(range(len(body["SO_LINE"])))
    empty = httpx.get(
        f"{sandbox.url}/api/v3/accountviewdata",
        headers=_headers(client, sandbox),
        params={"BusinessObject": "AK1", "FilterControlSource1": "ART_CODE", "FilterValue1": "NONE"},
    ).json()
    assert empty == {"ARTICLE": []}
    dates = sandbox.rows("SO_HDR")[0]["ORD_DATE"]
    assert len(dates) == 19 and dates[10] == "T"


def test_auth_and_company_are_checked(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    url = f"{sandbox.url}/api/v3/accountviewdata?BusinessObject=AR1"
    missing = httpx.get(url)
    assert missing.status_code == 401 and missing.json()["ErrorType"] == "AuthenticationError"
    headers = _headers(client, sandbox)
    bearer = {"authorization": headers["authorization"]}
    assert httpx.get(url, headers={**bearer, "x-company": "other"}).status_code == 403
    assert httpx.get(url, headers=bearer).status_code == 400
    assert httpx.get(f"{sandbox.url}/api/v3/companies", headers=bearer).json()
    unknown_bo = httpx.get(f"{sandbox.url}/api/v3/accountviewdata?BusinessObject=XX9", headers=headers)
    assert unknown_bo.status_code == 400 and "XX9" in unknown_bo.json()["ErrorMessage"]


def test_discovery_endpoints(client: AccountViewClient) -> None:
    codes = {bo["Code"]: bo for bo in client.business_objects()}
    assert codes["AR1"]["UpdateAllowed"] and not codes["DJ2P"]["InsertAllowed"]
    fields = {f["FIELD_NAME"]: f for f in client.table_fields("CONTACT")}
    assert fields["ACCT_NAME"]["FIELD_LEN"] == 40 and fields["SUB_NR"]["FLD_FMT"] == "!"


def test_seed_is_deterministic_any_size_and_shares_the_catalogue() -> None:
    first, second, big = Sandbox(), Sandbox(), Sandbox()
    seed(first, seed=3, size=20)
    seed(second, seed=3, size=20)
    strip = ("INP_DATE", "CNG_DATE", "ORD_DATE")
    for table in ("CONTACT", "ARTICLE", "SO_LINE", "DEL_ADDR"):
        assert [{k: v for k, v in r.items() if k not in strip} for r in first.rows(table)] == [
            {k: v for k, v in r.items() if k not in strip} for r in second.rows(table)
        ]
    counts = seed(big, seed=3, size=400)
    assert counts["ARTICLE"] == 400 and counts["CONTACT"] == 200
    assert [r["ART_CODE"] for r in big.rows("ARTICLE")] == [i.sku for i in catalogue(3, 400)]
    assert all(is_valid_ean13(r["BAR_CODE"]) for r in big.rows("ARTICLE"))
    contacts = big.rows("CONTACT")
    domains = [r["MAIL_BUS"].split("@")[1] for r in contacts]
    assert len(set(domains)) < len(domains)  # some debtors share an e-mail domain
    assert any(r["MAIN_CONT"] for r in contacts) and any(not r["MAIN_CONT"] for r in contacts)
    assert any(r["QTY_RSRV"] > 0 for r in big.rows("ARTICLE"))
    assert {r["VAT_PCT"] for r in big.rows("VAT")} == {21.0, 9.0, 0.0}
    assert any(r["IS_REVERSE"] for r in big.rows("VAT"))


def test_admin_surface(sandbox: AccountViewSandbox) -> None:
    admin = f"{sandbox.url}/_sandbox"
    index = httpx.get(admin).json()
    assert index["credentials"]["client_id"] == sandbox.info.client_id and index["counts"]["ARTICLE"] == 30
    assert httpx.post(f"{admin}/reset").json()["counts"]["ARTICLE"] == 0
    assert httpx.post(f"{admin}/seed", json={"seed": 2, "size": 12}).json()["counts"]["ARTICLE"] == 12
    table = httpx.get(f"{admin}/tables/article", params={"limit": 3}).json()
    assert table["total"] == 12 and len(table["ARTICLE"]) == 3
    one = httpx.get(f"{admin}/tables/contact", params={"where": "SUB_NR:10001"}).json()
    assert one["total"] == 1
    assert httpx.put(f"{admin}/quirks", json={"padded_strings": True}).json()["padded_strings"] is True
    assert httpx.put(f"{admin}/quirks", json={"nonsense": True}).status_code == 400
    faults = httpx.post(f"{admin}/faults", json={"kind": "latency", "seconds": 0.01}).json()
    assert faults[0]["kind"] == "latency"
    assert httpx.post(f"{admin}/faults/relay-offline", json={"count": 1}).json()[1]["status"] == 503
    assert httpx.delete(f"{admin}/faults").json() == []
    assert httpx.put(f"{admin}/auth", json={"access_token_ttl": 60}).json()["access_token_ttl"] == 60
    sandbox.authorised_client()
    assert httpx.post(f"{admin}/tokens/expire").json()["expired"] >= 1
    httpx.post(f"{admin}/tokens/revoke")
    state = httpx.get(f"{admin}/state").json()
    assert state["grants"] and all(g["revoked"] for g in state["grants"])


@pytest.mark.parametrize("path", ["/api/v3/Companies", "/api/v3/companies/"])
def test_companies_path_variants(client: AccountViewClient, sandbox: AccountViewSandbox, path: str) -> None:
    headers = _headers(client, sandbox)
    assert httpx.get(sandbox.url + path, headers=headers).json()[0]["Code"] == "DEMO"


def test_state_survives_save_and_load(sandbox: AccountViewSandbox, tmp_path: Path) -> None:
    sandbox.save(tmp_path / "av.json")
    before = sandbox.counts()
    sandbox.reset()
    sandbox.load(tmp_path / "av.json")
    assert sandbox.counts() == before
    assert sandbox.rows("CONTACT", SUB_NR="10001")
