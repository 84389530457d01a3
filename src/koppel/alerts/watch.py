"""The monitor's checks besides broken connections: parked records (told in batches, grouped by reason),
silence (no successful run for longer than expected; no orders for longer than the shop's usual gap),
and stuck work (a run open far longer than usual, a worker whose heartbeat stopped, the queue growing).

Each check takes `now`, so tests run it on a controlled clock, raises the alerts of the problems it
finds and resolves those it no longer finds; it returns the ids of the notices to send.
"""

from __future__ import annotations

import math
import re
import statistics
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from koppel.alerts import raising
from koppel.alerts.settings import alert_settings, base_url
from koppel.core.activity.models import Activity, Executor, Run
from koppel.core.alerts.models import Alert, Kind, Watermark
from koppel.core.integrations.models import Integration, Schedule
from koppel.errors import Outcome
from koppel.reasons import as_args, from_args, reason

FINISHED_WELL = (Run.Status.SUCCEEDED, Run.Status.PARTIAL)
LEARN_FROM_DAYS = 14          # the history an order silence threshold is learned from …
LEARN_FROM_ORDERS = 10        # … when it holds at least this many orders
ONE_OFF_EXECUTOR = re.compile(r"-(sync|retry)-\S+-\d+$")  # `koppel sync`/`retry` end: not a worker stopping


def _link(integration: Integration) -> str:
    return f"{base_url()}/w/{integration.workspace_id}/integrations/{integration.pk}/"


def _active() -> Any:
    return Integration.objects.filter(enabled=True, paused_reason="")


# ---- parked records -----------------------------------------------------------------------------


def parked(now: datetime | None = None) -> list[int]:
    """New parked records of each integration, told at most once per the workspace's digest interval,
    grouped by reason ("7 orders parked: VAT code for 9 % not set"); the alert resolves once none is left."""
    now = now or timezone.now()
    notices: list[int] = []
    for integration in Integration.objects.all():
        key = f"{Kind.PARKED}:{integration.pk}"
        waiting = Activity.objects.filter(integration=integration, outcome=Outcome.NEEDS_ATTENTION)
        if not waiting.exists():
            notices += raising.resolve(key, now=now)
            continue
        mark, _ = Watermark.objects.get_or_create(integration=integration, name="parked",
                                                  defaults={"value": integration.created_at})
        open_alert = Alert.objects.filter(key=key, resolved_at__isnull=True).first()
        interval = timedelta(minutes=raising.policy(integration.workspace_id).digest_minutes)
        if open_alert and open_alert.last_told_at and now - open_alert.last_told_at < interval:
            continue  # the next batch waits for the interval
        new = waiting.filter(updated_at__gt=mark.value, updated_at__lte=now)
        if not new.exists():
            continue
        groups = list(new.values("entity", "reason").annotate(count=Count("pk"), example=Min("pk"))
                      .order_by("-count", "reason"))
        entities = {g["entity"] for g in groups}
        count = sum(g["count"] for g in groups)
        facts = {"integration": integration.name, "entity": groups[0]["entity"] if len(entities) == 1 else "",
                 "count": count, "affected": waiting.count(), "link": _link(integration),
                 "since": new.aggregate(first=Min("updated_at"))["first"].isoformat(),
                 "groups": _parked_groups(groups, several_entities=len(entities) > 1)}
        if not Watermark.objects.filter(pk=mark.pk, value=mark.value).update(value=now):
            continue  # another worker's monitor told this batch this instant
        notices += raising.raise_alert(Kind.PARKED, key, workspace_id=integration.workspace_id,
                                       integration_id=integration.pk, facts=facts, update=True, now=now)
    return notices


def _parked_groups(groups: list[dict[str, Any]], *, several_entities: bool) -> list[list[Any]]:
    """[reason, count] per group, and the reason's translatable form third when it has one, so the message
    quotes it in the workspace's language (the form of one of its records: a group shares its text, so its
    form)."""
    forms = dict(Activity.objects.filter(pk__in=[g["example"] for g in groups]).values_list("pk", "reason_args"))
    told = []
    for group in groups:
        said = from_args(group["reason"], forms.get(group["example"]))
        if several_entities:
            said = reason("{entity}: {reason}", entity=group["entity"], reason=said)
        form = as_args(said)
        told.append([str(said), group["count"], *([form] if form else [])])
    return told


