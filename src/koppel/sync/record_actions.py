"""What a person does to records from the dashboard, on the engine's side: skip and unskip a record,
forget its link and send it again, retry it now, erase a customer's data from the activity log, and
export one record's activity. Each action is written down with who did it (`RecordAction`).

The web never writes to a remote system itself: a retry or resync is started as a retry run of the
record's flow (`koppel retry`), on the engine of this process when it runs one (`koppel run`), else
as a `koppel retry` process of its own, which works the queue like any one-off command.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity, Link, RecordAction, RetryOffer, Run, Skip
from koppel.core.alerts.models import Alert, Delivery, Notice
from koppel.core.integrations.models import Integration
from koppel.errors import Outcome
from koppel.reasons import as_args, reason, setting_to_fix
from koppel.sync import erasure
from koppel.sync.links import PARKED

ERASED = "[erased]"


# ---- skip ------------------------------------------------------------------------------------------


def skip_reason(integration_id: int, entity: str, key: str) -> str:
    """Why the runner must leave this record alone ("" when nobody skipped it). One indexed read per record
    (measured as dear as one read of its activity); the connection is closed only when the record is left
    alone: otherwise the unit goes on to the database, and its own calls close it."""
    by = Skip.objects.filter(integration_id=integration_id, entity=entity, key=key).values_list("by", flat=True).first()
    if by is None:
        return ""
    if not connection.in_atomic_block:
        close_old_connections()
    return reason("skipped by {by}: never sent until someone unskips it", by=by)


def skip(activity: Activity, by: str) -> None:
    """Never send this record (reversible): its activity says so, and every run leaves it alone."""
    now = timezone.now()
    with transaction.atomic():
        _, made = Skip.objects.get_or_create(integration_id=activity.integration_id, entity=activity.entity,
                                             key=activity.key, defaults={"by": by, "at": now})
        if not made:
            return
        _note(activity, RecordAction.Kind.SKIP, by, f"was {activity.outcome}: {activity.reason}")
        said = skip_reason(activity.integration_id, activity.entity, activity.key)
        Activity.objects.filter(pk=activity.pk).update(
            outcome=Outcome.SKIPPED.value, reason=said, reason_args=as_args(said), updated_at=now)


def unskip(activity: Activity, by: str) -> None:
    """Undo a skip and send the record again now."""
    with transaction.atomic():
        deleted, _ = Skip.objects.filter(integration_id=activity.integration_id, entity=activity.entity,
                                         key=activity.key).delete()
        if not deleted:
            return
        _note(activity, RecordAction.Kind.UNSKIP, by)
        said = reason("unskipped by {by}: sent again by a retry", by=by)
        Activity.objects.filter(pk=activity.pk).update(
            outcome=Outcome.NEEDS_ATTENTION.value, reason=said, reason_args=said.as_args(), updated_at=timezone.now())
    _start_retry(activity.integration, flow_of(activity.entity), [activity.key])


def is_skipped(activity: Activity) -> bool:
    return Skip.objects.filter(integration_id=activity.integration_id, entity=activity.entity,
                               key=activity.key).exists()


# ---- retry and resync ------------------------------------------------------------------------------


def flow_of(entity: str) -> str:
    """The flow whose records are of this entity ("" when none: such a record can't be sent again by itself)."""
    from koppel.sync import engine, runner, units

    if not units.flows():
        engine.declare_workflows(engine.FLOW_PACKAGES)
    return next((name for name in units.flows() if runner.find(name).entity == entity), "")


def settings_to_fix(flow: str, text: str, args: dict[str, Any] | None) -> list[str]:
    """The setting that fixes a reason (its `text` and stored form `args`) of a record of this flow, as the form
    says it (`reasons.fixed_in`: the flow knows which setting it checked): the flow's own by its name, another
    flow's as "<flow>.<setting>" (the stock flow follows the products flow's `blocked`), and "" of a setting
    no flow has. A reason stored without one (older records, a flow that doesn't say yet) falls back to the
    flow's own settings its text names in their own spelling, e.g. "(credit_orders)"."""
    from koppel.sync import runner

    if not flow:
        return []
    fixing = setting_to_fix(args)
    if fixing:
        owner, _, name = fixing.rpartition(".")
        try:
            known = name in runner.find(owner or flow).settings.model_fields
        except LookupError:  # a flow this process doesn't have (any more)
            known = False
        return [name if owner in ("", flow) else fixing] if known else []
    names = list(runner.find(flow).settings.model_fields)
    return [name for name in names if re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text)]


