"""`koppel integration apply FILE`: create or update a workspace, its connections and an integration
from a TOML file. Everything is validated before the first write, and the write is one transaction;
re-applying the same file changes nothing.

Beyond each setting's own validity, a file is refused when its orders settings would park every order:
invoices without revenue accounts, and (when AccountView's VAT codes are known, i.e. the administration is
connected) VAT rates AccountView books without a VAT code in the settings, or codes it doesn't have."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from koppel.connectors.accountview.models import VatCode
from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection, Integration, Schedule
from koppel.core.integrations.settings import SYSTEM_MODELS, flow_settings_model, problems
from koppel.mapping import default_map_names, load_default_map, validate_overrides
from koppel.mapping.errors import InvalidOverrides

TOKENS = "tokens"  # the AccountView token set the platform obtained (koppel.sync.token_store)
# Rates a Dutch shop charges: AccountView codes of other rates (old 6 %, purchase-only) need no entry.
SHOP_RATES = (Decimal(21), Decimal(9), Decimal(0))
VatCodesOf = Callable[[Connection], list[VatCode] | None]  # AccountView's VAT codes, None: unknown


class ApplyError(Exception):
    """The file can't be applied; the message names the bad field. Nothing was written."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSpec(_Strict):
    name: str = Field(pattern=r"^[-a-zA-Z0-9_]+$")
    retention_days: int = Field(14, ge=1, le=3650)
    metadata_only: bool = False


class ConnectionSpec(_Strict):
    system: Literal["mijnwebwinkel", "accountview"]
    settings: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, str] = Field(default_factory=dict)



class IntegrationSpec(_Strict):
    name: str = Field(pattern=r"^[-a-zA-Z0-9_]+$")
    shop: str
    books: str
    enabled: bool = True
    flows: dict[str, Any] = Field(default_factory=dict)  # checked by the flows' settings model
    mapping_overrides: dict[str, Any] = Field(default_factory=dict)


class IntegrationFile(_Strict):
    workspace: WorkspaceSpec
    connections: dict[str, ConnectionSpec]
    integration: IntegrationSpec

    @model_validator(mode="after")
    def _check_references(self) -> IntegrationFile:
        for role, system in (("shop", "mijnwebwinkel"), ("books", "accountview")):
            name = getattr(self.integration, role)
            conn = self.connections.get(name)
            if conn is None:
                raise ValueError(f"integration.{role}: no connection named {name!r} in [connections]")
            if conn.system != system:
                raise ValueError(f"integration.{role}: connection {name!r} is {conn.system}, expected {system}")
        return self


def _resolve_secret(value: str, key: str) -> str:
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]
    return value


