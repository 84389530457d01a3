"""Faults injected at run time, and how the client maps them to the closed error vocabulary; a write whose
answer was lost is found again by its key and never written twice."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import (
    Address,
    DebtorIn,
    DeliveryAddressIn,
    SalesInvoiceIn,
    SalesInvoiceLineIn,
    SalesOrderIn,
    SalesOrderLineIn,
)
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.sandboxkit import Fault
from koppel.errors import BrokenConnection, RetryableError

from .conftest import fast_options


def _order(ref: str, article: str) -> SalesOrderIn:
    return SalesOrderIn(
        external_ref=ref,
        debtor_number="10001",
        order_date=datetime(2026, 5, 1),
        lines=[SalesOrderLineIn(article_code=article, quantity=Decimal(2))],
    )


def test_relay_offline_is_retryable_and_reads_retry_briefly(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    sandbox.relay_offline()
    with pytest.raises(RetryableError) as caught:
        client.journals()
    assert caught.value.status == 503 and "offline" in caught.value.message
    assert sandbox.faults.items[0].fired == 3  # three attempts, then up to the durable layer

    sandbox.faults.clear()
    sandbox.relay_offline(count=2)
    assert client.journals()  # the short retry layer rides out a brief outage


def test_429_with_retry_after_is_honoured(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    sandbox.faults.add(
        Fault(kind="http_status", status=429, retry_after="0.05", count=1, path="/api/v3/accountviewdata")
    )
    assert client.vat_codes()
    sandbox.faults.add(
        Fault(kind="http_status", status=429, retry_after="120", count=1, path="/api/v3/accountviewdata")
    )
    with pytest.raises(RetryableError) as caught:
        client.vat_codes()  # a long wait is left to the durable layer
    assert caught.value.retry_after == 120


def test_timeout_is_retryable(sandbox: AccountViewSandbox) -> None:
    sandbox.faults.add(Fault(kind="timeout", seconds=1.0, path="/api/v3/accountviewdata"))
    with (
        sandbox.authorised_client(options=fast_options(sandbox, retry_attempts=1), timeout=0.3) as client,
        pytest.raises(RetryableError),
    ):
        client.journals()


def test_malformed_answer_is_retryable(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    sandbox.faults.add(Fault(kind="malformed", path="/api/v3/accountviewdata", count=1))
    assert client.journals()  # a read is simply tried again
    sandbox.faults.add(Fault(kind="malformed", path="/api/v3/accountviewdata", count=3))
    with pytest.raises(RetryableError):
        client.journals()


def test_writes_are_not_retried_blindly(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    item = sandbox.rows("ARTICLE")[0]["ART_CODE"]
    sandbox.faults.add(Fault(kind="http_status", status=503, method="POST", path="/api/v3/accountviewdata"))
    with pytest.raises(RetryableError):
        client.create_sales_order(_order("2001", item))
    assert sandbox.faults.items[0].fired == 1 and sandbox.sales_orders_for("2001") == 0


def test_company_gone_is_a_broken_connection(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    sandbox.quirks.reject_company = True
    with pytest.raises(BrokenConnection):
        client.journals()
    client.company_id = None
    with pytest.raises(BrokenConnection):
        client.journals()  # no company left to pick


def test_revoked_grant_is_a_broken_connection(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    sandbox.auth.revoke_all()
    with pytest.raises(BrokenConnection):
        client.journals()


def test_lost_answer_of_a_sales_order_is_found_not_written_twice(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    item = sandbox.rows("ARTICLE")[0]["ART_CODE"]
    reserved_before = sandbox.rows("ARTICLE", ART_CODE=item)[0]["QTY_RSRV"]
    sandbox.drop_next_write()
    order = client.create_sales_order(_order("3001", item))
    assert order.number and order.external_ref == "3001"
    assert sandbox.faults.items[0].fired == 1
    assert sandbox.sales_orders_for("3001") == 1
    # The flow retries the whole step later: still one order, still one reservation.
    assert client.create_sales_order(_order("3001", item)).number == order.number
    assert sandbox.sales_orders_for("3001") == 1
    assert sandbox.rows("ARTICLE", ART_CODE=item)[0]["QTY_RSRV"] == reserved_before + 2


def test_lost_answer_of_a_debtor_is_found_by_email(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    sandbox.drop_next_write()
    debtor = client.create_debtor(DebtorIn(kind="person", name="Kees Verloren", email="kees@example.nl"))
    assert debtor.number and sandbox.count("CONTACT", MAIL_BUS="kees@example.nl") == 1


def test_lost_answer_of_an_invoice_and_an_address(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    sandbox.drop_next_write()
    invoice = client.create_sales_invoice(
        SalesInvoiceIn(
            external_ref="4001",
            debtor_number="10001",
            journal_code="VRK",
            invoice_date=date(2026, 5, 1),
            description="Webwinkel order 4001",
            lines=[
                SalesInvoiceLineIn(
                    ledger_account="8000", description="Artikelen", amount=Decimal("10"), vat_code="H1"
                )
            ],
        )
    )
    assert invoice.invoice_number and sandbox.count("DJ_PAGE", EXT_DESC="4001") == 1
    sandbox.drop_next_write()
    address = client.add_delivery_address(
        "10001",
        DeliveryAddressIn(
            name="Depot",
            address=Address(street="Havenweg", house_number="2", postcode="3011AA", city="Rotterdam"),
        ),
    )
    assert address.code and sandbox.count("DEL_ADDR", SUB_NR="10001", CITY="Rotterdam") == 1


def test_lost_answer_without_the_write_committed_is_retryable(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    item = sandbox.rows("ARTICLE")[0]["ART_CODE"]
    sandbox.faults.add(
        Fault(kind="timeout", seconds=0.1, method="POST", path="/api/v3/accountviewdata", count=1)
    )
    with pytest.raises(RetryableError):
        client.create_sales_order(_order("5001", item))
    assert sandbox.sales_orders_for("5001") == 0
    assert client.create_sales_order(_order("5001", item)).external_ref == "5001"


def test_wrong_base_url_is_a_broken_connection(sandbox: AccountViewSandbox) -> None:
    options = fast_options(sandbox, api_prefix="/api/v2")
    client = sandbox.client(options=options)
    client.token_store.save(sandbox.authorised_client().token_store.load())  # type: ignore[arg-type]
    with pytest.raises(BrokenConnection):
        client.companies()
