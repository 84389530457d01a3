"""The installation profile: business-object codes, tables and field names that differ per installation
or that no public source confirms. Every default here is listed in ASSUMPTIONS.md; change them in
configuration (e.g. `AccountViewProfile.model_validate(settings_dict)`), not in code.
Client and sandbox take the same profile, so the sandbox simulates exactly what the client expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class BusinessObject:
    code: str
    description: str
    header: str  # main table: GET response key and POST `Definition.Name`
    details: tuple[str, ...] = ()  # detail tables, linked by `<HEADER>_Id` / `HeaderId`
    key: str = ""  # primary key of the header table, also the `lastKey` paging key
    insert: bool = False
    update: bool = False
    assumed: bool = False  # BO code/table not confirmed by any source


class AccountViewProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Confirmed business objects (NOTES §9).
    debtor_bo: str = "AR1"
    address_bo: str = "ADDR"
    article_bo: str = "AK1"
    article_group_bo: str = "AG1"
    sales_order_bo: str = "SO1"
    invoice_bo: str = "DJ2"  # write
    invoice_read_bo: str = "DJ2P"  # read variant
    vat_bo: str = "VA1"
    ledger_bo: str = "GL1"
    journal_bo: str = "DJ1"
    company_bo: str = "CMP1"
    # Assumed business objects: codes and tables unknown (NOTES §9 "not found in any source").
    payment_condition_bo: str = "BC1"
    payment_condition_table: str = "PAY_COND"
    payment_method_bo: str = "BW1"
    payment_method_table: str = "PAY_METH"
    contact_person_bo: str = "CP1"
    contact_person_table: str = "CONT_PERS"
    # "main_contact": the contact person lives in CONTACT.MAIN_CONT/MC_MAILB (dictionary fields, confirmed);
    # "module": a separate contact-person business object (the optional module, shape assumed).
    contact_person_mode: str = "main_contact"

    # Assumed field names.
    article_ean_field: str = "BAR_CODE"
    article_vat_field: str = "VAT_CODE"
    article_available_field: str = "QTY_AVAIL"
    article_reserved_field: str = "QTY_RSRV"
    sales_order_number_field: str = "ORD_NR"
    sales_order_reference_field: str = "COMMENT1"  # S3 writes the web-shop order id here
    invoice_reference_field: str = "EXT_DESC"

    # Installation data (NOTES §12.5, §12.7).
    debtor_collective_account: str = "1300"
    sales_journal_name: str = "Verkoopboek"

    # Money and text rules of the administration, all [assumed]: how AccountView turns what we send into
    # line totals, VAT per rate and a document total, and how its Visual FoxPro tables store text.
    prices_include_vat: bool = False  # [assumed] unit prices on sales-order lines are incl. VAT
    vat_rounding: Literal["line", "document"] = "line"  # [assumed] VAT rounded to the cent per line or per rate
    price_decimals: int = 4  # [assumed] decimals a unit price keeps (FoxPro currency holds 4)
    code_page: str = "cp1252"  # [assumed] Windows code page of the tables (1252 in Western Europe)

    def business_objects(self) -> dict[str, BusinessObject]:
        """Every business object Koppel reads or writes, by code."""
        bos = [
            BusinessObject(self.debtor_bo, "Debiteuren", "CONTACT", key="SUB_NR", insert=True, update=True),
            BusinessObject(
                self.address_bo, "Afleveradressen", "DEL_ADDR", key="REC_ID", insert=True, update=True
            ),
            BusinessObject(self.article_bo, "Artikelen", "ARTICLE", key="ART_CODE", insert=True, update=True),
            BusinessObject(self.article_group_bo, "Artikelgroepen", "ART_GRP", key="AG_CODE", insert=True),
            BusinessObject(
                self.sales_order_bo,
                "Verkooporders",
                "SO_HDR",
                ("SO_LINE",),
                key=self.sales_order_number_field,
                insert=True,
            ),
            BusinessObject(
                self.invoice_bo, "Dagboekbladzijden", "DJ_PAGE", ("DJ_LINE",), key="PAGE_NR", insert=True
            ),
            BusinessObject(
                self.invoice_read_bo, "Dagboekbladzijden (lezen)", "DJ_PAGE", ("DJ_LINE",), key="PAGE_NR"
            ),
            BusinessObject(self.vat_bo, "Btw-codes", "VAT", key="VAT_CODE", insert=True),
            BusinessObject(self.ledger_bo, "Grootboekrekeningen", "LEDGER", key="ACCT_NR", insert=True),
            BusinessObject(self.journal_bo, "Dagboeken", "DAILY", key="DJ_CODE", insert=True),
            BusinessObject(self.company_bo, "Ondernemingsgegevens", "COMP_HDR", key="COMP_ID"),
            BusinessObject(
                self.payment_condition_bo,
                "Betalingscondities",
                self.payment_condition_table,
                key="DISC_CODE",
                insert=True,
                assumed=True,
            ),
            BusinessObject(
                self.payment_method_bo,
                "Betaalwijzen",
                self.payment_method_table,
                key="PAY_TYPE",
                insert=True,
                assumed=True,
            ),
            BusinessObject(
                self.contact_person_bo,
                "Contactpersonen",
                self.contact_person_table,
                key="PP_CODE",
                insert=True,
                update=True,
                assumed=True,
            ),
        ]
        return {bo.code.upper(): bo for bo in bos}

    def business_object(self, code: str) -> BusinessObject:
        try:
            return self.business_objects()[code.upper()]
        except KeyError:
            raise KeyError(f"unknown business object {code!r}") from None