def retry(activities: list[Activity], by: str) -> int:
    """Send these records again now, as one retry run per integration and flow; returns how many. Skipped
    records and records of no flow are left out (a skipped record is unskipped first)."""
    groups: dict[tuple[int, str], list[Activity]] = {}
    skipped = {(s.integration_id, s.entity, s.key) for s in Skip.objects.filter(
        integration_id__in={a.integration_id for a in activities}, key__in=[a.key for a in activities])}
    for activity in activities:
        flow = flow_of(activity.entity)
        if flow and (activity.integration_id, activity.entity, activity.key) not in skipped:
            groups.setdefault((activity.integration_id, flow), []).append(activity)
    for (_, flow), chosen in groups.items():
        for activity in chosen:
            _note(activity, RecordAction.Kind.RETRY, by)
        _start_retry(chosen[0].integration, flow, [a.key for a in chosen])
    return sum(len(chosen) for chosen in groups.values())


def forget_and_resync(activity: Activity, by: str) -> None:
    """After someone deleted the record in the target: forget its link, so it is matched and sent again,
    and send it now."""
    with transaction.atomic():
        target = Link.objects.filter(integration_id=activity.integration_id, entity=activity.entity,
                                     source_key=activity.key).values_list("target_key", flat=True).first()
        Link.objects.filter(integration_id=activity.integration_id, entity=activity.entity,
                            source_key=activity.key).delete()
        _note(activity, RecordAction.Kind.RESYNC, by, f"forgot the link to {target or activity.target_key or '?'}")
    _start_retry(activity.integration, flow_of(activity.entity), [activity.key])


def parked(activities: Any) -> Any:
    """Only the parked ones of a selection (what a bulk retry touches)."""
    return activities.filter(outcome__in=PARKED)


Starter = Callable[[str, str, list[str]], None]


def start_in_background(flow: str, integration: str, keys: list[str]) -> None:
    """Start `koppel retry` for these records without waiting for it."""
    from koppel.sync import engine

    if engine.is_running():  # the embedded default (koppel run): this process works the queue
        from koppel.sync.runner import retry_flow

        threading.Thread(target=retry_flow, args=(flow, integration, keys), name=f"retry-{flow}",
                         daemon=True).start()
        return
    subprocess.Popen(  # noqa: S603  (our own command, arguments as a list)
        [sys.executable, "-c", "from koppel.cli import main; main()", "retry", flow, *keys,
         "--integration", integration, "--json"],
        # Its summary is in the runs and activity; its log goes where this process logs.
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)


starter: Starter = start_in_background  # tests replace it to run the retry in their own process


def _start_retry(integration: Integration, flow: str, keys: list[str]) -> None:
    if flow and keys:
        transaction.on_commit(lambda: starter(flow, integration.name, keys))


