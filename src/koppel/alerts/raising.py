"""Deciding what to tell, once: an ongoing problem is one open alert (found again by its key), told when
it opens, reminded after the workspace's reminder time, and told again when it resolves.

Each decision is one transaction that writes the alert, the notice and a delivery per channel that wants
it; sending is the delivery workflow's (`koppel.alerts.delivery`), which any process finds and starts from
the notices not done yet. So a crash after deciding loses nothing, and deciding twice tells once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from koppel.core.alerts.models import Alert, AlertPolicy, Channel, Delivery, Notice

KEEP_RESOLVED = timedelta(days=90)  # resolved alerts stay this long in the dashboard's list


def policy(workspace_id: int | None) -> AlertPolicy:
    """The workspace's alert policy (the defaults when it set none; operators' alerts get the defaults)."""
    found = AlertPolicy.objects.filter(workspace_id=workspace_id).first() if workspace_id else None
    return found or AlertPolicy(workspace_id=workspace_id)


def raise_alert(kind: str, key: str, *, workspace_id: int | None, facts: dict[str, Any],
                integration_id: int | None = None, connection_id: int | None = None,
                since: datetime | None = None, update: bool = False, now: datetime | None = None) -> list[int]:
    """Open the alert `key`, or refresh the facts of the open one; returns the ids of the notices to send.

    An open alert is told once: raising it again changes its facts only, unless `update` (a new batch of
    parked records), which tells the new facts."""
    now = now or timezone.now()
    for _ in range(2):  # the second pass follows an alert opened this instant by another process
        try:
            with transaction.atomic():
                alert = Alert.objects.select_for_update().filter(key=key, resolved_at__isnull=True).first()
                if alert is None:
                    alert = Alert.objects.create(
                        kind=kind, key=key, workspace_id=workspace_id, integration_id=integration_id,
                        connection_id=connection_id, facts=facts, opened_at=since or now, last_told_at=now)
                    return [_notice(alert, Notice.Event.OPENED, now)]
                alert.facts = {**alert.facts, **facts}
                alert.save(update_fields=["facts"])
                if update:
                    alert.last_told_at = now
                    alert.save(update_fields=["last_told_at"])
                    return [_notice(alert, Notice.Event.UPDATE, now, facts)]
                return []
        except IntegrityError:
            continue
    return []


def resolve(key: str, *, facts: dict[str, Any] | None = None, now: datetime | None = None) -> list[int]:
    """Close the open alert `key`, telling its recovery; returns the notice ids (none when nothing was open)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(key=key, resolved_at__isnull=True).first()
        if alert is None:
            return []
        alert.resolved_at = now
        alert.facts = {**alert.facts, **(facts or {})}
        alert.save(update_fields=["resolved_at", "facts"])
        return [_notice(alert, Notice.Event.RESOLVED, now)]


def resolve_all(kind: str, keep: set[str], *, prefix: str = "", now: datetime | None = None) -> list[int]:
    """Resolve the open alerts of `kind` (whose key starts with `prefix`) not among `keep`: the problems
    a check no longer finds."""
    stale = Alert.objects.filter(kind=kind, resolved_at__isnull=True, key__startswith=prefix).exclude(key__in=keep)
    return [notice for key in stale.values_list("key", flat=True) for notice in resolve(key, now=now)]


def remind_due(now: datetime | None = None) -> list[int]:
    """A reminder for every open alert not told for longer than its workspace's reminder time."""
    now = now or timezone.now()
    notices = []
    for alert in Alert.objects.filter(resolved_at__isnull=True, acknowledged_at__isnull=True):
        hours = policy(alert.workspace_id).remind_after_hours
        if not hours or (alert.last_told_at and now - alert.last_told_at < timedelta(hours=hours)):
            continue
        with transaction.atomic():
            told = Alert.objects.filter(pk=alert.pk, last_told_at=alert.last_told_at).update(last_told_at=now)
            if told:  # only the process that moved last_told_at reminds
                notices.append(_notice(alert, Notice.Event.REMINDER, now))
    return notices


def forget_old(now: datetime | None = None) -> list[int]:
    """Delete alerts resolved more than `KEEP_RESOLVED` ago, with what was sent about them."""
    now = now or timezone.now()
    Alert.objects.filter(resolved_at__lt=now - KEEP_RESOLVED).delete()
    return []


def _notice(alert: Alert, event: str, now: datetime, facts: dict[str, Any] | None = None) -> int:
    """A notice of `alert`, with a delivery for every channel that wants this kind of alert."""
    rules = policy(alert.workspace_id)
    notice = Notice.objects.create(alert=alert, event=event, facts=facts if facts is not None else alert.facts,
                                   created_at=now, send_after=after_quiet_hours(rules, now))
    channels = Channel.objects.filter(Q(workspace_id=alert.workspace_id) if alert.workspace_id
                                      else Q(workspace__isnull=True), enabled=True)
    failing_channel = alert.facts.get("channel_id")
    wanted = [c for c in channels if c.wants(alert.kind) and c.pk != failing_channel]
    Delivery.objects.bulk_create([Delivery(notice=notice, channel=channel) for channel in wanted])
    if not wanted:  # the dashboard shows it; nothing to send
        Notice.objects.filter(pk=notice.pk).update(done_at=now)
    return int(notice.pk)


def after_quiet_hours(rules: AlertPolicy, now: datetime) -> datetime:
    """When a notice decided `now` may go out: now, or the end of the workspace's quiet hours."""
    if rules.quiet_from is None or rules.quiet_until is None or rules.quiet_from == rules.quiet_until:
        return now
    local = now.astimezone(ZoneInfo(rules.time_zone))
    start, end = rules.quiet_from, rules.quiet_until
    clock = local.time()
    quiet = start <= clock < end if start < end else clock >= start or clock < end
    if not quiet:
        return now
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until.astimezone(now.tzinfo)
