"""The installation profile: every fact about one AccountView installation that Koppel relies on and that
differs per installation or that no public source confirms — business-object codes, tables, field names,
filter behaviour, money and text rules, OAuth details. It is part of the AccountView connection's settings
(`[connections.<name>.settings.profile]` in the integration file), validated on apply, and each setting
carries its evidence tag ("[confirmed …]", "[inferred …]", "[assumed …]"; NOTES = shared/reference
NOTES.md). `ASSUMPTIONS.md` holds the human list; its settings table is generated from this model
(`python -m koppel.connectors.accountview.profile`) and a test keeps the two equal.
Client and sandbox take the same profile, so the sandbox simulates exactly what the client expects.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from koppel.connectors.accountview.fields import DataDictionary, FieldSpec, data_dictionary

EVIDENCE = re.compile(r"^\[(confirmed|inferred|assumed)\b[^\]]*\]$")


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


def setting(default: Any, evidence: str, description: str) -> Any:
    """A profile setting: its default, where the default comes from, and what it means."""
    return Field(default, description=description, json_schema_extra={"evidence": evidence})


class FieldLayout(BaseModel):
    """The layout Koppel assumes for one field (as a `DCT_FLD` row would give it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["C", "M", "N", "Y", "B", "I", "L", "D", "T"]
    length: int = Field(ge=1)
    mandatory: bool = False
    upper: bool = False


# Assumed fields that a profile setting may rename: (table, name in dictionary/*.json, profile setting).
RENAMABLE_FIELDS = (
    ("ARTICLE", "BAR_CODE", "article_ean_field"),
    ("ARTICLE", "VAT_CODE", "article_vat_field"),
    ("ARTICLE", "QTY_AVAIL", "article_available_field"),
    ("ARTICLE", "QTY_RSRV", "article_reserved_field"),
    ("ARTICLE", "QTY_FREE2", "article_free_field"),
    ("ARTICLE", "QTY_TECH", "article_technical_field"),
    ("ARTICLE", "STOCK_ART", "article_stock_managed_field"),
    ("ARTICLE", "ART_DESC2", "article_short_description_field"),
    ("ARTICLE", "ART_TEXT", "article_long_description_field"),
    ("ARTICLE", "ART_WGT", "article_weight_field"),
    ("ARTICLE", "REC_BLK", "article_blocked_field"),
    ("ARTICLE", "WEB_SHOP", "article_webshop_field"),
    ("ARTICLE", "ART_PARENT", "article_parent_field"),
    ("ARTICLE", "ART_SIZE", "article_size_field"),
    ("ARTICLE", "ART_COLOUR", "article_colour_field"),
    ("ARTICLE", "IMG_MEDIUM", "article_image_name_field"),
    ("ARTICLE", "IMG_M_DATA", "article_image_data_field"),
    ("SO_HDR", "ORD_NR", "sales_order_number_field"),
    ("SO_LINE", "ORD_NR", "sales_order_number_field"),
    ("SO_HDR", "COMMENT1", "sales_order_reference_field"),
    ("DJ_PAGE", "EXT_DESC", "invoice_reference_field"),
)
RENAMABLE_TABLES = (
    ("PAY_COND", "payment_condition_table"),
    ("PAY_METH", "payment_method_table"),
    ("CONT_PERS", "contact_person_table"),
)


class AccountViewProfile(BaseModel):
    """One AccountView installation as Koppel assumes it. Change a setting in the connection's settings,
    never in code; `koppel check --integration NAME` compares it with the server's own dictionary."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- business objects ---------------------------------------------------------------------------------
    debtor_bo: str = setting("AR1", "[confirmed NOTES §9]", "business object of debtors (table CONTACT)")
    address_bo: str = setting("ADDR", "[confirmed NOTES §9]", "business object of delivery addresses (DEL_ADDR)")
    article_bo: str = setting("AK1", "[confirmed NOTES §9]", "business object of articles (ARTICLE)")
    article_group_bo: str = setting("AG1", "[confirmed NOTES §9]", "business object of article groups (ART_GRP)")
    sales_order_bo: str = setting("SO1", "[confirmed NOTES §9]", "business object of sales orders (SO_HDR, SO_LINE)")
    invoice_bo: str = setting("DJ2", "[confirmed NOTES §9]", "business object to write journal pages (invoices)")
    invoice_read_bo: str = setting("DJ2P", "[confirmed NOTES §9]", "business object to read journal pages")
    vat_bo: str = setting("VA1", "[confirmed NOTES §9]", "business object of VAT codes (VAT)")
    ledger_bo: str = setting("GL1", "[confirmed NOTES §9]", "business object of ledger accounts (LEDGER)")
    journal_bo: str = setting("DJ1", "[confirmed NOTES §9]", "business object of journals (DAILY)")
    company_bo: str = setting("CMP1", "[confirmed NOTES §9]", "business object of the company header (COMP_HDR)")
    payment_condition_bo: str = setting(
        "BC1", "[assumed NOTES §9: not found in any source]", "business object of payment conditions"
    )
    payment_condition_table: str = setting(
        "PAY_COND", "[assumed NOTES §9: not found in any source]", "table of payment conditions (key DISC_CODE)"
    )
    payment_method_bo: str = setting(
        "BW1", "[assumed NOTES §9: not found in any source]", "business object of payment methods"
    )
    payment_method_table: str = setting(
        "PAY_METH", "[assumed NOTES §9: not found in any source]", "table of payment methods (key PAY_TYPE)"
    )
    contact_person_bo: str = setting(
        "CP1", "[assumed NOTES §9: not found in any source]", "business object of contact persons (module mode)"
    )
    contact_person_table: str = setting(
        "CONT_PERS", "[assumed NOTES §9: not found in any source]", "table of contact persons (module mode)"
    )
    contact_person_mode: Literal["main_contact", "module"] = setting(
        "main_contact",
        "[confirmed NOTES App. A: CONTACT.MAIN_CONT, MC_MAILB; the module is assumed]",
        "main_contact: the company debtor's contact person in CONTACT.MAIN_CONT/MC_MAILB; "
        "module: a separate contact-person business object",
    )

    # --- fields -------------------------------------------------------------------------------------------
    article_ean_field: str = setting("BAR_CODE", "[assumed NOTES §10.3: unknown]", "ARTICLE field holding the EAN")
    article_vat_field: str = setting(
        "VAT_CODE", "[assumed NOTES §10.3: unknown]", "ARTICLE field holding the article's VAT code"
    )
    article_available_field: str = setting(
        "QTY_AVAIL", "[confirmed NOTES §10.3]", "ARTICLE field holding the available stock"
    )
    article_reserved_field: str = setting(
        "QTY_RSRV", "[assumed NOTES §10.3: unknown]", "ARTICLE field holding the sales-order reservations"
    )
    article_free_field: str = setting(
        "QTY_FREE2",
        "[confirmed NOTES §10.3 (S5); what it counts is unknown]",
        "ARTICLE field holding the free stock (the sandbox keeps it at available − reserved)",
    )
    article_technical_field: str = setting(
        "QTY_TECH", "[inferred NOTES §10.3: S5 reads it]", "ARTICLE field holding the technical (physical) stock"
    )
    article_stock_managed_field: str = setting(
        "STOCK_ART",
        "[assumed: no source]",
        "ARTICLE logical field: true when AccountView keeps stock for the article (false: unlimited in the shop)",
    )
    article_short_description_field: str = setting(
        "ART_DESC2", "[assumed NOTES §10.3: only ART_DESC1 confirmed]", "ARTICLE field of the short description"
    )
    article_long_description_field: str = setting(
        "ART_TEXT", "[assumed NOTES §10.3, §15.11: unknown]", "ARTICLE memo field of the long description"
    )
    article_weight_field: str = setting(
        "ART_WGT", "[assumed NOTES §15.11: unknown]", "ARTICLE field of the weight in kg (3 decimals)"
    )
    article_blocked_field: str = setting(
        "REC_BLK",
        "[inferred NOTES App. A: CONTACT.REC_BLK is the blocked flag; on ARTICLE assumed]",
        "ARTICLE logical field: the article is blocked (the shop hides it)",
    )
    article_webshop_field: str = setting(
        "WEB_SHOP",
        "[assumed: no source; often a free field per installation]",
        "ARTICLE logical field marking articles that belong in the shop (selection \"webshop\")",
    )
    article_parent_field: str = setting(
        "ART_PARENT",
        "[assumed NOTES §10.3, §15.11: no documented variant concept]",
        "ARTICLE field naming the parent code of a variant (empty: a simple article)",
    )
    article_size_field: str = setting(
        "ART_SIZE", "[assumed NOTES §15.11: variants unknown]", "ARTICLE field of a variant's size"
    )
    article_colour_field: str = setting(
        "ART_COLOUR", "[assumed NOTES §15.11: variants unknown]", "ARTICLE field of a variant's colour"
    )
    article_image_name_field: str = setting(
        "IMG_MEDIUM", "[confirmed NOTES §10.3 (S3)]", "ARTICLE field of the image's file name (text or {name})"
    )
    article_image_data_field: str = setting(
        "IMG_M_DATA", "[confirmed NOTES §10.3 (S3)]", "ARTICLE field of the image's data"
    )
    article_image_encoding: Literal["base64", "hex"] = setting(
        "base64",
        "[inferred NOTES §10.3: \"encoding unknown, probably base64\"]",
        "how the image data travels in the JSON answer",
    )
    sales_order_number_field: str = setting(
        "ORD_NR", "[assumed NOTES §10.5, §15.12: name unknown]", "SO_HDR field of the server-assigned order number"
    )
    sales_order_reference_field: str = setting(
        "COMMENT1",
        "[inferred NOTES §10.5: S3 writes the shop's order id there; filterable assumed, §11]",
        "SO_HDR field holding our order key, filtered with Equal before every write; must be a "
        "filterable character field (COMMENT1 is a memo in CONTACT and DJ_PAGE)",
    )
    invoice_reference_field: str = setting(
        "EXT_DESC",
        "[assumed; the field is confirmed NOTES App. B (payment reference C40)]",
        "DJ_PAGE field holding our order key, filtered with Equal before every write",
    )

    # --- how the server filters ---------------------------------------------------------------------------
    list_filter: Literal["in_list", "match_any"] = setting(
        "in_list",
        "[assumed NOTES §14.4, §15.6: semantics of FilterIsListOfValues unknown]",
        "how many keys are asked in one read: in_list = one FilterIsListOfValues filter (comma-separated); "
        "match_any = up to 9 OR-ed Equal filters",
    )
    list_filter_size: int = Field(
        100,
        ge=1,
        le=1000,
        description="keys per in_list read",
        json_schema_extra={"evidence": "[assumed NOTES §15.5: limits unknown]"},
    )
    max_page_size: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="the largest PageSize Koppel asks for (bulk reads: stock, full catalogue)",
        json_schema_extra={"evidence": "[inferred NOTES §5.1: 1000 is the largest seen in use; no known maximum]"},
    )
    equal_case_sensitive: bool = setting(
        True,
        "[assumed NOTES §11, §15.13: unknown]",
        "whether Equal on text tells upper from lower case; when true, debtors are matched on e-mail through "
        "an index of all debtors' e-mail addresses, so a mixed-case address is never created twice",
    )

    # --- OAuth --------------------------------------------------------------------------------------------
    scopes: tuple[str, ...] = setting(
        ("readaccountviewdata", "updateaccountviewdata"), "[confirmed NOTES §3.5]", "OAuth scopes requested"
    )
    token_lifetime_seconds: int = Field(
        3600,
        ge=60,
        description="access-token lifetime assumed when a token answer carries no expires_in",
        json_schema_extra={"evidence": "[assumed NOTES §3.6, §15.3: unknown]"},
    )

    # --- installation data --------------------------------------------------------------------------------
    debtor_collective_account: str = setting(
        "1300",
        "[assumed; installation-specific NOTES §12.5 (S3 uses 1210)]",
        "collective debtors ledger account of new debtors (CONTACT.ACCT_NR)",
    )
    sales_journal_name: str = setting(
        "Verkoopboek", "[inferred NOTES §10.7 (S4)]", "name of the sales journal invoices are written to"
    )

    # --- money and text rules of the administration -------------------------------------------------------
    prices_include_vat: bool = setting(
        False, "[assumed NOTES §10.5: unknown]", "unit prices on sales-order lines are incl. VAT"
    )
    vat_rounding: Literal["line", "document"] = setting(
        "line", "[assumed]", "VAT rounded to the cent per line, or per rate over the document"
    )
    price_decimals: int = Field(
        4,
        ge=0,
        le=6,
        description="decimals a unit price keeps (FoxPro currency holds 4)",
        json_schema_extra={"evidence": "[assumed]"},
    )
    code_page: str = setting(
        "cp1252", "[inferred FIELD-NOTES §19]", "Windows code page of the Visual FoxPro tables"
    )

    # --- table layouts ------------------------------------------------------------------------------------
    table_layouts: dict[str, FieldLayout] = Field(
        default_factory=dict,
        description="layouts of assumed fields, by TABLE.FIELD, replacing dictionary/assumed_tables.json's",
        json_schema_extra={"evidence": "[assumed: dictionary/assumed_tables.json; no public dump]"},
    )

    # (the settings it was built from, the dictionary): `model_copy(update=…)` copies this cache too.
    _dictionary: tuple[str, DataDictionary] | None = PrivateAttr(default=None)

    @field_validator(
        "debtor_bo", "address_bo", "article_bo", "article_group_bo", "sales_order_bo", "invoice_bo",
        "invoice_read_bo", "vat_bo", "ledger_bo", "journal_bo", "company_bo", "payment_condition_bo",
        "payment_condition_table", "payment_method_bo", "payment_method_table", "contact_person_bo",
        "contact_person_table", "article_ean_field", "article_vat_field", "article_available_field",
        "article_reserved_field", "article_free_field", "article_technical_field", "article_stock_managed_field",
        "article_short_description_field", "article_long_description_field", "article_weight_field",
        "article_blocked_field", "article_webshop_field", "article_parent_field", "article_size_field",
        "article_colour_field", "article_image_name_field", "article_image_data_field", "sales_order_number_field",
        "sales_order_reference_field", "invoice_reference_field",
    )
    @classmethod
    def _a_name(cls, value: str) -> str:
        name = value.strip().upper()
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,19}", name):
            raise ValueError("a business-object, table or field name: letters, digits and _, at most 20")
        return name

    @field_validator("code_page")
    @classmethod
    def _a_code_page(cls, value: str) -> str:
        import codecs

        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown code page {value!r} (e.g. cp1252)") from None

    @field_validator("table_layouts")
    @classmethod
    def _qualified_names(cls, value: dict[str, FieldLayout]) -> dict[str, FieldLayout]:
        out: dict[str, FieldLayout] = {}
        for name, layout in value.items():
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*\.[A-Z][A-Z0-9_]*", name.strip().upper()):
                raise ValueError(f"{name!r}: write TABLE.FIELD, e.g. SO_HDR.COMMENT1")
            out[name.strip().upper()] = layout
        return out

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

    # --- the dictionary this profile implies --------------------------------------------------------------

    def dictionary(self) -> DataDictionary:
        """The shipped data dictionary as this installation has it: assumed tables and fields under the
        profile's names, with `table_layouts` applied. Client and sandbox both use it."""
        built_from = self.model_dump_json()
        if self._dictionary is None or self._dictionary[0] != built_from:
            self._dictionary = (built_from, DataDictionary(self._field_specs()))
        return self._dictionary[1]

    def _field_specs(self) -> list[FieldSpec]:
        base = data_dictionary()
        tables = {t: dict(base.fields(t)) for t in base.tables}
        for table, setting_name in RENAMABLE_TABLES:
            wanted = getattr(self, setting_name)
            if wanted != table and table in tables:
                tables[wanted] = {n: replace(s, table=wanted) for n, s in tables.pop(table).items()}
        for table, default, setting_name in RENAMABLE_FIELDS:
            wanted, fields = getattr(self, setting_name), tables.get(table, {})
            if wanted == default or wanted in fields or default not in fields:
                continue
            spec = fields[default]
            fields[wanted] = replace(spec, name=wanted, assumed=True)
            if spec.assumed:  # a guessed field under another name; a real dump keeps its own field
                del fields[default]
        for qualified, layout in self.table_layouts.items():
            table, name = qualified.split(".")
            old = tables.setdefault(table, {}).get(name)
            tables[table][name] = FieldSpec(
                table=table,
                name=name,
                type=layout.type,
                length=layout.length,
                mandatory=layout.mandatory,
                upper=layout.upper,
                read_only=old.read_only if old else False,
                description=old.description if old else "",
                assumed=True,
            )
        return [spec for fields in tables.values() for spec in fields.values()]

    def filtered_fields(self) -> dict[str, str]:
        """TABLE.FIELD → what Koppel asks AccountView with an Equal filter on it (so it must be filterable)."""
        return {
            "CONTACT.MAIL_BUS": "find debtors by e-mail",
            "CONTACT.SUB_NR": "find debtors by number",
            "DEL_ADDR.SUB_NR": "delivery addresses of a debtor",
            "ARTICLE.ART_CODE": "find articles by code",
            f"ARTICLE.{self.article_ean_field}": "find articles by EAN (article_ean_field)",
            "ARTICLE.AG_CODE": "select the shop's articles by article group",
            f"SO_HDR.{self.sales_order_reference_field}": "find a sales order by our key "
            "(sales_order_reference_field)",
            f"DJ_PAGE.{self.invoice_reference_field}": "find an invoice by our key (invoice_reference_field)",
        }


def evidence(name: str) -> str:
    """The evidence tag of a profile setting."""
    extra = AccountViewProfile.model_fields[name].json_schema_extra
    return str(extra.get("evidence", "")) if isinstance(extra, dict) else ""


def settings_table() -> str:
    """The profile's settings as a Markdown table: name, default, evidence, meaning."""
    defaults = AccountViewProfile().model_dump(mode="json")
    lines = ["| setting | default | evidence | meaning |", "|---|---|---|---|"]
    for name, info in AccountViewProfile.model_fields.items():
        default = defaults[name]
        shown = default if isinstance(default, str) else json.dumps(default)
        lines.append(f"| `{name}` | `{shown}` | {evidence(name)} | {info.description} |")
    return "\n".join(lines)


BEGIN, END = "<!-- profile settings: generated, do not edit -->", "<!-- end of profile settings -->"
ASSUMPTIONS = Path(__file__).with_name("ASSUMPTIONS.md")


def assumptions_with_table(text: str) -> str:
    """ASSUMPTIONS.md with its generated settings table replaced by the profile's current one."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{settings_table()}\n{END}{tail}"


if __name__ == "__main__":  # rewrite the table in ASSUMPTIONS.md after changing a setting
    ASSUMPTIONS.write_text(assumptions_with_table(ASSUMPTIONS.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)
