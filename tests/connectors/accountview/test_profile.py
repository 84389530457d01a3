"""The installation profile: every setting carries evidence, ASSUMPTIONS.md cannot drift from it, client
and sandbox agree under another profile, and the filter settings protect against duplicates and misleading
"missing" answers (list filters a server ignores, case-sensitive `Equal` on e-mail addresses)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from pydantic import ValidationError

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Address, DebtorIn, SalesOrderIn, SalesOrderLineIn
from koppel.connectors.accountview.profile import (
    ASSUMPTIONS,
    EVIDENCE,
    AccountViewProfile,
    assumptions_with_table,
    evidence,
)
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.sandbox_catalogue import catalogue
from koppel.errors import BrokenConnection

from .conftest import fast_options

MIXED_CASE = "Jan.Jansen@Example.nl"


# --- evidence and the human list ------------------------------------------------------------------------


def test_every_setting_carries_an_evidence_tag() -> None:
    missing = [name for name in AccountViewProfile.model_fields if not EVIDENCE.match(evidence(name))]
    assert missing == []


def test_assumptions_md_lists_the_profile_as_it_is() -> None:
    text = ASSUMPTIONS.read_text(encoding="utf-8")
    assert assumptions_with_table(text) == text, "run `python -m koppel.connectors.accountview.profile`"
    for name in AccountViewProfile.model_fields:
        assert f"| `{name}` |" in text


def test_settings_named_in_assumptions_md_exist() -> None:
    text = ASSUMPTIONS.read_text(encoding="utf-8")
    silent = text.split("## Where the sources are silent", 1)[1].split("\n## ", 1)[0]
    settings_column = [row.rsplit("|", 2)[-2] for row in silent.splitlines() if row.startswith("| ")]
    named = {name for cell in settings_column for name in re.findall(r"`([a-z_]+)`", cell)}
    assert named and named <= set(AccountViewProfile.model_fields)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"list_filter": "sometimes"}, "list_filter"),
        ({"sales_order_reference_field": "comment 1"}, "sales_order_reference_field"),
        ({"code_page": "klingon"}, "code_page"),
        ({"list_filter_size": 0}, "list_filter_size"),
        ({"table_layouts": {"COMMENT1": {"type": "C", "length": 60}}}, "table_layouts"),
        ({"table_layouts": {"SO_HDR.COMMENT1": {"type": "X", "length": 60}}}, "table_layouts"),
        ({"equal_case_sensitve": True}, "equal_case_sensitve"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(change: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        AccountViewProfile.model_validate(change)
    assert named in str(refused.value)


def test_names_are_taken_in_upper_case() -> None:
    profile = AccountViewProfile.model_validate({"article_ean_field": " ean_code ", "code_page": "windows-1252"})
    assert (profile.article_ean_field, profile.code_page) == ("EAN_CODE", "cp1252")


# --- client and sandbox under another profile -----------------------------------------------------------

OTHER = AccountViewProfile(
    article_ean_field="EAN_CODE",
    sales_order_reference_field="EXT_REF",
    payment_condition_table="BETCOND",
    table_layouts={"SO_HDR.EXT_REF": {"type": "C", "length": 20}},
)


@pytest.fixture(scope="module")
def other_sandbox() -> Iterator[AccountViewSandbox]:
    with AccountViewSandbox(seed=3, size=12, profile=OTHER) as sandbox:
        yield sandbox


def test_the_dictionary_follows_the_profile() -> None:
    dictionary = OTHER.dictionary()
    assert dictionary.field("ARTICLE", "EAN_CODE") and not dictionary.field("ARTICLE", "BAR_CODE")
    reference = dictionary.field("SO_HDR", "EXT_REF")
    assert reference is not None and (reference.type, reference.length) == ("C", 20)
    assert not dictionary.field("SO_HDR", "COMMENT1")
    assert dictionary.has_table("BETCOND") and not dictionary.has_table("PAY_COND")
    # A real dump's field stays when the profile names another one beside it.
    invoice = AccountViewProfile(invoice_reference_field="COMMENT2").dictionary()
    assert invoice.field("DJ_PAGE", "EXT_DESC") and invoice.field("DJ_PAGE", "COMMENT2")


def test_client_and_sandbox_work_under_another_profile(other_sandbox: AccountViewSandbox) -> None:
    item = catalogue(3, 12)[0]
    with other_sandbox.authorised_client(options=fast_options(other_sandbox)) as client:
        assert client.find_articles_by_ean([item.ean])[item.ean].code == item.sku
        assert client.payment_conditions()
        debtor = client.create_debtor(
            DebtorIn(kind="person", name="Els Bos", email="els@example.nl",
                     address=Address(street="Laan", house_number="1", postcode="1234 AB", city="Ede"))
        )
        order = SalesOrderIn(
            external_ref="MWW-9001",
            debtor_number=debtor.number,
            order_date=datetime(2026, 11, 30, 10, 0),
            lines=[SalesOrderLineIn(article_code=item.sku, quantity=Decimal(2), unit_price=item.price_excl)],
        )
        first = client.create_sales_order(order)
        again = client.create_sales_order(order)
        assert first.number == again.number and client.sales_order_numbers(["MWW-9001"]) == {
            "MWW-9001": first.number
        }
    assert other_sandbox.count("SO_HDR", EXT_REF="MWW-9001") == 1


# --- list filters a server does not understand ----------------------------------------------------------


class _DroppingParams(httpx.HTTPTransport):
    """A server that does not know some query parameters: they never reach the sandbox."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern, re.IGNORECASE)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        kept = [(k, v) for k, v in request.url.params.multi_items() if not self.pattern.fullmatch(k)]
        request.url = request.url.copy_with(params=kept)
        return super().handle_request(request)


