"""What the sandbox enforces beyond the data dictionary: primary keys, references that must exist,
extra mandatory fields, server-assigned numbers, values the server fills in (NOTES §14.5, §14.7)."""

from __future__ import annotations

from dataclasses import dataclass

from koppel.connectors.accountview.profile import AccountViewProfile

# Audit fields are always the server's; a client's values for them are ignored.
AUDIT_FIELDS = frozenset({"INP_DATE", "INP_USR", "CNG_DATE", "CNG_USR", "CNG_NR", "TRANS_NR"})


@dataclass(frozen=True)
class Reference:
    table: str
    field: str
    target: str
    target_field: str


@dataclass(frozen=True)
class Numbering:
    table: str
    field: str
    start: int
    width: int = 0  # zero-padding; 0: plain digits


@dataclass(frozen=True)
class Schema:
    keys: dict[str, str]  # table → primary key
    links: dict[str, tuple[str, ...]]  # detail table → columns copied from its header
    references: tuple[Reference, ...]
    extra_mandatory: dict[str, tuple[str, ...]]  # business object → fields mandatory for that object only
    numbering: tuple[Numbering, ...]
    unique_together: dict[str, tuple[str, ...]]  # table → fields unique together (besides the key)
    update_rejected: tuple[str, ...]  # business objects whose PUT AccountView refuses

    def key(self, table: str) -> str:
        return self.keys[table]


def build_schema(profile: AccountViewProfile, *, debtor_number_width: int = 0) -> Schema:
    pay_cond, pay_meth = profile.payment_condition_table, profile.payment_method_table
    refs = [
        ("CONTACT", "ACCT_NR", "LEDGER", "ACCT_NR"),
        ("CONTACT", "VAT_CODE", "VAT", "VAT_CODE"),
        ("CONTACT", "DISC_CODE", pay_cond, "DISC_CODE"),
        ("DEL_ADDR", "SUB_NR", "CONTACT", "SUB_NR"),
        (profile.contact_person_table, "SUB_NR", "CONTACT", "SUB_NR"),
        ("ARTICLE", "AG_CODE", "ART_GRP", "AG_CODE"),
        ("ARTICLE", profile.article_vat_field, "VAT", "VAT_CODE"),
        ("SO_HDR", "RPL_INV", "CONTACT", "SUB_NR"),
        ("SO_HDR", "RPL_DEL", "CONTACT", "SUB_NR"),
        ("SO_HDR", "DEL_CODE", "DEL_ADDR", "REC_ID"),
        ("SO_HDR", "DISC_CODE", pay_cond, "DISC_CODE"),
        ("SO_HDR", "PAY_TYPE", pay_meth, "PAY_TYPE"),
        ("SO_LINE", "ART_CODE", "ARTICLE", "ART_CODE"),
        ("SO_LINE", "VAT_CODE", "VAT", "VAT_CODE"),
        ("DJ_PAGE", "DJ_CODE", "DAILY", "DJ_CODE"),
        ("DJ_PAGE", "SUB_NR", "CONTACT", "SUB_NR"),
        ("DJ_PAGE", "DISC_CODE", pay_cond, "DISC_CODE"),
        ("DJ_LINE", "ACCT_NR", "LEDGER", "ACCT_NR"),
        ("DJ_LINE", "VAT_CODE", "VAT", "VAT_CODE"),
        ("VAT", "VAT_ACCT", "LEDGER", "ACCT_NR"),
    ]
    return Schema(
        keys={
            "CONTACT": "SUB_NR",
            "DEL_ADDR": "REC_ID",
            "ARTICLE": "ART_CODE",
            "ART_GRP": "AG_CODE",
            "SO_HDR": profile.sales_order_number_field,
            "SO_LINE": "REC_ID",
            "DJ_PAGE": "PAGE_NR",
            "DJ_LINE": "REC_ID",
            "VAT": "VAT_CODE",
            "LEDGER": "ACCT_NR",
            "DAILY": "DJ_CODE",
            "COMP_HDR": "COMP_ID",
            pay_cond: "DISC_CODE",
            pay_meth: "PAY_TYPE",
            profile.contact_person_table: "PP_CODE",
        },
        links={"SO_LINE": (profile.sales_order_number_field,), "DJ_LINE": ("DJ_CODE", "PAGE_NR")},
        references=tuple(Reference(*r) for r in refs),
        extra_mandatory={profile.debtor_bo.upper(): ("ACCT_NR",)},
        numbering=(
            Numbering("CONTACT", "SUB_NR", 10001, debtor_number_width),
            Numbering("DEL_ADDR", "REC_ID", 1),
            Numbering("SO_HDR", profile.sales_order_number_field, 20250001),
            Numbering("SO_LINE", "REC_ID", 1),
            Numbering("DJ_PAGE", "PAGE_NR", 1),
            Numbering("DJ_PAGE", "INV_NR", 25000001),
            Numbering("DJ_LINE", "REC_ID", 1),
            Numbering(profile.contact_person_table, "PP_CODE", 1),
        ),
        unique_together={"DJ_PAGE": ("DJ_CODE", "INV_NR")},
        update_rejected=(profile.invoice_bo.upper(), profile.invoice_read_bo.upper()),
    )
