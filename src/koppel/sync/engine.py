"""The durable engine: DBOS configured and launched inside a Koppel process, with its queues and the
supervisor and scheduler threads beside it.

One process launches the engine once (`koppel run`, `koppel worker`, `koppel sync`, a test's child
process) and shuts it down on exit. Workflow state lives in SQLite under the data dir, or in
PostgreSQL when configured, serialised as JSON.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from dbos import DBOS, DBOSConfig, DBOSPortableJSONSerializer
from sqlalchemy.engine import make_url

from koppel.settings import Settings, get_settings

log = logging.getLogger(__name__)

APP_NAME = "koppel"
FINISHED = ["SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]  # DBOS workflow statuses
FLOW_PACKAGES = ("koppel.flows",)  # imported at launch: their workflows must be declared to recover
ALERT_MODULES = ("koppel.alerts.delivery", "koppel.alerts.connections")  # the alerts' workflows and steps
ENGINE_MODULES = ("koppel.sync.erasure",)  # the engine's own workflows: a customer's erasure, asked for by the web
RUN_QUEUE = "koppel-runs"     # flow runs, partitioned per (integration, flow): one run at a time each
UNIT_QUEUE = "koppel-units"   # units of work, partitioned per integration


@dataclass(frozen=True)
class EngineOptions:
    """Limits and intervals of the engine; the defaults suit a production worker."""

    unit_concurrency: int = 8          # units of one integration running at once, across all workers
    unit_rate_limit: int = 20          # units of one integration started …
    unit_rate_period: float = 1.0      # … per this many seconds
    worker_concurrency: int = 16       # units one process runs at once
    # How often a worker looks for queued work. A freed slot waits for the next look: at 1 s, four
    # slots ran 4 orders a second whatever the remote allowed; each look costs a few small queries.
    polling_interval: float = 0.2
    heartbeat_interval: float = 5.0    # how often this process says it is alive
    executor_timeout: float = 30.0     # an executor silent this long is gone: its work is taken over
    scheduler_interval: float = 1.0    # how often the scheduler reads the schedules
    purge_interval: float = 3600.0     # how often the scheduler purges past retention


@dataclass
class Engine:
    """The engine running in this process."""

    executor_id: str
    options: EngineOptions
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start_thread(self, name: str, target: object) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self.threads.append(thread)


_engine: Engine | None = None


def system_database_url(settings: Settings) -> str:
    """Where DBOS keeps workflow state: the configured URL, else a `_dbos` database beside the
    Koppel database on the same PostgreSQL server, else a SQLite file in the data dir."""
    if settings.system_database_url:
        return settings.system_database_url
    if settings.uses_postgres and settings.database_url:
        url = make_url(settings.database_url)
        return url.set(database=f"{url.database}_dbos").render_as_string(hide_password=False)
    path = (settings.ensure_data_dir() / "dbos.sqlite").resolve()
    return f"sqlite:///{path}"


def one_off_executor_id(role: str) -> str:
    """An executor id for a one-off process (`koppel sync`, `koppel purge`) beside the workers of
    this machine: never the id of a worker, whose unfinished work DBOS would otherwise resume here."""
    return f"{get_settings().executor_id}-{role}-{os.getpid()}"


def dbos_config(settings: Settings, executor_id: str) -> DBOSConfig:
    return {
        "name": APP_NAME,
        "system_database_url": system_database_url(settings),
        "executor_id": executor_id,
        "application_version": settings.application_version,
        # JSON, never pickle: stored workflow data stays readable and can't execute code on load.
        "serializer": DBOSPortableJSONSerializer(),
        "log_level": settings.log_level,
        "sys_db_pool_size": 10,
    }


def register_queues(options: EngineOptions) -> None:
    """Write the queue configuration to the system database, where every worker reads it."""
    DBOS.register_queue(RUN_QUEUE, partition_concurrency=1,
                        polling_interval_sec=options.polling_interval, on_conflict="always_update")
    DBOS.register_queue(
        UNIT_QUEUE,
        partition_concurrency=options.unit_concurrency,
        partition_limiter={"limit": options.unit_rate_limit, "period": options.unit_rate_period},
        worker_concurrency=max(options.worker_concurrency, options.unit_concurrency),
        polling_interval_sec=options.polling_interval,
        on_conflict="always_update",
    )


def declare_workflows(packages: Iterable[str]) -> None:
    """Import these modules, and every module of these packages, so their workflows are declared."""
    for name in packages:
        module = importlib.import_module(name)
        for found in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{name}."):
            importlib.import_module(found.name)


def launch(*, executor_id: str | None = None, supervisor: bool = True, scheduler: bool = False,
           options: EngineOptions | None = None, packages: Iterable[str] = FLOW_PACKAGES) -> Engine:
    """Start the engine in this process; the database must be migrated (`koppel migrate`).

    `executor_id` defaults to the settings' stable id: a restarted worker with the same id resumes
    its own unfinished workflows at once. One-off commands pass an id of their own
    (`one_off_executor_id`). The supervisor takes over the work of executors that stopped beating
    (keep it on in one-off commands too: on a machine without workers, nothing else would);
    the scheduler starts due flow runs, and beside it the alerts' monitor checks. The workflows of
    `packages` (and the alerts') are declared before DBOS starts, so that recovery finds them.
    """
    global _engine
    if _engine is not None:
        raise RuntimeError("the engine is running already in this process")
    from koppel.core import setup

    setup()
    declare_workflows((*packages, *ALERT_MODULES, *ENGINE_MODULES))
    from koppel.sync import supervisor as supervision

    settings = get_settings()
    engine = Engine(executor_id=executor_id or settings.executor_id, options=options or EngineOptions())
    supervision.beat(engine.executor_id, settings.application_version)
    DBOS(config=dbos_config(settings, engine.executor_id))
    DBOS.launch()
    register_queues(engine.options)
    _engine = engine
    engine.start_thread("koppel-heartbeat", lambda: supervision.run(engine, take_over_work=supervisor))
    if scheduler:
        from koppel.sync import schedules

        engine.start_thread("koppel-scheduler", lambda: schedules.run(engine))
        from koppel.alerts import monitor

        engine.start_thread("koppel-monitor", lambda: monitor.run(engine))
    log.info("engine launched as executor %s", engine.executor_id)
    return engine


def shutdown(workflow_completion_timeout: int = 0) -> None:
    """Stop the engine's threads and DBOS; unfinished workflows resume on the next launch."""
    global _engine
    engine, _engine = _engine, None
    if engine is not None:
        engine.stop.set()
        for thread in engine.threads:
            thread.join(timeout=10)
    DBOS.destroy(workflow_completion_timeout_sec=workflow_completion_timeout)


def serve(*, executor_id: str | None = None, scheduler: bool = True,
          options: EngineOptions | None = None) -> None:
    """Run a worker until SIGTERM or SIGINT (`koppel worker`); call from the main thread."""
    engine = launch(executor_id=executor_id, scheduler=scheduler, options=options)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: engine.stop.set())
    try:
        while not engine.stop.wait(1.0):
            pass
    finally:
        shutdown()


def running() -> Engine:
    """The engine of this process; raises when it was not launched."""
    if _engine is None:
        raise RuntimeError("the engine is not running in this process: call koppel.sync.engine.launch()")
    return _engine


def is_running() -> bool:
    return _engine is not None
