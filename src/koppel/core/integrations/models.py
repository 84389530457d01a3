"""Connections to remote systems and the integrations that join one shop to one administration.

Their settings are JSON checked by the one settings model each (`settings.py`) whenever they are saved,
whoever saves them: a bad value is refused naming the field, never stored to crash a run later.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.settings import SYSTEM_MODELS, check, flow_settings_model
from koppel.secrets import Vault
from koppel.settings import get_settings


def vault() -> Vault:
    return Vault.from_settings(get_settings())


class Connection(models.Model):
    class System(models.TextChoices):
        MIJNWEBWINKEL = "mijnwebwinkel", "MijnWebwinkel"
        ACCOUNTVIEW = "accountview", "AccountView"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="connections")
    name = models.SlugField(max_length=80)
    system = models.CharField(max_length=32, choices=System.choices)
    settings = models.JSONField(default=dict, blank=True, help_text="non-secret settings")
    secrets_encrypted = models.TextField(blank=True, default="", editable=False)
    broken_reason = models.TextField(blank=True, default="")
    # broken_reason's translatable form (koppel.reasons.as_args); null when it is plain text
    broken_reason_args = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="connection_name_per_workspace")]

    def __str__(self) -> str:
        return f"{self.workspace}/{self.name} ({self.system})"

    def clean(self) -> None:
        """Settings the system's settings model refuses are refused here, naming the setting."""
        if self.system in SYSTEM_MODELS:
            check(SYSTEM_MODELS[self.system][0], self.settings, field="settings")

    def save(self, *args: Any, **kwargs: Any) -> None:
        if _saves(kwargs, "settings"):
            self.clean()
        super().save(*args, **kwargs)

    @property
    def credentials(self) -> dict[str, Any]:
        return vault().decrypt(self.secrets_encrypted)

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.secrets_encrypted = vault().encrypt(value)


class Integration(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="integrations")
    name = models.SlugField(max_length=80, unique=True)
    shop = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="+")
    books = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="+")
    flows = models.JSONField(default=dict, blank=True, help_text="settings per flow, validated by the flow")
    mapping_overrides = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    paused_reason = models.TextField(blank=True, default="")
    # paused_reason's translatable form (koppel.reasons.as_args); null when it is plain text
    paused_reason_args = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Flow settings the flows' settings model refuses are refused here, naming the setting."""
        check(flow_settings_model(), self.flows, field="flows")

    def save(self, *args: Any, **kwargs: Any) -> None:
        if _saves(kwargs, "flows"):
            self.clean()
        super().save(*args, **kwargs)


def _saves(save_kwargs: dict[str, Any], field: str) -> bool:
    update_fields = save_kwargs.get("update_fields")
    return update_fields is None or field in update_fields


class Schedule(models.Model):
    """When a flow of an integration polls; read by the scheduler on every tick, so edits apply at once."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="schedules")
    flow = models.CharField(max_length=32)
    interval_seconds = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    last_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "flow"], name="one_schedule_per_flow")]
