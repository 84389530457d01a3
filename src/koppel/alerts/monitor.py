"""The monitor: beside the scheduler, it runs every check now and then (`KOPPEL_ALERTS_MONITOR_INTERVAL`),
sends reminders, and starts the delivery of every notice not sent yet (also those a crashed process
decided and could not start)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import close_old_connections
from django.utils import timezone

from koppel.alerts import connections, raising, watch
from koppel.alerts.delivery import dispatch_pending
from koppel.alerts.settings import alert_settings

if TYPE_CHECKING:
    from koppel.sync.engine import Engine

log = logging.getLogger(__name__)
CHECKS: tuple[Callable[[datetime], list[int]], ...] = (
    connections.escalate_unreachable, connections.probe_due, watch.parked, watch.silent_flows,
    watch.silent_orders, watch.stuck_runs, watch.dead_workers, watch.growing_queue, raising.remind_due,
    raising.forget_old,
)


def tick(now: datetime | None = None) -> list[int]:
    """Run every check once and send what they decided; returns the notices started. A check that fails
    is logged and the others go on."""
    now = now or timezone.now()
    for check in CHECKS:
        try:
            check(now)
        except Exception:
            log.exception("alert check %s failed; trying again at the next tick", check.__name__)
        finally:
            close_old_connections()
    return dispatch_pending()


def run(engine: Engine) -> None:
    """The monitor loop of an engine, until it stops."""
    while not engine.stop.wait(alert_settings().monitor_interval):
        try:
            tick()
        except Exception:
            log.exception("monitor tick failed; trying again")
        finally:
            close_old_connections()
