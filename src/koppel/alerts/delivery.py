"""Sending a notice to its channels as durable work: one DBOS workflow per notice, with the id
`alert-notice:<notice id>`, so starting it twice sends once, and a process that dies mid-way leaves a
workflow that DBOS (or the supervisor) resumes.

Each delivery is a step that looks at its own row first: a delivery marked sent is not sent again.
Tries are retried with backoff (`KOPPEL_ALERTS_DELIVERY_*`); a channel whose tries all fail is marked
failing (shown on the dashboard and by `koppel status`) and raises an alert on the workspace's other
channels; it recovers at its next successful delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from dbos import DBOS, SetWorkflowID
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from koppel.alerts import channels, messages, raising
from koppel.alerts.settings import alert_settings, smtp_settings
from koppel.core.alerts.models import Alert, Channel, Delivery, Kind, Notice

log = logging.getLogger(__name__)
WORKFLOW_PREFIX = "alert-notice:"


def workflow_id(notice_id: int) -> str:
    return f"{WORKFLOW_PREFIX}{notice_id}"


def dispatch(notice_ids: Iterable[int]) -> None:
    """Start the delivery workflow of each notice (from plain code or a workflow, never from a step)."""
    for notice_id in notice_ids:
        with SetWorkflowID(workflow_id(notice_id)):
            DBOS.start_workflow(deliver_notice, notice_id)


def dispatch_pending() -> list[int]:
    """Start the workflows of the notices not done yet: a process that decided and died before it
    started them leaves them here. A workflow started already is not started twice (its id)."""
    pending = list(Notice.objects.filter(done_at__isnull=True).order_by("pk").values_list("pk", flat=True))
    _release()
    dispatch(pending)
    return pending


def _release() -> None:
    if not connection.in_atomic_block:
        close_old_connections()


def _database(fn: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            _release()
    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    return wrapper


@DBOS.step(name="alerts.wait_seconds")
@_database
def wait_seconds(notice_id: int) -> float:
    """How long the notice must wait for the workspace's quiet hours to end."""
    notice = Notice.objects.get(pk=notice_id)
    if notice.send_after <= notice.created_at:  # decided outside quiet hours: at once
        return 0.0
    return max(0.0, (notice.send_after - timezone.now()).total_seconds())


@DBOS.step(name="alerts.deliveries")
@_database
def deliveries(notice_id: int) -> list[int]:
    return list(Delivery.objects.filter(notice_id=notice_id, status=Delivery.Status.PENDING)
                .order_by("pk").values_list("pk", flat=True))


@DBOS.step(name="alerts.send", retries_allowed=True, max_attempts=alert_settings().delivery_attempts,
           interval_seconds=alert_settings().delivery_interval, backoff_rate=3.0)
@_database
def send(delivery_id: int) -> str:
    """Send one delivery, unless it was sent already; raises (and is tried again) when the channel fails."""
    delivery = Delivery.objects.select_related("notice__alert", "channel").get(pk=delivery_id)
    if delivery.status == Delivery.Status.SENT:
        return "sent before"
    Delivery.objects.filter(pk=delivery_id).update(attempts=F("attempts") + 1)
    try:
        deliver(delivery)
    except Exception as error:
        Delivery.objects.filter(pk=delivery_id).update(last_error=str(error)[:2000])
        log.warning("alert delivery %s to %s failed: %s", delivery_id, delivery.channel, error)
        raise
    now = timezone.now()
    Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.SENT, sent_at=now, last_error="")
    return "sent"


def deliver(delivery: Delivery) -> None:
    """Put one notice through one channel."""
    notice, channel = delivery.notice, delivery.channel
    alert = notice.alert
    rules = raising.policy(alert.workspace_id)
    message = messages.render(alert.kind, notice.event, notice.facts, language=rules.language,
                              time_zone=rules.time_zone)
    if channel.via == Channel.Via.EMAIL:
        channels.send_email(smtp_settings(), channel.recipients, message,
                            message_id=f"notice-{notice.pk}-channel-{channel.pk}")
    else:
        channels.send_webhook(channel.target, channel.secret, payload(alert, notice, message),
                              delivery_id=str(delivery.pk), timeout=alert_settings().webhook_timeout)


def payload(alert: Alert, notice: Notice, message: messages.Message) -> dict[str, Any]:
    """A webhook's JSON: `text` for Slack/Teams-style endpoints, the rest for programs."""
    return {"text": f"{message.subject}\n{message.text}", "subject": message.subject, "link": message.link,
            "event": notice.event, "kind": alert.kind, "alert": alert.pk, "key": alert.key,
            "workspace": alert.workspace.name if alert.workspace else None,
            "opened_at": alert.opened_at.isoformat(), "facts": notice.facts}


@DBOS.step(name="alerts.settle")
@_database
def settle(delivery_id: int, error: str) -> list[int]:
    """After a delivery's last try: the channel is failing (or works again); returns notices to send."""
    now = timezone.now()
    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    channel = delivery.channel
    key = f"channel_failing:{channel.pk}"
    if not error:
        Channel.objects.filter(pk=channel.pk).update(failing_since=None, last_error="")
        return raising.resolve(key, now=now) if channel.failing_since else []
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.FAILED, last_error=error[:2000])
        Channel.objects.filter(pk=channel.pk, failing_since__isnull=True).update(failing_since=now)
        Channel.objects.filter(pk=channel.pk).update(last_error=error[:2000])
    since = Channel.objects.get(pk=channel.pk).failing_since or now
    return raising.raise_alert(Kind.CHANNEL_FAILING, key, workspace_id=channel.workspace_id, since=since,
                               facts={"channel": str(channel), "channel_id": channel.pk, "error": error[:500],
                                      "since": since.isoformat()}, now=now)


@DBOS.step(name="alerts.done")
@_database
def done(notice_id: int) -> None:
    Notice.objects.filter(pk=notice_id, done_at__isnull=True).update(done_at=timezone.now())


@DBOS.workflow(name="alerts.deliver")
def deliver_notice(notice_id: int) -> dict[str, str]:
    """Send a notice to each of its channels, after the quiet hours; every delivery once."""
    wait = wait_seconds(notice_id)
    if wait > 0:
        DBOS.sleep(wait)  # durable: a restarted process sleeps only what is left
    outcome: dict[str, str] = {}
    for delivery_id in deliveries(notice_id):
        try:
            outcome[str(delivery_id)] = send(delivery_id)
            error = ""
        except Exception as failure:
            error = _last_error(failure)
            outcome[str(delivery_id)] = f"failed: {error}"
        dispatch(settle(delivery_id, error))
    done(notice_id)
    return outcome


def _last_error(failure: BaseException) -> str:
    errors = getattr(failure, "errors", None)
    last = errors[-1] if isinstance(errors, list) and errors else failure
    return str(last) or type(last).__name__
