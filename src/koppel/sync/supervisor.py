"""The supervisor: every engine beats a heartbeat, and takes over the unfinished workflows of
executors whose heartbeat stopped.

DBOS resumes a crashed executor's workflows only when an executor with the same id starts again.
A worker machine that never comes back would leave its work PENDING forever; here, any live
executor notices the silence and hands that work to the queues, where a live worker picks it up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dbos import DBOS
from django.db import close_old_connections
from django.utils import timezone

if TYPE_CHECKING:
    from koppel.sync.engine import Engine

log = logging.getLogger(__name__)
FORGET_AFTER = timedelta(days=1)   # heartbeats of executors gone this long are deleted


def beat(executor_id: str, application_version: str, now: datetime | None = None) -> None:
    """Say that this executor is alive."""
    from koppel.core.activity.models import Executor

    now = now or timezone.now()
    updated = Executor.objects.filter(executor_id=executor_id).update(
        last_seen_at=now, application_version=application_version)
    if not updated:
        Executor.objects.update_or_create(executor_id=executor_id, defaults={
            "application_version": application_version, "started_at": now, "last_seen_at": now})


def live_executors(timeout: float, now: datetime | None = None) -> set[str]:
    """Ids of the executors that beat within the last `timeout` seconds."""
    from koppel.core.activity.models import Executor

    since = (now or timezone.now()) - timedelta(seconds=timeout)
    return set(Executor.objects.filter(last_seen_at__gte=since).values_list("executor_id", flat=True))


def take_over(own_executor_id: str, timeout: float, now: datetime | None = None) -> list[str]:
    """Hand the PENDING workflows of silent executors back to their queues; returns their ids.

    DBOS re-enqueues only workflows still owned by the given executors, so two supervisors doing
    this at once recover each workflow once.
    """
    from koppel.core.activity.models import Executor

    pending = DBOS.list_workflows(status="PENDING", app_version=DBOS.application_version,
                                  load_input=False, load_output=False)
    alive = live_executors(timeout, now) | {own_executor_id}
    gone = sorted({wf.executor_id for wf in pending if wf.executor_id and wf.executor_id not in alive})
    Executor.objects.filter(last_seen_at__lt=(now or timezone.now()) - FORGET_AFTER).delete()
    if not gone:
        return []
    log.warning("taking over the workflows of silent executors %s", ", ".join(gone))
    handles = DBOS._recover_pending_workflows(gone)
    Executor.objects.filter(executor_id__in=gone).delete()
    return [handle.get_workflow_id() for handle in handles]


def run(engine: Engine, *, take_over_work: bool = True) -> None:
    """The heartbeat (and supervisor) loop of an engine, until it stops."""
    options = engine.options
    while not engine.stop.wait(options.heartbeat_interval):
        try:
            beat(engine.executor_id, DBOS.application_version)
            if take_over_work:
                take_over(engine.executor_id, options.executor_timeout)
        except Exception:
            log.exception("heartbeat failed; trying again")
        finally:
            close_old_connections()
