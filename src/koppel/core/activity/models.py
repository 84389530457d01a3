"""What the engine remembers: links (source key → target key), cursors, runs and per-record activity.

No business data beyond the activity payloads, which are purged after the workspace's retention.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from koppel.core.integrations.models import Integration
from koppel.errors import Outcome


class Link(models.Model):
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="links")
    entity = models.CharField(max_length=32)          # "order", "debtor", "article", …
    source_key = models.CharField(max_length=200)
    target_key = models.CharField(max_length=200)
    payload_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "entity", "source_key"],
                                               name="one_link_per_source_key")]
        indexes = [models.Index(fields=["integration", "entity", "target_key"])]


class Cursor(models.Model):
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="cursors")
    name = models.CharField(max_length=64)
    value = models.CharField(max_length=200, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "name"], name="one_cursor_per_name")]


class Run(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"   # every record sent or skipped
        PARTIAL = "partial"       # finished, some records parked
        FAILED = "failed"         # could not complete (broken connection, crash)

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="runs")
    flow = models.CharField(max_length=32)
    workflow_id = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    # The error in a form the dashboard can translate (koppel.reasons), like Activity.reason_args; null
    # when the run had none or its error was not made as a reason (shown as recorded).
    error_args = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["integration", "flow", "started_at"])]


class Activity(models.Model):
    """The latest outcome of one record (integration, entity, key); attempts count the tries."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="activity")
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="activity")
    entity = models.CharField(max_length=32)
    key = models.CharField(max_length=200)
    outcome = models.CharField(max_length=32, choices=[(o.value, o.value) for o in Outcome])
    reason = models.TextField(blank=True, default="")
    # The reason in a form the dashboard can translate: {"template": English text with {name} fields,
    # "params": {name: value}}; null for reasons recorded before it existed (shown as recorded).
    reason_args = models.JSONField(null=True, blank=True)
    target_key = models.CharField(max_length=200, blank=True, default="")
    payload_in = models.JSONField(null=True, blank=True)
    payload_out = models.JSONField(null=True, blank=True)
    # For a record sent again: what changed from what was sent before (`koppel.sync.changes`):
    # {"since": when the earlier one was sent, "fields": [{"path", "kind", "old", "new"}, …]}; or, while an
    # outcome without a payload stands after a send, {"base": {"at", "payload"}}: what was sent last, kept to
    # compare the next send with. Null when nothing is kept (a first send, metadata only).
    changes = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "activity"
        constraints = [models.UniqueConstraint(fields=["integration", "entity", "key"],
                                               name="one_activity_per_record")]
        indexes = [models.Index(fields=["updated_at"]), models.Index(fields=["integration", "outcome"])]


class Executor(models.Model):
    """A process that runs workflows, and when it was last seen alive; the supervisor reads this.

    DBOS recovers work per executor id, so a worker that dies leaves its PENDING workflows behind
    until a live executor notices the missing heartbeat and takes them over.
    """

    executor_id = models.CharField(max_length=200, unique=True)
    application_version = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()


class Skip(models.Model):
    """A record someone chose never to send (until they unskip it): the runner leaves it alone.

    Kept apart from its activity, which retention and erasure delete: a skip stands until undone."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="skips")
    entity = models.CharField(max_length=32)
    key = models.CharField(max_length=200)
    by = models.CharField(max_length=150)   # who skipped it (a user name: the entry outlives the user)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "entity", "key"], name="one_skip_per_record")]


class RecordAction(models.Model):
    """Who did what to a record from the dashboard (retry, skip, unskip, forget the link, erase, export), or to
    a flow (sync now)."""

    class Kind(models.TextChoices):
        RETRY = "retry"
        SKIP = "skip"
        UNSKIP = "unskip"
        RESYNC = "resync"     # the link forgotten and the record sent again
        ERASE = "erase"       # a customer's data erased (the entry names counts, never the e-mail)
        EXPORT = "export"
        SYNC = "sync"         # sync now from the dashboard: entity "run", key the run's workflow id

    # What the record page's "Who did what" shows of each kind (`get_kind_display`), in the reader's language
    # (web/records/locale). Apart from Kind, whose members stay plain text to the type checker that way.
    LABELS = {Kind.RETRY: _("retried"), Kind.SKIP: _("skipped"), Kind.UNSKIP: _("unskipped"),
              Kind.RESYNC: _("resynced"), Kind.ERASE: _("erased"), Kind.EXPORT: _("exported"),
              Kind.SYNC: _("started a sync")}

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="record_actions")
    entity = models.CharField(max_length=32, blank=True, default="")
    key = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=16, choices=LABELS)
    by = models.CharField(max_length=150)
    detail = models.TextField(blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["integration", "entity", "key"])]


class DailyTotal(models.Model):
    """One day's running total of one measure of an integration, for the insights: the revenue booked per
    currency ("revenue:EUR"), API calls, 429s and rate-limit waits per system ("calls:mijnwebwinkel", …).
    Sums only, never one record's business data; added to by every process, purged after the retention."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="daily_totals")
    day = models.DateField()
    measure = models.CharField(max_length=64)
    value = models.DecimalField(max_digits=20, decimal_places=4, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "day", "measure"],
                                               name="one_daily_total_per_measure")]
        indexes = [models.Index(fields=["day"])]


class RetryOffer(models.Model):
    """After a flow's settings changed: which of its parked and setting-skipped records the new settings would
    let through (each tried by a dry run, nothing written), offered for one bulk retry, and why the rest would
    still park. One per integration and flow, replaced by the next change; keys and reasons only."""

    class Status(models.TextChoices):
        CHECKING = "checking"
        READY = "ready"
        FAILED = "failed"     # the dry run could not run (a broken connection, invalid settings)

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="retry_offers")
    flow = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CHECKING)
    by = models.CharField(max_length=150, blank=True, default="")    # who changed the settings
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    candidates = models.PositiveIntegerField(default=0)   # parked or skipped by a setting when the settings changed
    checked = models.PositiveIntegerField(default=0)      # the newest of them tried (at most the configured number)
    would_send = models.JSONField(default=list, blank=True)     # keys the new settings let through
    still_parked = models.JSONField(default=list, blank=True)   # [{"key", "outcome", "reason"}, …]
    error = models.TextField(blank=True, default="")
    retried_by = models.CharField(max_length=150, blank=True, default="")
    retried_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "flow"], name="one_retry_offer_per_flow")]
