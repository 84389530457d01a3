"""`koppel integration apply FILE`: create or update a workspace, its connections and an integration
from a TOML file. Everything is validated before the first write, and the write is one transaction;
re-applying the same file changes nothing."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection, Integration, Schedule
from koppel.core.integrations.settings import SYSTEM_MODELS, flow_settings_model, problems
from koppel.mapping import default_map_names, load_default_map, validate_overrides
from koppel.mapping.errors import InvalidOverrides


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
    found += _check_flows(spec.integration)
    found += _check_mapping_overrides(spec.integration.mapping_overrides)
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
    for key, value in conn.credentials.items():
        try:
            resolved[key] = _resolve_secret(value, key)
        except ValueError as exc:
            found.append(f"  connections.{name}.credentials.{key}: {exc}")
    try:
        conn.credentials = credentials_model.model_validate(resolved).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        found += _locate(f"connections.{name}.credentials", exc)
    return found


def _check_mapping_overrides(overrides: dict[str, Any]) -> list[str]:
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


def apply_file(path: Path) -> ApplyReport:
    spec = parse_file(path)
    report = ApplyReport()
    with transaction.atomic():
        workspace = _apply_workspace(spec.workspace, report)
        connections = {name: _apply_connection(workspace, name, c, report)
                       for name, c in spec.connections.items()}
        _apply_integration(workspace, spec.integration, connections, report)
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
    _update(conn, {"system": spec.system, "settings": spec.settings}, label, report)
    current = conn.credentials if conn.secrets_encrypted else {}
    # Tokens the platform obtained itself (e.g. a rotated refresh token) are kept unless the file names them.
    wanted = {**current, **spec.credentials}
    if wanted != current:
        conn.credentials = wanted
        conn.save(update_fields=["secrets_encrypted", "updated_at"])
        report.changes.append(f"updated {label}: credentials")
    return conn


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
