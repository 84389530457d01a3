"""The supervisor: every engine beats a heartbeat, and takes over the unfinished workflows of
executors whose heartbeat stopped.

DBOS resumes a crashed executor's workflows only when an executor with the same id starts again.
A worker machine that never comes back would leave its work PENDING forever; here, any live
executor notices the silence and hands that work to the queues, where a live worker picks it up.

Silence takes a timeout to notice; on one machine death needs none. Each executor also holds a
lock file in the data dir for as long as its process lives (the kernel lets go when the process
dies, however it dies): an executor whose lock is free is gone, and its work is taken over at once,
e.g. by the `koppel sync` started after a killed one.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dbos import DBOS
from django.db import close_old_connections
from django.utils import timezone

if TYPE_CHECKING:
    from koppel.sync.engine import Engine

log = logging.getLogger(__name__)
FORGET_AFTER = timedelta(days=1)   # heartbeats of executors gone this long are deleted
# A one-off command takes over dead executors' work itself while its engine's heartbeat thread beats and takes
# over too: one at a time in a process. On SQLite's shared cache (the tests' database) the two threads' reads
# and writes of the executors' table otherwise meet as "database table is locked", which no busy wait covers.
_supervising = threading.Lock()
_life_locks: dict[str, int] = {}   # executor id → the descriptor holding its lock, while this process lives


def _lock_file(executor_id: str) -> Path:
    from koppel.settings import get_settings

    name = re.sub(r"[^A-Za-z0-9_.-]", "_", executor_id)
    return get_settings().ensure_data_dir() / "executors" / f"{name}.lock"


def hold_life_lock(executor_id: str) -> None:
    """Hold this executor's lock file until the process ends."""
    if executor_id in _life_locks:
        return
    path = _lock_file(executor_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # a live process runs with this id already: the heartbeat decides
        os.close(descriptor)
        log.warning("executor %s runs in another process too", executor_id)
        return
    _life_locks[executor_id] = descriptor


def died_here(executor_id: str) -> bool:
    """Whether the executor ran on this machine and its process is gone (its lock file is free)."""
    path = _lock_file(executor_id)
    if executor_id in _life_locks or not path.exists():
        return False
    descriptor = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)  # closing lets go of the lock again
    return True


def beat(executor_id: str, application_version: str, now: datetime | None = None) -> None:
    """Say that this executor is alive."""
    from koppel.core.activity.models import Executor

    hold_life_lock(executor_id)
    now = now or timezone.now()
    with _supervising:
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
    """Hand the PENDING workflows of silent or dead executors back to their queues; returns their ids.

    DBOS re-enqueues only workflows still owned by the given executors, so two supervisors doing
    this at once recover each workflow once.
    """
    with _supervising:
        return _take_over(own_executor_id, timeout, now)


def _take_over(own_executor_id: str, timeout: float, now: datetime | None) -> list[str]:
    from koppel.core.activity.models import Executor

    pending = DBOS.list_workflows(status="PENDING", app_version=DBOS.application_version,
                                  load_input=False, load_output=False)
    alive = live_executors(timeout, now) | {own_executor_id}
    owners = {wf.executor_id for wf in pending if wf.executor_id and wf.executor_id != own_executor_id}
    gone = sorted(owner for owner in owners if owner not in alive or died_here(owner))
    Executor.objects.filter(last_seen_at__lt=(now or timezone.now()) - FORGET_AFTER).delete()
    if not gone:
        return []
    log.warning("taking over the workflows of silent or dead executors %s", ", ".join(gone))
    handles = DBOS._recover_pending_workflows(gone)
    Executor.objects.filter(executor_id__in=gone).delete()
    for executor_id in gone:
        _lock_file(executor_id).unlink(missing_ok=True)
    return [handle.get_workflow_id() for handle in handles]


def run(engine: Engine, *, take_over_work: bool = True) -> None:
    """The heartbeat (and supervisor) loop of an engine, until it stops; work left by dead
    executors is taken over at the first beat."""
    options = engine.options
    while True:
        try:
            beat(engine.executor_id, DBOS.application_version)
            if take_over_work:
                take_over(engine.executor_id, options.executor_timeout)
        except Exception:
            log.exception("heartbeat failed; trying again")
        finally:
            close_old_connections()
        if engine.stop.wait(options.heartbeat_interval):
            return
