"""A deterministic, realistic administration of any size: ledger accounts, journals, VAT codes (21/9/0 and
reverse charge), payment conditions and methods, article groups, articles from the shared catalogue
(same SKUs and EANs as the MijnWebwinkel sandbox: simple and variant articles, images, stock), debtors
(companies and persons, some sharing e-mail domains), delivery addresses and open sales orders whose lines
reserve stock.

Everything but the articles goes through the sandbox's own write path, so seeded data obeys the same rules as
API writes; articles are stored in bulk exactly as that path would store them (`articles.seed_articles`),
so 100,000 of them take seconds. Debtors (at most 1,000) and orders (at most 500) do not grow beyond that.
"""

from __future__ import annotations

import random
from typing import Any

from faker import Faker

from koppel.connectors.accountview.records import postcode
from koppel.connectors.accountview.sandbox.articles import catalogue_values, seed_articles
from koppel.connectors.accountview.sandbox.columns import default_value, store
from koppel.connectors.accountview.sandbox.state import Sandbox
from koppel.connectors.accountview.wire import write_body
from koppel.connectors.sandbox_catalogue import GROUPS, catalogue, iter_catalogue

LEDGER = [
    ("1000", "Kas", 0),
    ("1100", "Bank", 0),
    ("1300", "Debiteuren", 0),
    ("1600", "Crediteuren", 0),
    ("1510", "Af te dragen btw hoog", 0),
    ("1511", "Af te dragen btw laag", 0),
    ("1512", "Btw verlegd", 0),
    ("8000", "Omzet hoog tarief", 1),
    ("8010", "Omzet laag tarief", 1),
    ("8020", "Omzet 0%", 1),
    ("8030", "Omzet verlegd (EU)", 1),
    ("8100", "Verzendkosten", 1),
]
JOURNALS = [
    ("KAS", "Kasboek", 1),
    ("BNK", "Bankboek", 2),
    ("INK", "Inkoopboek", 3),
    ("VRK", "Verkoopboek", 4),
    ("MEM", "Memoriaal", 5),
]
# code, name, percentage, ledger, VAT-return box, reverse charge
VAT_CODES = [
    ("H1", "Btw hoog 21%", 21, "1510", "1A", False),
    ("L1", "Btw laag 9%", 9, "1511", "1B", False),
    ("N0", "Btw 0%", 0, "1510", "1E", False),
    ("VL", "Btw verlegd", 0, "1512", "2A", True),
    ("EU", "Intracommunautaire levering", 0, "1512", "3B", True),
]
PAYMENT_CONDITIONS = [
    ("00", "Contant", 0, 0, 0),
    ("14", "Binnen 14 dagen", 14, 0, 0),
    ("30", "Binnen 30 dagen", 30, 0, 0),
    ("08", "8 dagen 2% korting", 30, 8, 2),
]
PAYMENT_METHODS = [
    ("IDEAL", "iDEAL"),
    ("OVERBOEKING", "Bankoverschrijving"),
    ("INCASSO", "Automatische incasso"),
    ("CREDITCARD", "Creditcard"),
    ("PAYPAL", "PayPal"),
    ("ACHTERAF", "Achteraf betalen"),
]
MAX_DEBTORS, MAX_ORDERS = 1_000, 500
_FREE_MAIL = ("gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl")


