"""The scheduler: reads the `Schedule` rows on every tick, so edits apply at once, and starts the
flow runs that are due, once per time slot.

Time is cut into slots of each schedule's interval, counted from the epoch. The run of a slot has
the workflow id `run:<flow>:<integration>:<slot start>`, so schedulers on several machines that
see the same slot start the same workflow, which DBOS runs once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.db import close_old_connections
from django.utils import timezone

from koppel.sync import retention, units

if TYPE_CHECKING:
    from koppel.sync.engine import Engine

log = logging.getLogger(__name__)
_unknown_flows: set[tuple[int, str]] = set()   # schedules already warned about, to warn once


def slot_start(now: datetime, interval_seconds: int) -> datetime:
    """The start of the slot `now` falls in, for slots of `interval_seconds` since the epoch."""
    seconds = int(now.timestamp())
    return datetime.fromtimestamp(seconds - seconds % max(interval_seconds, 1), tz=UTC)


def slot_workflow_id(flow: str, integration_id: int, slot: datetime) -> str:
    return f"{units.run_id_prefix(flow, integration_id)}{slot:%Y%m%dT%H%M%SZ}"


def tick(now: datetime | None = None) -> list[str]:
    """Start every due flow run; returns the workflow ids started.

    A schedule is due when nothing started in its current slot and no run of it is still queued
    or running (a slow run delays the next, it does not pile them up).
    """
    from koppel.core.integrations.models import Schedule

    now = now or timezone.now()
    started = []
    schedules = Schedule.objects.filter(enabled=True, integration__enabled=True,
                                        integration__paused_reason="").order_by("pk")
    for schedule in schedules:
        if schedule.flow not in units.flows():
            if (schedule.pk, schedule.flow) not in _unknown_flows:
                _unknown_flows.add((schedule.pk, schedule.flow))
                log.warning("schedule %s: flow %r is not declared here", schedule.pk, schedule.flow)
            continue
        slot = slot_start(now, schedule.interval_seconds)
        if schedule.last_started_at and schedule.last_started_at >= slot:
            continue
        if units.run_active(schedule.flow, schedule.integration_id):
            continue
        workflow_id = slot_workflow_id(schedule.flow, schedule.integration_id, slot)
        units.start_flow_run(schedule.flow, schedule.integration_id, workflow_id=workflow_id)
        Schedule.objects.filter(pk=schedule.pk).update(last_started_at=now)
        started.append(workflow_id)
    return started


def run(engine: Engine) -> None:
    """The scheduler loop of an engine, until it stops; purges past retention now and then."""
    options = engine.options
    last_purge: float | None = None
    while not engine.stop.wait(options.scheduler_interval):
        try:
            tick()
            moment = timezone.now().timestamp()
            if last_purge is None or moment - last_purge >= options.purge_interval:
                last_purge = moment
                retention.purge()
        except Exception:
            log.exception("scheduler tick failed; trying again")
        finally:
            close_old_connections()