def _client_through(sandbox: AccountViewSandbox, pattern: str, **profile: object) -> AccountViewClient:
    client = AccountViewClient(
        sandbox.url,
        client_id=sandbox.auth.settings.client_id,
        client_secret=sandbox.auth.settings.client_secret,
        token_store=sandbox.authorised_client().token_store,
        company_id=sandbox.company_id,
        options=fast_options(sandbox, profile=sandbox.profile.model_copy(update=profile)),
        http=httpx.Client(transport=_DroppingParams(pattern), timeout=5.0),
    )
    return client


def test_a_server_reading_the_list_as_one_value_is_a_broken_connection(sandbox: AccountViewSandbox) -> None:
    codes = [r["ART_CODE"] for r in sandbox.rows("ARTICLE")[:5]]
    with _client_through(sandbox, r"FilterIsListOfValues\d") as client:
        with pytest.raises(BrokenConnection) as broken:
            client.get_articles(codes)
        assert 'list_filter = "match_any"' in str(broken.value) and "ARTICLE.ART_CODE" in str(broken.value)
        with pytest.raises(BrokenConnection):
            client.sales_order_numbers([r["COMMENT1"] for r in sandbox.rows("SO_HDR")[:3]])
        # Keys that truly do not exist are still just missing, not an error.
        assert client.get_articles(["NOPE-1", "NOPE-2"]) == {}


def test_a_server_ignoring_filters_altogether_is_a_broken_connection(sandbox: AccountViewSandbox) -> None:
    with _client_through(sandbox, r"Filter\w*\d") as client, pytest.raises(BrokenConnection) as broken:
        client.get_articles(["NOPE-1", "NOPE-2"])
    assert "ignored the list filter" in str(broken.value)


def test_match_any_works_where_lists_are_not_understood(sandbox: AccountViewSandbox) -> None:
    codes = [r["ART_CODE"] for r in sandbox.rows("ARTICLE")[:5]]
    with _client_through(sandbox, r"FilterIsListOfValues\d", list_filter="match_any") as client:
        assert sorted(client.get_articles(codes)) == sorted(codes)


