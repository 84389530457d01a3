"""Every typed helper of the client, over real HTTP against the sandbox."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import (
    Address,
    ContactPerson,
    DebtorIn,
    DeliveryAddressIn,
    SalesInvoiceIn,
    SalesInvoiceLineIn,
    SalesOrderIn,
    SalesOrderLineIn,
)
from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.sandbox_catalogue import GROUPS, catalogue, is_valid_ean13
from koppel.errors import NeedsAttention

from .conftest import fast_options

COMPANY = DebtorIn(
    kind="company",
    name="Bakkerij De Korenschoof B.V.",
    email="Inkoop@Korenschoof.nl",
    address=Address(
        street="Dorpsstraat", house_number="12", house_number_suffix="a", postcode="6711ab", city="Ede"
    ),
    phone="0318-123456",
    vat_number="nl812345678b01",
    coc_number="09123456",
    contact=ContactPerson(name="Piet Jansen", email="piet@korenschoof.nl"),
    payment_condition="30",
    external_id="mww-77",
)
PERSON = DebtorIn(
    kind="person",
    name="Anna de Vries",
    email="anna.devries@example.nl",
    address=Address(street="Kerkweg", house_number="3", postcode="1011 AA", city="Amsterdam"),
)


def test_companies_and_select_company(client: AccountViewClient) -> None:
    (company,) = client.companies()
    assert (company.code, company.description) == ("DEMO", "Demo BV")
    client.company_id = None
    assert client.select_company("demo").id == company.id
    assert client.journals()


def test_find_debtor_by_email_ignores_case(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    row = sandbox.rows("CONTACT")[2]
    found = client.find_debtor_by_email("  " + row["MAIL_BUS"].upper())
    assert found is not None and found.number == row["SUB_NR"] and found.name == row["ACCT_NAME"]
    assert client.find_debtor_by_email("nobody@example.org") is None


def test_seeded_debtors_are_companies_and_persons(client: AccountViewClient) -> None:
    kinds = {d.kind for d in (client.get_debtor(n) for n in ("10001", "10002", "10003", "10004")) if d}
    assert kinds == {"company", "person"}


def test_create_company_debtor_with_contact_person(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    debtor = client.create_debtor(COMPANY)
    assert debtor.number.isdigit() and debtor.kind == "company"
    assert debtor.email == "inkoop@korenschoof.nl"  # e-mails written in lower case
    assert debtor.address.postcode == "6711 AB"  # Dutch postcode as AccountView stores it
    assert debtor.vat_number == "NL812345678B01"  # upper-case format from the dictionary
    assert debtor.contact is not None and debtor.contact.name == "Piet Jansen"
    assert (
        debtor.search_code == "BAKKERIJDE" and debtor.external_id == "mww-77"
    )  # DEB_NR has no upper-case format
    stored = sandbox.rows("CONTACT", SUB_NR=debtor.number)[0]
    assert (
        stored["ACCT_NR"] == "1300" and stored["ADDRESS1"] == "Dorpsstraat 12 a" and stored["ST_EXTRA"] == "a"
    )
    assert client.find_debtor_by_email("inkoop@korenschoof.nl") == debtor.model_copy(update={"warnings": []})


def test_create_person_debtor(client: AccountViewClient) -> None:
    debtor = client.create_debtor(PERSON)
    assert debtor.kind == "person" and debtor.name == "Anna de Vries" and debtor.contact is None


def test_create_debtor_with_own_number_is_idempotent(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    first = client.create_debtor(PERSON.model_copy(update={"number": "w100"}))
    again = client.create_debtor(PERSON.model_copy(update={"number": "W100"}))
    assert first.number == again.number == "W100" and sandbox.count("CONTACT", SUB_NR="W100") == 1


def test_contact_person_module_mode(sandbox: AccountViewSandbox) -> None:
    profile = AccountViewProfile(contact_person_mode="module")
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as client:
        debtor = client.create_debtor(COMPANY)
        assert debtor.contact is not None and debtor.contact.code and debtor.contact.name == "Piet Jansen"
        assert sandbox.count("CONT_PERS", SUB_NR=debtor.number) == 1
        found = client.find_debtor_by_email(COMPANY.email)
        assert (
            found is not None and found.contact is not None and found.contact.email == "piet@korenschoof.nl"
        )


def test_update_debtor(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    debtor = client.create_debtor(PERSON)
    changed = client.update_debtor(
        debtor.number,
        PERSON.model_copy(
            update={
                "phone": "06-12345678",
                "address": Address(
                    street="Nieuwe Gracht", house_number="8", postcode="3512lv", city="Utrecht"
                ),
            }
        ),
    )
    assert changed.number == debtor.number and changed.phone == "06-12345678"
    assert changed.address.city == "Utrecht" and changed.address.postcode == "3512 LV"
    assert sandbox.count("CONTACT", SUB_NR=debtor.number) == 1
    assert sandbox.rows("CONTACT", SUB_NR=debtor.number)[0]["CNG_NR"] == 2


def test_delivery_address_is_added_once(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    debtor = client.create_debtor(COMPANY)
    wanted = DeliveryAddressIn(
        name="Korenschoof filiaal",
        address=Address(street="Markt", house_number="1", postcode="6711 aa", city="Ede"),
    )
    first = client.add_delivery_address(debtor.number, wanted)
    again = client.add_delivery_address(debtor.number, wanted)
    assert first.code and first.code == again.code and first.debtor_number == debtor.number
    assert [a.code for a in client.delivery_addresses(debtor.number)] == [first.code]


def test_get_articles_in_one_call(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    codes = [r["ART_CODE"] for r in sandbox.rows("ARTICLE")[:12]]
    articles = client.get_articles([c.lower() for c in codes] + ["DOES-NOT-EXIST"])
    assert sorted(articles) == sorted(codes)
    assert sandbox.calls["read:AK1"] == 1
    item = catalogue(7, 30)[0]
    article = articles[item.sku]
    assert article.description == item.name and article.price == item.price_excl
    assert article.ean == item.ean and is_valid_ean13(article.ean)
    assert article.vat_code in {"H1", "L1", "N0"} and article.group_code


def test_get_articles_with_match_any_filters(sandbox: AccountViewSandbox) -> None:
    codes = [r["ART_CODE"] for r in sandbox.rows("ARTICLE")[:12]]
    profile = sandbox.profile.model_copy(update={"list_filter": "match_any"})
    with sandbox.authorised_client(options=fast_options(sandbox, profile=profile)) as client:
        assert sorted(client.get_articles(codes)) == sorted(codes)
    assert sandbox.calls["read:AK1"] == 2  # at most 9 filters per call


def test_find_articles_by_ean(client: AccountViewClient) -> None:
    items = catalogue(7, 30)[3:6]
    found = client.find_articles_by_ean([i.ean for i in items] + ["8712345678906"])
    assert {ean: a.code for ean, a in found.items()} == {i.ean: i.sku for i in items}


def test_iter_articles_with_stock_and_changed_since(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    articles = list(client.iter_articles(page_size=8))
    assert len(articles) == 30
    reserved = [a for a in articles if a.reserved > 0]
    assert reserved, "the seed has open sales orders reserving stock"
    assert all(a.sellable == a.available - a.reserved for a in articles)
    assert list(client.iter_articles(changed_since=datetime.now() + timedelta(hours=1))) == []


def test_article_groups(client: AccountViewClient) -> None:
    groups = {g.code: g.description for g in client.article_groups()}
    assert groups["KEUKEN"] == "Keuken" and len(groups) == len(GROUPS)


def test_sales_order_create_find_and_reservation(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    debtor = client.create_debtor(COMPANY)
    address = client.add_delivery_address(
        debtor.number,
        DeliveryAddressIn(
            name="Magazijn",
            address=Address(street="Industrieweg", house_number="40", postcode="6710 BB", city="Ede"),
        ),
    )
    item = catalogue(7, 30)[1]
    before = client.get_articles([item.sku])[item.sku].reserved
    order = client.create_sales_order(
        SalesOrderIn(
            external_ref="1001",
            debtor_number=debtor.number,
            order_date=datetime(2026, 5, 1, 10, 30),
            delivery_address_code=address.code,
            email=COMPANY.email,
            payment_condition="14",
            payment_method="ideal",
            note="Graag bellen bij aflevering",
            lines=[
                SalesOrderLineIn(
                    article_code=item.sku.lower(), quantity=Decimal(3), unit_price=item.price_excl
                ),
                SalesOrderLineIn(article_code=item.sku, quantity=Decimal(1), description="Verzendkosten"),
            ],
        )
    )
    assert order.number and order.external_ref == "1001" and order.delivery_address_code == address.code
    assert order.payment_method == "IDEAL" and len(order.lines) == 2
    assert client.get_articles([item.sku])[item.sku].reserved == before + 4
    assert client.find_sales_order("1001") == order
    assert client.find_sales_order("1002") is None
    again = client.create_sales_order(
        SalesOrderIn(
            external_ref="1001",
            debtor_number=debtor.number,
            order_date=datetime(2026, 5, 1),
            lines=[SalesOrderLineIn(article_code=item.sku, quantity=Decimal(1))],
        )
    )
    assert again.number == order.number and sandbox.sales_orders_for("1001") == 1


def test_sales_order_for_unknown_article_needs_attention(
    client: AccountViewClient, sandbox: AccountViewSandbox
) -> None:
    with pytest.raises(NeedsAttention) as caught:
        client.create_sales_order(
            SalesOrderIn(
                external_ref="1003",
                debtor_number="10001",
                order_date=datetime(2026, 5, 1),
                lines=[SalesOrderLineIn(article_code="GEEN-ARTIKEL", quantity=Decimal(1))],
            )
        )
    assert caught.value.field == "SO_LINE.ART_CODE" and "GEEN-ARTIKEL" in caught.value.message
    assert sandbox.sales_orders_for("1003") == 0  # all or nothing


def test_sales_invoice_create_and_find(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    journal = client.sales_journal()
    assert journal is not None and journal.code == "VRK"
    invoice = client.create_sales_invoice(
        SalesInvoiceIn(
            external_ref="1001",
            debtor_number="10001",
            journal_code=journal.code,
            invoice_date=date(2026, 5, 2),
            description="Webwinkel order 1001",
            payment_condition="14",
            payment_method="IDEAL",
            lines=[
                SalesInvoiceLineIn(
                    ledger_account="8000",
                    description="Artikelen hoog",
                    amount=Decimal("100.00"),
                    vat_code="H1",
                    vat_amount=Decimal("21.00"),
                ),
                SalesInvoiceLineIn(
                    ledger_account="8010",
                    description="Artikelen laag",
                    amount=Decimal("10.00"),
                    vat_code="L1",
                    vat_amount=Decimal("0.90"),
                ),
            ],
        )
    )
    assert invoice.invoice_number and invoice.page_number and invoice.journal_code == "VRK"
    assert invoice.invoice_date == date(2026, 5, 2) and len(invoice.lines) == 2
    assert client.find_sales_invoice("1001") == invoice
    lines = sandbox.rows("DJ_LINE", PAGE_NR=invoice.page_number)
    assert {line["SRC_ID"] for line in lines} == {"10001"} and all(line["TRN_DATE"] for line in lines)
    again = client.create_sales_invoice(
        SalesInvoiceIn(
            external_ref="1001",
            debtor_number="10001",
            journal_code="VRK",
            invoice_date=date(2026, 5, 2),
            description="dubbel",
            lines=[
                SalesInvoiceLineIn(ledger_account="8000", description="x", amount=Decimal(1), vat_code="H1")
            ],
        )
    )
    assert again.page_number == invoice.page_number and sandbox.count("DJ_PAGE") == 1


def test_reference_data(client: AccountViewClient) -> None:
    vat = {v.code: v for v in client.vat_codes()}
    assert {v.percentage for v in vat.values()} >= {Decimal(21), Decimal(9), Decimal(0)}
    assert any(v.reverse_charge for v in vat.values())
    conditions = {c.code: c for c in client.payment_conditions()}
    assert conditions["30"].credit_days == 30 and conditions["08"].discount_pct == Decimal(2)
    assert "IDEAL" in {m.code for m in client.payment_methods()}
    ledger = {a.number: a.name for a in client.ledger_accounts()}
    assert ledger["1300"] == "Debiteuren" and "8000" in ledger
    assert "Verkoopboek" in {j.name for j in client.journals()}