# ---- erasure and export ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    """What an erasure changed: records whose data went, texts the address was removed from (reasons, run
    errors, the facts of alerts and their notices), and what the engine stored (`erasure.EngineErased`)."""

    records: int
    payloads: int
    reasons: int
    runs: int
    alerts: int = 0
    engine: erasure.EngineErased = erasure.EngineErased(0, 0, 0)


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def erase_customer(workspace: Workspace, email: str, by: str) -> Erased:
    """The right to erasure: every activity of the workspace whose data names this e-mail address loses its
    payloads (what came in and went out: the customer's name, address and order lines), and the address is
    removed from reasons, run errors, the reasons of retry offers, the facts of the workspace's alerts and
    notices (a parked record's reason, quoted), and what the engine stored (`erasure.erase_from_engine`). The
    entry saying so names the counts, never the address. The dashboard runs it on a worker
    (`erasure.request`); it takes as long as the workspace's activity and the engine's store are big."""
    email = email.strip()
    if not EMAIL.match(email):
        raise ValueError(f"{email!r} is not an e-mail address")  # the worker's step takes the address out of it
    pattern = re.compile(re.escape(email), re.IGNORECASE)
    mentions = (Q(payload_in__icontains=email) | Q(payload_out__icontains=email) | Q(changes__icontains=email)
                | Q(reason__icontains=email))
    payloads = reasons = records = 0
    with transaction.atomic():
        found = list(Activity.objects.filter(mentions, integration__workspace=workspace).select_for_update())
        for activity in found:
            had_payload = any(kept is not None for kept in (activity.payload_in, activity.payload_out,
                                                            activity.changes))
            scrubbed = pattern.sub(ERASED, activity.reason)
            payloads += had_payload
            reasons += scrubbed != activity.reason
            records += 1
            Activity.objects.filter(pk=activity.pk).update(
                payload_in=None, payload_out=None, changes=None, reason=scrubbed,
                # the reason's translatable form (koppel.reasons) named the address too: the scrubbed text stands
                reason_args=activity.reason_args if scrubbed == activity.reason else None)
        runs = 0
        for run in Run.objects.filter(integration__workspace=workspace, error__icontains=email):
            Run.objects.filter(pk=run.pk).update(error=pattern.sub(ERASED, run.error))
            runs += 1
        for offer in RetryOffer.objects.filter(integration__workspace=workspace, still_parked__icontains=email):
            RetryOffer.objects.filter(pk=offer.pk).update(still_parked=[
                {**entry, "reason": pattern.sub(ERASED, entry["reason"])} for entry in offer.still_parked])
        alerts = _erase_from_alerts(workspace, email, pattern)
        erased = Erased(records=records, payloads=payloads, reasons=reasons, runs=runs, alerts=alerts)
        for integration in workspace.integrations.all():
            RecordAction.objects.create(integration=integration, kind=RecordAction.Kind.ERASE, by=by,
                                        at=timezone.now(), detail=_erase_detail(erased))
    # and from what the engine stored (sync/erasure.py)
    return replace(erased, engine=erasure.erase_from_engine(workspace, email, by))


def _erase_from_alerts(workspace: Workspace, email: str, pattern: re.Pattern[str]) -> int:
    """The address out of the facts of the workspace's alerts and their notices (a parked-records alert quotes
    the reasons, and the reasons' translatable forms) and out of their deliveries' errors; returns how many
    alerts and notices named it."""
    changed = 0
    for model in (Alert, Notice):
        for pk, facts in model.objects.filter(  # type: ignore[attr-defined]
                **{"alert__workspace" if model is Notice else "workspace": workspace},
                facts__icontains=email).values_list("pk", "facts"):
            model.objects.filter(pk=pk).update(  # type: ignore[attr-defined]
                facts=json.loads(pattern.sub(ERASED, json.dumps(facts))))
            changed += 1
    for pk, error in Delivery.objects.filter(notice__alert__workspace=workspace,
                                             last_error__icontains=email).values_list("pk", "last_error"):
        Delivery.objects.filter(pk=pk).update(last_error=pattern.sub(ERASED, error))
    return changed


def drop_payloads(workspace: Workspace) -> int:
    """Metadata only from now on: the payloads kept so far go too (the activity keeps keys, outcomes and
    reasons; what changed between sends holds values too); returns how many records had one."""
    kept = Activity.objects.filter(integration__workspace=workspace).filter(
        Q(payload_in__isnull=False) | Q(payload_out__isnull=False) | Q(changes__isnull=False))
    return kept.update(payload_in=None, payload_out=None, changes=None)


def _erase_detail(erased: Erased) -> str:
    return (f"a customer's data erased by e-mail: {erased.records} records, {erased.payloads} payloads, "
            f"{erased.reasons} reasons, {erased.runs} runs")


def export_record(activity: Activity, by: str) -> dict[str, Any]:
    """One record's activity for the merchant, as JSON: its outcome, what came in and went out, its link,
    its skip and who did what to it."""
    where = {"integration_id": activity.integration_id, "entity": activity.entity}
    link = Link.objects.filter(**where, source_key=activity.key).values("target_key", "created_at").first()
    skipped = Skip.objects.filter(**where, key=activity.key).values("by", "at").first()
    _note(activity, RecordAction.Kind.EXPORT, by)
    actions = RecordAction.objects.filter(**where, key=activity.key).order_by("at", "pk")
    return {
        "integration": activity.integration.name,
        "entity": activity.entity,
        "key": activity.key,
        "outcome": activity.outcome,
        "reason": activity.reason,
        "target_key": activity.target_key,
        "attempts": activity.attempts,
        "run": activity.run_id,
        "first_seen": activity.created_at.isoformat(),
        "last_changed": activity.updated_at.isoformat(),
        "payload_in": activity.payload_in,
        "payload_out": activity.payload_out,
        "changed_since_last_send": (activity.changes or {}).get("fields"),
        "link": {"target_key": link["target_key"], "since": link["created_at"].isoformat()} if link else None,
        "skipped": {"by": skipped["by"], "since": skipped["at"].isoformat()} if skipped else None,
        "actions": [{"kind": a.kind, "by": a.by, "at": a.at.isoformat(), "detail": a.detail} for a in actions],
    }


def _note(activity: Activity, kind: str, by: str, detail: str = "") -> None:
    RecordAction.objects.create(integration_id=activity.integration_id, entity=activity.entity, key=activity.key,
                                kind=kind, by=by, detail=detail, at=timezone.now())
