"""The profile check: compare the installation profile with what the AccountView server says about itself
(its data dictionary `FLD`/`DBF`) and with how it answers a few harmless reads, before the first order is
written. Every assumed business object, table and field that does not exist, has another type or length,
or cannot be filtered is a problem naming the profile setting to change; `koppel check` prints them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.fields import FieldSpec
from koppel.connectors.accountview.profile import RENAMABLE_FIELDS, RENAMABLE_TABLES, AccountViewProfile
from koppel.connectors.accountview.wire import Filter
from koppel.errors import BrokenConnection, NeedsAttention

# Types whose FIELD_LEN is a storage size, not a limit Koppel relies on.
_FIXED_SIZE = frozenset("MDTLIBY")
PROBE = "koppel-profile-check"  # a value no record holds: a filter on it must answer without error


@dataclass(frozen=True)
class Finding:
    severity: Literal["problem", "note"]
    subject: str  # e.g. "SO_HDR.COMMENT1", "business object BC1"
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "problem"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, severity: Literal["problem", "note"], subject: str, message: str) -> None:
        self.findings.append(Finding(severity, subject, message))

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "findings": [asdict(f) for f in self.findings]}


def check_profile(client: AccountViewClient) -> CheckReport:
    """Everything the client's profile assumes, checked against the server the client talks to."""
    report = CheckReport()
    profile = client.profile
    codes = {str(bo.get("Code", "")).strip().upper() for bo in client.business_objects()}
    table_of = {str(r.get("OBJ_CODE", "")).strip().upper(): str(r.get("DBF_NAME", "")).strip().upper()
                for r in client.system_rows("DBF")}
    server_fields: dict[str, dict[str, dict[str, Any]]] = {}
    for row in client.system_rows("FLD"):
        table = str(row.get("DBF_NAME", "")).strip().upper()
        server_fields.setdefault(table, {})[str(row.get("FIELD_NAME", "")).strip().upper()] = row
    _check_business_objects(profile, codes, table_of, report)
    _check_fields(profile, server_fields, report)
    _check_filters(client, server_fields, report)
    _check_list_filter(client, report)
    _check_equal_case(client, report)
    return report


def _check_business_objects(
    profile: AccountViewProfile, codes: set[str], table_of: dict[str, str], report: CheckReport
) -> None:
    """Every business object the profile uses exists (`accountviewsystembusinessobjects`) and reads the
    table the profile assumes (`DCT_FILE.OBJ_CODE` → `DBF_NAME`)."""
    settings = {getattr(profile, n).upper(): n for n in AccountViewProfile.model_fields if n.endswith("_bo")}
    for code, bo in profile.business_objects().items():
        if code == profile.contact_person_bo and profile.contact_person_mode != "module":
            continue
        setting = settings.get(code, "")
        if code not in codes:
            report.add("problem", f"business object {code}",
                       f"not on this server ({bo.description}); set `{setting}` to the right code")
        elif table_of.get(code, bo.header) != bo.header:
            report.add("problem", f"business object {code}",
                       f"reads table {table_of[code]} on this server, the profile assumes {bo.header}; "
                       f"set the table setting or `{setting}`")


def _assumed_specs(profile: AccountViewProfile) -> list[FieldSpec]:
    """The fields whose layout is ours, not a public dump's, plus every field a profile setting names."""
    dictionary = profile.dictionary()
    used_tables = {t for bo in profile.business_objects().values() for t in (bo.header, *bo.details)}
    named = {(t, getattr(profile, s)) for t, _, s in RENAMABLE_FIELDS}
    specs = []
    for table in sorted(used_tables):
        for spec in dictionary.fields(table).values():
            if spec.assumed or (table, spec.name) in named:
                specs.append(spec)
    return specs


def _setting_for(profile: AccountViewProfile, table: str, name: str) -> str:
    for t, _, setting in RENAMABLE_FIELDS:
        if t == table and getattr(profile, setting) == name:
            return f"`{setting}` or `table_layouts`"
    for _, setting in RENAMABLE_TABLES:
        if getattr(profile, setting) == table:
            return f"`{setting}` or `table_layouts`"
    return "`table_layouts`"