# ---- silence ------------------------------------------------------------------------------------


def silent_flows(now: datetime | None = None) -> list[int]:
    """A scheduled flow without a successful run for longer than expected: the workspace's
    `run_silence_minutes`, else three schedule intervals and 15 minutes at least."""
    now = now or timezone.now()
    notices: list[int] = []
    found: set[str] = set()
    for schedule in Schedule.objects.filter(enabled=True, integration__in=_active()).select_related("integration"):
        integration = schedule.integration
        rules = raising.policy(integration.workspace_id)
        expected = rules.run_silence_minutes or max(15, math.ceil(3 * schedule.interval_seconds / 60))
        last = (Run.objects.filter(integration=integration, flow=schedule.flow, status__in=FINISHED_WELL)
                .order_by("-finished_at").values_list("finished_at", flat=True).first())
        reference = max(filter(None, [last, integration.created_at, _resumed(integration)]))
        key = f"{Kind.SILENT_FLOW}:{integration.pk}:{schedule.flow}"
        if now - reference <= timedelta(minutes=expected):
            continue
        found.add(key)
        notices += raising.raise_alert(
            Kind.SILENT_FLOW, key, workspace_id=integration.workspace_id, integration_id=integration.pk,
            since=reference, now=now, facts={"integration": integration.name, "flow": schedule.flow,
                                             "last": last.isoformat() if last else "", "since": reference.isoformat(),
                                             "expected": expected, "link": _link(integration)})
    # Paused integrations keep their silence alerts open: their broken connection is what to fix.
    running = set(_active().values_list("pk", flat=True))
    stale = Alert.objects.filter(kind=Kind.SILENT_FLOW, resolved_at__isnull=True, integration_id__in=running)
    for key in stale.exclude(key__in=found).values_list("key", flat=True):
        notices += raising.resolve(key, now=now)
    return notices


def _resumed(integration: Integration) -> datetime | None:
    """When a broken connection of the integration last recovered: silence counts from then."""
    return (Alert.objects.filter(kind=Kind.BROKEN_CONNECTION, resolved_at__isnull=False,
                                 connection_id__in=[integration.shop_id, integration.books_id])
            .order_by("-resolved_at").values_list("resolved_at", flat=True).first())


def order_silence_hours(integration: Integration, now: datetime) -> int | None:
    """How long without orders is unusual for this shop: the workspace's fixed hours, else learned from the
    orders Koppel saw in the last two weeks (the longest gap between two, and half again); None when
    there is too little history to tell."""
    fixed = raising.policy(integration.workspace_id).orders_silence_hours
    if fixed:
        return fixed
    seen = list(Activity.objects.filter(integration=integration, entity="order",
                                        created_at__gte=now - timedelta(days=LEARN_FROM_DAYS),
                                        created_at__lte=now).order_by("created_at")
                .values_list("created_at", flat=True))
    if len(seen) < LEARN_FROM_ORDERS:
        return None
    longest = max((b - a for a, b in zip(seen, seen[1:], strict=False)), default=timedelta(0))
    return max(1, math.ceil(longest.total_seconds() * 1.5 / 3600))


def silent_orders(now: datetime | None = None) -> list[int]:
    """No new order from a shop for longer than usual (or than the fixed threshold)."""
    now = now or timezone.now()
    notices: list[int] = []
    for schedule in Schedule.objects.filter(enabled=True, flow="orders",
                                            integration__in=_active()).select_related("integration"):
        integration = schedule.integration
        key = f"{Kind.SILENT_ORDERS}:{integration.pk}"
        hours = order_silence_hours(integration, now)
        last = (Activity.objects.filter(integration=integration, entity="order").order_by("-created_at")
                .values_list("created_at", flat=True).first())
        reference = max(filter(None, [last, integration.created_at, _resumed(integration)]))
        if hours is None or now - reference <= timedelta(hours=hours):
            notices += raising.resolve(key, now=now)
            continue
        notices += raising.raise_alert(
            Kind.SILENT_ORDERS, key, workspace_id=integration.workspace_id, integration_id=integration.pk,
            since=reference, now=now, facts={"integration": integration.name, "hours": hours,
                                             "last": last.isoformat() if last else "",
                                             "since": reference.isoformat(), "link": _link(integration)})
    return notices