def test_a_list_read_of_keys_that_exist_costs_one_call(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    refs = [r["COMMENT1"] for r in sandbox.rows("SO_HDR")[:3]]
    before = sandbox.calls["read:SO1"]
    assert sorted(client.sales_order_numbers(refs)) == sorted(refs)
    assert sandbox.calls["read:SO1"] - before == 1


# --- case-sensitive Equal and e-mail addresses ----------------------------------------------------------


def _accountant_types_a_mixed_case_address(client: AccountViewClient) -> str:
    row = client.insert(
        client.profile.debtor_bo,
        {"ACCT_NAME": "Jan Jansen", "SRC_CODE": "JANJANSEN", "MAIL_BUS": MIXED_CASE,
         "ACCT_NR": client.profile.debtor_collective_account},
    ).row
    return str(row["SUB_NR"])


def test_a_mixed_case_address_in_accountview_is_found(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    """Both lookups the orders flow makes before it creates a debtor find the accountant's debtor."""
    number = _accountant_types_a_mixed_case_address(client)
    assert sandbox.rows("CONTACT", SUB_NR=number)[0]["MAIL_BUS"] == MIXED_CASE  # stored as typed
    assert client.debtor_numbers_by_email(["jan.jansen@example.nl", "nobody@example.nl"]) == {
        "jan.jansen@example.nl": number
    }
    found = client.find_debtor_by_email("jan.jansen@example.nl")
    assert found is not None and found.number == number


def test_the_index_reads_only_what_changed_after_the_first_lookup(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    client.debtor_numbers_by_email(["nobody@example.nl"])  # builds the index: every debtor once
    number = _accountant_types_a_mixed_case_address(client)
    before = sandbox.calls["read:AR1"]
    assert client.debtor_numbers_by_email(["JAN.jansen@example.nl"]) == {"jan.jansen@example.nl": number}
    assert sandbox.calls["read:AR1"] - before == 3  # the filtered read, the debtors changed since, the confirmation


def test_a_debtor_deleted_after_the_index_read_it_is_not_found(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    """A deletion leaves no changed row for the index to read: its answer is confirmed, or the order's
    customer would be written over a debtor that is gone (or whose number now belongs to someone else)."""
    number = _accountant_types_a_mixed_case_address(client)
    assert client.debtor_numbers_by_email(["jan.jansen@example.nl"]) == {"jan.jansen@example.nl": number}
    with sandbox.state.lock:
        contacts = sandbox.state.tables["CONTACT"]
        del contacts[next(key for key, row in contacts.items() if row["SUB_NR"] == number)]
    assert client.debtor_numbers_by_email(["jan.jansen@example.nl"]) == {}
    assert client.find_debtor_by_email("jan.jansen@example.nl") is None


def test_a_profile_claiming_equal_ignores_case_misses_the_address(sandbox: AccountViewSandbox) -> None:
    """The setting matters: the sandbox's Equal tells case apart, as the default profile assumes."""
    profile = sandbox.profile.model_copy(update={"equal_case_sensitive": False})
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as client:
        _accountant_types_a_mixed_case_address(client)
        assert client.debtor_numbers_by_email(["jan.jansen@example.nl"]) == {}


# --- the profile check's probes -------------------------------------------------------------------------


def test_the_check_passes_where_client_and_server_agree(client: AccountViewClient) -> None:
    from koppel.connectors.accountview.profile_check import check_profile

    report = check_profile(client)
    assert report.ok, [str(f) for f in report.findings]


def test_the_check_finds_a_server_that_does_not_understand_lists(sandbox: AccountViewSandbox) -> None:
    from koppel.connectors.accountview.profile_check import check_profile

    with _client_through(sandbox, r"FilterIsListOfValues\d") as client:
        report = check_profile(client)
    assert [f.subject for f in report.problems] == ["list_filter"]
    assert 'list_filter = "match_any"' in report.problems[0].message


def test_the_check_finds_a_profile_wrong_about_case(sandbox: AccountViewSandbox) -> None:
    from koppel.connectors.accountview.profile_check import check_profile

    profile = sandbox.profile.model_copy(update={"equal_case_sensitive": False})
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as client:
        report = check_profile(client)
    assert [f.subject for f in report.problems] == ["equal_case_sensitive"]
    assert "created twice" in report.problems[0].message


def test_a_copied_profile_has_its_own_dictionary() -> None:
    base = AccountViewProfile()
    assert base.dictionary().field("ARTICLE", "BAR_CODE")
    copied = base.model_copy(update={"article_ean_field": "EAN_CODE"})
    assert copied.dictionary().field("ARTICLE", "EAN_CODE") and not copied.dictionary().field("ARTICLE", "BAR_CODE")


def test_the_check_names_the_setting_of_a_product_field_the_server_lacks(sandbox: AccountViewSandbox) -> None:
    from koppel.connectors.accountview.profile_check import check_profile

    profile = sandbox.profile.model_copy(update={"article_webshop_field": "WEBSHOP_J", "article_parent_field": "HOOFD"})
    assert profile.dictionary().field("ARTICLE", "WEBSHOP_J") and not profile.dictionary().field("ARTICLE", "WEB_SHOP")
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as client:
        report = check_profile(client)
    problems = {f.subject: f.message for f in report.problems}
    assert set(problems) == {"ARTICLE.WEBSHOP_J", "ARTICLE.HOOFD"}
    assert "`article_webshop_field`" in problems["ARTICLE.WEBSHOP_J"]
    assert "`article_parent_field`" in problems["ARTICLE.HOOFD"]