def _check_fields(
    profile: AccountViewProfile, server_fields: dict[str, dict[str, dict[str, Any]]], report: CheckReport
) -> None:
    missing_tables: set[str] = set()
    for spec in _assumed_specs(profile):
        setting = _setting_for(profile, spec.table, spec.name)
        if spec.table not in server_fields:
            if spec.table not in missing_tables:
                missing_tables.add(spec.table)
                report.add("problem", spec.table, f"no such table on this server; set {setting}")
            continue
        row = server_fields[spec.table].get(spec.name)
        if row is None:
            report.add("problem", spec.qualified, f"no such field on this server; set {setting}")
            continue
        kind, length = str(row.get("FIELD_TYPE", "")).strip().upper(), int(row.get("FIELD_LEN") or 0)
        if kind != spec.type or (kind not in _FIXED_SIZE and length != spec.length):
            report.add("problem", spec.qualified,
                       f"is {kind}({length}) on this server, the profile assumes {spec.type}({spec.length}); "
                       f"set {setting}")


def _check_filters(
    client: AccountViewClient, server_fields: dict[str, dict[str, dict[str, Any]]], report: CheckReport
) -> None:
    profile = client.profile
    bo_of = {bo.header: bo.code for bo in profile.business_objects().values()}
    bo_of["DJ_PAGE"] = profile.invoice_read_bo
    for qualified, why in profile.filtered_fields().items():
        table, name = qualified.split(".")
        row = server_fields.get(table, {}).get(name)
        if row is None:
            continue  # reported as missing above
        if str(row.get("FIELD_TYPE", "")).strip().upper() == "M":
            report.add("problem", qualified,
                       f"is a memo field: AccountView cannot be relied on to filter it [assumed], and Koppel "
                       f"filters on it to {why}; choose a character field")
            continue
        try:
            next(client.read(bo_of[table], fields=[name], filters=[Filter(name, PROBE)], page_size=1), None)
        except (NeedsAttention, BrokenConnection) as exc:
            report.add("problem", qualified, f"AccountView refuses a filter on it ({exc}); Koppel needs it to {why}")


def _check_list_filter(client: AccountViewClient, report: CheckReport) -> None:
    if client.profile.list_filter != "in_list":
        return
    codes = [str(r.get("ART_CODE", "")) for r in client.read(client.profile.article_bo, fields=["ART_CODE"],
                                                            page_size=3)][:3]
    if len(codes) < 2:
        report.add("note", "list_filter", "fewer than two articles: list filters could not be tried")
        return
    try:
        found = client.get_articles(codes)
    except BrokenConnection as exc:
        report.add("problem", "list_filter", str(exc))
        return
    if sorted(found) != sorted(codes):
        report.add("problem", "list_filter",
                   f"a list read of {len(codes)} existing articles found {len(found)}; "
                   'set list_filter = "match_any"')


def _check_equal_case(client: AccountViewClient, report: CheckReport) -> None:
    profile = client.profile
    sample = next((r for r in client.read(profile.debtor_bo, fields=["MAIL_BUS"], page_size=50)
                   if any(c.isalpha() for c in str(r.get("MAIL_BUS", "")))), None)
    if sample is None:
        report.add("note", "equal_case_sensitive", "no debtor with an e-mail address: case sensitivity untried")
        return
    email = str(sample["MAIL_BUS"]).strip()
    other_case = email.swapcase()
    ignores_case = next(client.read(profile.debtor_bo, fields=["MAIL_BUS"], filters=[Filter("MAIL_BUS", other_case)],
                                    page_size=1), None) is not None
    if ignores_case and profile.equal_case_sensitive:
        report.add("note", "equal_case_sensitive",
                   "Equal ignores case on this server: set equal_case_sensitive = false to save the e-mail index "
                   "reads")
    elif not ignores_case and not profile.equal_case_sensitive:
        report.add("problem", "equal_case_sensitive",
                   "Equal tells case apart on this server, the profile says it does not: a debtor typed in "
                   "mixed case would be created twice; set equal_case_sensitive = true")