def seed(sandbox: Sandbox, *, seed: int = 1, size: int = 50) -> dict[str, int]:
    """Fill an empty sandbox; `size` is the number of articles (debtors: size/2, at least 6)."""
    rng = random.Random(f"accountview-seed:{seed}")
    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    profile = sandbox.profile
    writer = _Writer(sandbox)

    writer.put(
        profile.company_bo,
        {"COMP_ID": "DEMO", "COMP_DESC": "Demo BV", "KVK_NR": "12345678", "VAT_NR": "NL001234567B01"},
    )
    for number, name, kind in LEDGER:
        writer.put(profile.ledger_bo, {"ACCT_NR": number, "ACCT_NAME": name, "ACCT_TYPE": kind})
    for code, name, kind in JOURNALS:
        writer.put(profile.journal_bo, {"DJ_CODE": code, "DJ_NAME": name, "DJ_TYPE": kind})
    for code, name, pct, ledger, box, reverse in VAT_CODES:
        writer.put(
            profile.vat_bo,
            {
                "VAT_CODE": code,
                "VAT_NAME": name,
                "VAT_PCT": pct,
                "VAT_ACCT": ledger,
                "FRM_CODE": box,
                "VAT_TYPE": 1,
                "CALC_TYPE": 1,
                "IS_REVERSE": reverse,
            },
        )
    for code, name, days, disc_days, pct in PAYMENT_CONDITIONS:
        writer.put(
            profile.payment_condition_bo,
            {"DISC_CODE": code, "DISC_DESC": name, "CRED_DAYS": days, "DISC_DAYS": disc_days, "PD_PCT": pct},
        )
    for code, name in PAYMENT_METHODS:
        writer.put(profile.payment_method_bo, {"PAY_TYPE": code, "PAY_DESC": name})
    for group in GROUPS:
        writer.put(profile.article_group_bo, {"AG_CODE": group.code, "AG_DESC": group.description})
    # Stock is technical = available, 0..120; one article in 25 keeps no stock (unlimited in the shop).
    seed_articles(
        sandbox,
        (
            catalogue_values(item, profile, technical=rng.randint(0, 120), managed=index % 25 != 24)
            for index, item in enumerate(iter_catalogue(seed, size))
        ),
    )
    # Orders and debtors do not grow past a few hundred: a large catalogue is for the products and stock
    # flows, and every order goes through the write path.
    order_articles = catalogue(seed, min(size, 2_000))

    debtors = []
    shared_domains = [f"{fake.unique.last_name().lower().replace(' ', '')}-groep.nl" for _ in range(2)]
    for index in range(max(6, min(size // 2, MAX_DEBTORS))):
        company = index % 5 in (0, 3)
        first, last = fake.first_name(), fake.last_name()
        address = {
            "ST_STREET": fake.street_name(),
            "ST_NR": str(rng.randint(1, 250)),
            "ST_EXTRA": rng.choice(["", "", "", "A", "bis", "2"]),
            "POST_CODE": postcode(fake.postcode(), "NL"),
            "CITY": fake.city(),
            "CNT_CODE": "NL",
        }
        address["ADDRESS1"] = " ".join(p for p in (address["ST_STREET"], address["ST_NR"], address["ST_EXTRA"]) if p)
        local = f"{first}.{last}".lower().replace(" ", "")
        if company:
            name = fake.company()[:40]
            domain = (
                shared_domains[index % 2]
                if index % 4 == 0
                else f"{''.join(c for c in name.lower() if c.isalnum())[:20]}.nl"
            )
            row: dict[str, Any] = {
                "ACCT_NAME": name,
                "MAIL_BUS": f"info.{index}@{domain}",
                "MAIN_CONT": f"{first} {last}"[:40],
                "MC_MAILB": f"{local}@{domain}"[:50],
                "COC_CODE": str(rng.randint(10000000, 99999999)),
                "VAT_NR": f"NL{rng.randint(0, 999999999):09d}B01",
                "DISC_CODE": rng.choice(["14", "30", "08"]),
            }
        else:
            row = {
                "ACCT_NAME": f"{first} {last}"[:40],
                "MAIL_BUS": f"{local}{index}@{rng.choice(_FREE_MAIL)}"[:50],
                "DISC_CODE": "00",
            }
        row.update(
            address,
            SRC_CODE=("".join(c for c in row["ACCT_NAME"] if c.isalnum()).upper() or "-")[:10],
            ACCT_NR=profile.debtor_collective_account,
            TEL_BUS=fake.phone_number()[:20],
            LNG_CODE="NL",
        )
        debtors.append(writer.put(profile.debtor_bo, row)["SUB_NR"])
        if company and index % 2 == 0:
            writer.put(
                profile.address_bo,
                {
                    "SUB_NR": debtors[-1],
                    "DEL_NAME": f"{row['ACCT_NAME']} magazijn"[:40],
                    "ADDRESS1": f"{fake.street_name()} {rng.randint(1, 99)}",
                    "POST_CODE": postcode(fake.postcode(), "NL"),
                    "CITY": fake.city(),
                    "CNT_CODE": "NL",
                },
            )

    for index in range(max(2, min(size // 10, MAX_ORDERS))):
        lines = [
            {"ART_CODE": item.sku, "ORD_QTY": rng.randint(1, 4), "ART_PX": item.price_excl}
            for item in rng.sample(order_articles, k=min(len(order_articles), rng.randint(1, 3)))
        ]
        writer.put(
            profile.sales_order_bo,
            {
                "RPL_INV": rng.choice(debtors),
                profile.sales_order_reference_field: f"Telefonische order {index + 1}",
            },
            {"SO_LINE": lines},
        )
    return {table: len(rows) for table, rows in sandbox.tables.items()}


class _Writer:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.dictionary = sandbox.dictionary

    def put(
        self,
        business_object: str,
        header: dict[str, Any],
        details: dict[str, list[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        bo = self.sandbox.business_object(business_object)
        body = write_body(self.dictionary, bo.code, bo.header, header, details or {}, book_date=None)
        if not bo.insert:  # read-only objects (the company header) are seeded directly
            return self._direct(bo.header, header)
        return self.sandbox.write(body, update=False)[bo.header][0]

    def _direct(self, table: str, values: dict[str, Any]) -> dict[str, Any]:
        specs = self.sandbox.dictionary.fields(table)
        row = {n: default_value(s) for n, s in specs.items()}
        code_page = self.sandbox.profile.code_page
        row.update({k: store(specs[k], v, code_page=code_page) for k, v in values.items()})
        with self.sandbox.lock:
            self.sandbox.tables[table][str(row[self.sandbox.schema.keys[table]])] = row
        return row