# ---- stuck work ---------------------------------------------------------------------------------


def stuck_runs(now: datetime | None = None) -> list[int]:
    """A run open far longer than the usual duration of its flow (the median of its last 20 runs)."""
    now = now or timezone.now()
    options = alert_settings()
    notices: list[int] = []
    found: set[str] = set()
    for run in Run.objects.filter(status=Run.Status.RUNNING).select_related("integration"):
        finished = (Run.objects.filter(integration_id=run.integration_id, flow=run.flow, finished_at__isnull=False)
                    .exclude(status=Run.Status.RUNNING).order_by("-started_at")[:20])
        durations = [(r.finished_at - r.started_at).total_seconds() for r in finished if r.finished_at]
        usual = statistics.median(durations) if durations else 0.0
        limit = max(options.stuck_factor * usual, options.stuck_minutes * 60)
        if (now - run.started_at).total_seconds() <= limit:
            continue
        key = f"{Kind.STUCK_RUN}:{run.pk}"
        found.add(key)
        integration = run.integration
        notices += raising.raise_alert(
            Kind.STUCK_RUN, key, workspace_id=integration.workspace_id, integration_id=integration.pk,
            since=run.started_at, now=now,
            facts={"integration": integration.name, "flow": run.flow, "run": run.pk,
                   "last": run.started_at.isoformat(), "since": run.started_at.isoformat(),
                   "usual": max(1, math.ceil(usual / 60)), "link": _link(integration)})
    return notices + raising.resolve_all(Kind.STUCK_RUN, found, now=now)


def dead_workers(now: datetime | None = None) -> list[int]:
    """A worker whose heartbeat stopped (an operators' alert); it resolves when it beats again or is
    forgotten. One-off commands (`koppel sync`) end by design and are left out."""
    now = now or timezone.now()
    silent_after = timedelta(seconds=alert_settings().worker_silence_seconds)
    found: set[str] = set()
    notices: list[int] = []
    for executor in Executor.objects.filter(last_seen_at__lt=now - silent_after):
        if ONE_OFF_EXECUTOR.search(executor.executor_id):
            continue
        key = f"{Kind.DEAD_WORKER}:{executor.executor_id}"
        found.add(key)
        notices += raising.raise_alert(
            Kind.DEAD_WORKER, key, workspace_id=None, since=executor.last_seen_at, now=now,
            facts={"executor": executor.executor_id, "last": executor.last_seen_at.isoformat(),
                   "since": executor.last_seen_at.isoformat()})
    return notices + raising.resolve_all(Kind.DEAD_WORKER, found, now=now)


def queue_depth() -> tuple[int, datetime | None]:
    """How many units of work wait in the engine's queues, and since when the oldest waits."""
    from dbos import DBOS

    waiting = DBOS.list_workflows(status="ENQUEUED", load_input=False, load_output=False)
    oldest = min((w.created_at for w in waiting if w.created_at), default=None)
    return len(waiting), (datetime.fromtimestamp(oldest / 1000, tz=timezone.get_current_timezone())
                          if oldest else None)


def growing_queue(now: datetime | None = None, depth: tuple[int, datetime | None] | None = None) -> list[int]:
    """The queue holds more than `queue_depth` units and its oldest has waited longer than
    `queue_age_minutes` (an operators' alert)."""
    now = now or timezone.now()
    options = alert_settings()
    count, oldest = depth if depth is not None else queue_depth()
    key = Kind.QUEUE_GROWING
    if count >= options.queue_depth and oldest and now - oldest >= timedelta(minutes=options.queue_age_minutes):
        return raising.raise_alert(Kind.QUEUE_GROWING, key, workspace_id=None, since=oldest, now=now,
                                   facts={"depth": count, "last": oldest.isoformat(), "since": oldest.isoformat()})
    return raising.resolve(key, now=now)
