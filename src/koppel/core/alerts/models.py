"""Alert channels per workspace, the alerts raised and what was sent about them (see koppel.alerts for
how they are decided and sent).

An alert is one ongoing problem (a broken connection, silence, parked records, stuck work), found
again by its `key` while it is open, so a problem that lasts alerts once. Each thing said about it (it
opened, a reminder, a new batch of parked records, it recovered) is a `Notice`; each notice goes to
each channel as a `Delivery`, sent by a durable workflow whose id is the notice's.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.db import models
from django.db.models import Q

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection, Integration, vault


class Kind(StrEnum):
    """What kind of problem an alert is about."""

    BROKEN_CONNECTION = "broken_connection"
    PARKED = "parked"                  # records need attention
    SILENT_FLOW = "silent_flow"        # no successful run for longer than expected
    SILENT_ORDERS = "silent_orders"    # no orders for longer than usual
    STUCK_RUN = "stuck_run"            # a run open far longer than usual
    DEAD_WORKER = "dead_worker"        # a worker's heartbeat stopped
    QUEUE_GROWING = "queue_growing"
    CHANNEL_FAILING = "channel_failing"  # alerts can't be sent through a channel


class AlertPolicy(models.Model):
    """How a workspace wants to hear about problems. A workspace without one gets the defaults."""

    class Language(models.TextChoices):
        DUTCH = "nl", "Nederlands"
        ENGLISH = "en", "English"
        GERMAN = "de", "Deutsch"

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="alert_policy")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.DUTCH)
    time_zone = models.CharField(max_length=64, default="Europe/Amsterdam")
    quiet_from = models.TimeField(null=True, blank=True, help_text="e-mail and webhooks wait from this hour…")
    quiet_until = models.TimeField(null=True, blank=True, help_text="…until this one (the dashboard does not)")
    remind_after_hours = models.PositiveIntegerField(default=24, help_text="a problem still open is told again")
    digest_minutes = models.PositiveIntegerField(default=15, help_text="parked records are told once per …")
    offline_minutes = models.PositiveIntegerField(
        default=30, help_text="a system unreachable this long counts as a broken connection")
    probe_minutes = models.PositiveIntegerField(default=5, help_text="how often a broken connection is tried")
    orders_silence_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="no orders this long is an alert; empty: learned from the shop's history")
    run_silence_minutes = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="no successful run this long; empty: three times the schedule, 15 min at least")


class Channel(models.Model):
    """Where a workspace's alerts go: e-mail to recipients, or a webhook (JSON, signed with HMAC).
    A channel without workspace is the operators' (worker and queue alerts)."""

    class Via(models.TextChoices):
        EMAIL = "email", "e-mail"
        WEBHOOK = "webhook", "webhook"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="alert_channels",
                                  null=True, blank=True)
    via = models.CharField(max_length=16, choices=Via.choices)
    target = models.TextField(help_text="e-mail: recipients, comma-separated; webhook: the URL")
    secret_encrypted = models.TextField(blank=True, default="", editable=False)
    kinds = models.JSONField(default=list, blank=True, help_text="alert kinds sent here; empty: all")
    enabled = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.via}: {self.target}"

    @property
    def secret(self) -> str:
        return str(vault().decrypt(self.secret_encrypted).get("secret", "")) if self.secret_encrypted else ""

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = vault().encrypt({"secret": value}) if value else ""

    def wants(self, kind: str) -> bool:
        return self.enabled and (not self.kinds or kind in self.kinds)

    @property
    def recipients(self) -> list[str]:
        return [r.strip() for r in self.target.replace(";", ",").split(",") if r.strip()]


class Alert(models.Model):
    """One ongoing problem; at most one open alert per key."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="alerts",
                                  null=True, blank=True)
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="+")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="+")
    kind = models.CharField(max_length=32, choices=[(k.value, k.value.replace("_", " ")) for k in Kind])
    key = models.CharField(max_length=200, help_text="the problem's identity, e.g. broken_connection:7")
    facts = models.JSONField(default=dict, blank=True, help_text="what the messages say: cause, counts, …")
    opened_at = models.DateTimeField(help_text="since when the problem exists")
    last_told_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                        blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], condition=Q(resolved_at__isnull=True),
                                               name="one_open_alert_per_key")]
        indexes = [models.Index(fields=["workspace", "resolved_at"])]

    def __str__(self) -> str:
        return self.key

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Notice(models.Model):
    """One thing said about an alert; sent to every channel that wants it, once."""

    class Event(models.TextChoices):
        OPENED = "opened"
        REMINDER = "reminder"
        UPDATE = "update"       # a new batch of parked records on an open alert
        RESOLVED = "resolved"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notices")
    event = models.CharField(max_length=16, choices=Event.choices)
    facts = models.JSONField(default=dict, blank=True, help_text="the alert's facts when this was decided")
    created_at = models.DateTimeField()
    send_after = models.DateTimeField(help_text="quiet hours hold e-mail and webhooks until then")
    done_at = models.DateTimeField(null=True, blank=True, help_text="every delivery sent or given up")

    class Meta:
        indexes = [models.Index(fields=["done_at"])]


class Delivery(models.Model):
    """A notice to one channel; sent at most once (the workflow checks before it sends)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["notice", "channel"], name="one_delivery_per_channel")]


class ConnectionHealth(models.Model):
    """What the monitor knows of a connection beyond its `broken_reason`: since when it fails, since
    when it is broken, and when it is tried again."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="health")
    failing_since = models.DateTimeField(null=True, blank=True, help_text="unreachable since (passing errors)")
    last_error = models.TextField(blank=True, default="")
    broken_since = models.DateTimeField(null=True, blank=True)
    paused = models.JSONField(default=list, blank=True, help_text="ids of the integrations this paused")
    next_probe_at = models.DateTimeField(null=True, blank=True)
    probed_version = models.CharField(max_length=64, blank=True, default="",
                                      help_text="the connection's updated_at when last tried")


class Watermark(models.Model):
    """How far the monitor has looked at something of an integration (parked records told up to …)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=64)
    value = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "name"], name="one_watermark_per_name")]