@dataclass
class ApplyReport:
    changes: list[str] = field(default_factory=list)
    integration: str = ""
    books: Connection | None = None  # the integration's AccountView connection, as applied

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def parse_file(path: Path) -> IntegrationFile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ApplyError(f"{path}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ApplyError(f"{path}: not valid TOML: {exc}") from exc
    try:
        spec = IntegrationFile.model_validate(raw)
    except ValidationError as exc:
        raise ApplyError(_describe(path, exc)) from None
    found: list[str] = []
    for name, conn in spec.connections.items():
        found += _check_connection(name, conn)
    found += _check_flows(spec.integration) or _check_orders_can_be_booked(spec.integration.flows)
    found += check_mapping_overrides(spec.integration.mapping_overrides)
    if found:
        raise ApplyError("\n".join([f"{path}: {len(found)} problem(s):", *found]))
    return spec


def _check_flows(spec: IntegrationSpec) -> list[str]:
    """The flow settings as the flows' settings model completes them (stored complete, defaults included)."""
    try:
        spec.flows = flow_settings_model().model_validate(spec.flows).model_dump(mode="json")
    except ValidationError as exc:
        return _locate("integration.flows", exc)
    return []


def _check_orders_can_be_booked(flows: dict[str, Any]) -> list[str]:
    """Settings valid one by one that would still park every order."""
    orders = flows.get("orders") or {}
    if not orders.get("enabled") or orders.get("write_as") != "invoice" or orders["revenue_accounts"].get("article"):
        return []
    return ['  integration.flows.orders.revenue_accounts: write_as = "invoice" books every line on a revenue '
            'account, and none is named: every order would park. Name at least the articles\' one, e.g. '
            'revenue_accounts = { article = "8000", shipping = "8100" }']


def _check_vat_codes(spec: IntegrationFile, vat_codes_of: VatCodesOf) -> list[str]:
    """The orders' VAT code table against the VAT codes of the AccountView administration, when the file's
    books connection exists and is connected (a first apply can't know them: `koppel check` and the first
    run tell then)."""
    orders = spec.integration.flows.get("orders") or {}
    books = (Connection.objects.filter(workspace__name=spec.workspace.name, name=spec.integration.books,
                                       system=Connection.System.ACCOUNTVIEW).first())
    if not orders.get("enabled") or books is None or not books.credentials.get(TOKENS):
        return []
    known = vat_codes_of(books)
    if known is None:
        return []
    codes = {c.code.upper(): c for c in known}
    table: dict[str, str] = orders.get("vat_codes") or {}
    where = "integration.flows.orders.vat_codes"
    found = [f"  {where}.{key}: AccountView has no VAT code {code!r}; it has {_choices(known)}"
             for key, code in table.items() if code.upper() not in codes]
    for key, code in table.items():
        vat, rate = codes.get(code.upper()), _rate(key.split(":")[-1])
        if vat is not None and rate is not None and not vat.reverse_charge and vat.percentage != rate:
            found.append(f"  {where}.{key}: AccountView's VAT code {code} is {_pct(vat.percentage)}, not {_pct(rate)}")
    named = {_rate(key.split(":")[-1]) for key in table}
    for rate in SHOP_RATES:
        offered = [c for c in known if c.percentage == rate and not c.reverse_charge]
        if offered and rate not in named:
            found.append(f'  {where}: no VAT code for {_pct(rate)}: every order charging it would park; AccountView '
                         f'has {_choices(offered)}, e.g. "{rate:f}" = "{offered[0].code}"')
    return found


def _rate(text: str) -> Decimal | None:
    try:
        return Decimal(text.strip())
    except ArithmeticError:
        return None


def _choices(codes: list[VatCode]) -> str:
    return ", ".join(f"{c.code} ({_pct(c.percentage)}{', reverse charge' if c.reverse_charge else ''})"
                     for c in codes) or "none"


def _pct(rate: Decimal) -> str:
    return f"{rate.normalize():f}%"


def _check_connection(name: str, conn: ConnectionSpec) -> list[str]:
    """Validate a connection's settings and credentials by its system; resolve `env:` references."""
    settings_model, credentials_model = SYSTEM_MODELS[conn.system]
    found: list[str] = []
    try:
        # Stored as written: a default that changes in a later release (e.g. a profile setting once it is
        # confirmed) reaches connections that never set it.
        conn.settings = settings_model.model_validate(conn.settings).model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        found += _locate(f"connections.{name}.settings", exc)
    resolved: dict[str, str] = {}
    unset: set[str] = set()
    for key, value in conn.credentials.items():
        try:
            resolved[key] = _resolve_secret(value, key)
        except ValueError as exc:
            found.append(f"  connections.{name}.credentials.{key}: {exc}")
            unset.add(key)
    try:
        conn.credentials = credentials_model.model_validate(resolved).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        # A credential whose variable is unset is reported once, as such, not again as missing.
        found += [f"  {line}" for err, line in zip(exc.errors(), problems(f"connections.{name}.credentials", exc),
                                                   strict=True) if not set(map(str, err["loc"][:1])) & unset]
    return found


def check_mapping_overrides(overrides: dict[str, Any]) -> list[str]:
    """Overrides are keyed by default map name; each is validated against that map before saving."""
    found: list[str] = []
    known = default_map_names()
    for map_name, override in overrides.items():
        where = f"integration.mapping_overrides.{map_name}"
        if map_name not in known:
            found.append(f"  {where}: no such map; known maps: {', '.join(known)}")
            continue
        try:
            validate_overrides(load_default_map(map_name), override)
        except InvalidOverrides as exc:
            found += [f"  {where}: {line}" for line in str(exc).splitlines() if line.strip()]
    return found


def _locate(prefix: str, exc: ValidationError) -> list[str]:
    return [f"  {line}" for line in problems(prefix, exc)]


def _describe(path: Path, exc: ValidationError) -> str:
    return "\n".join([f"{path}: {exc.error_count()} problem(s):", *_locate("", exc)])


def apply_file(path: Path, *, vat_codes_of: VatCodesOf | None = None) -> ApplyReport:
    """Apply the file. `vat_codes_of` reads an existing AccountView connection's VAT codes (None when it
    isn't connected or can't be reached), for checking the orders' VAT code table against them."""
    spec = parse_file(path)
    found = _check_vat_codes(spec, vat_codes_of) if vat_codes_of else []
    if found:
        raise ApplyError("\n".join([f"{path}: {len(found)} problem(s):", *found]))
    report = ApplyReport()
    with transaction.atomic():
        workspace = _apply_workspace(spec.workspace, report)
        connections = {name: _apply_connection(workspace, name, c, report)
                       for name, c in spec.connections.items()}
        _apply_integration(workspace, spec.integration, connections, report)
    report.integration, report.books = spec.integration.name, connections[spec.integration.books]
    return report


def _update(obj: Any, values: dict[str, Any], label: str, report: ApplyReport) -> None:
    changed = [k for k, v in values.items() if getattr(obj, k) != v]
    for k in changed:
        setattr(obj, k, values[k])
    if obj.pk is None:
        obj.save()
        report.changes.append(f"created {label}")
    elif changed:
        obj.save()
        report.changes.append(f"updated {label}: {', '.join(changed)}")


def _apply_workspace(spec: WorkspaceSpec, report: ApplyReport) -> Workspace:
    workspace = Workspace.objects.filter(name=spec.name).first() or Workspace(name=spec.name)
    _update(workspace, {"retention_days": spec.retention_days, "metadata_only": spec.metadata_only},
            f"workspace {spec.name}", report)
    return workspace


def _apply_connection(workspace: Workspace, name: str, spec: ConnectionSpec, report: ApplyReport) -> Connection:
    conn = (Connection.objects.filter(workspace=workspace, name=name).first()
            or Connection(workspace_id=workspace.pk, name=name))
    label = f"connection {name}"
    current = conn.credentials if conn.secrets_encrypted else {}
    created = conn.pk is None
    wanted = _credentials(current, spec, moved=not created and _app_changed(conn, spec))
    if created:
        conn.credentials = wanted  # saved with the new row: "created", not also "updated"
    _update(conn, {"system": spec.system, "settings": spec.settings}, label, report)
    if not created and wanted != current:
        conn.credentials = wanted
        conn.save(update_fields=["secrets_encrypted", "updated_at"])
        dropped = TOKENS in current and TOKENS not in wanted
        report.changes.append(f"updated {label}: credentials" + (
            " (the tokens of the former AccountView app or server are dropped: connect again)" if dropped else ""))
    return conn


def _credentials(current: dict[str, Any], spec: ConnectionSpec, *, moved: bool) -> dict[str, Any]:
    """The credentials to store: the file's, plus what the platform obtained itself (AccountView's tokens)
    unless they belong to another app or server. A refresh token in the file only seeds a connection that
    has no tokens yet: once used, it has rotated, and the stored one is the live one."""
    kept = {} if moved else {k: v for k, v in current.items() if k in (TOKENS, "refresh_token")}
    given = dict(spec.credentials)
    if TOKENS in kept:
        given.pop("refresh_token", None)
    return {**kept, **given}


def _app_changed(conn: Connection, spec: ConnectionSpec) -> bool:
    """AccountView tokens are issued to one app (client id) by one server (base URL)."""
    if spec.system != Connection.System.ACCOUNTVIEW:
        return False
    before = conn.credentials.get("client_id"), (conn.settings or {}).get("base_url")
    return before != (spec.credentials.get("client_id"), spec.settings.get("base_url"))


def _apply_integration(workspace: Workspace, spec: IntegrationSpec, connections: dict[str, Connection],
                       report: ApplyReport) -> Integration:
    integration = Integration.objects.filter(name=spec.name).first() or Integration(name=spec.name)
    if integration.pk and integration.workspace_id != workspace.pk:
        raise ApplyError(f"integration.name: {spec.name!r} belongs to another workspace")
    flows = spec.flows
    _update(integration, {"workspace_id": workspace.pk, "shop_id": connections[spec.shop].pk,
                          "books_id": connections[spec.books].pk,
                          "enabled": spec.enabled, "flows": flows, "mapping_overrides": spec.mapping_overrides},
            f"integration {spec.name}", report)
    for flow, settings in spec.flows.items():
        schedule = (Schedule.objects.filter(integration=integration, flow=flow).first()
                    or Schedule(integration_id=integration.pk, flow=flow))
        _update(schedule, {"interval_seconds": settings["interval_seconds"], "enabled": settings["enabled"]},
                f"schedule {spec.name}/{flow}", report)
    return integration
