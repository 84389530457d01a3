"""Retention: activity, runs, retry offers and the insights' daily totals older than their workspace's
retention are deleted, and so are finished workflows (with their stored step results) older than the longest
retention.

Run by the scheduler now and then and by `koppel purge`; `now` is a clock the caller controls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from dbos import DBOS, DBOSClient, DBOSPortableJSONSerializer, WorkflowStatus
from django.db.models import Max
from django.utils import timezone

from koppel.settings import get_settings
from koppel.sync import engine

_BATCH = 500


@dataclass(frozen=True)
class Purged:
    """How many of each were deleted."""

    activity: int
    runs: int
    workflows: int
    totals: int = 0  # daily totals (revenue, API calls) of days before the retention


def purge(now: datetime | None = None, *, workflows: bool = True) -> Purged:
    """Delete what is past retention at `now` (default: the current time).

    Runs still running are kept whatever their age. Workflows are left alone when `workflows` is
    false, or when no system database exists yet.
    """
    from koppel.core.accounts.models import Workspace
    from koppel.core.activity.models import Activity, DailyTotal, RetryOffer, Run

    now = now or timezone.now()
    activity = runs = totals = 0
    for workspace in Workspace.objects.all():
        cutoff = now - timedelta(days=workspace.retention_days)
        of_workspace = {"integration__workspace": workspace}
        activity += Activity.objects.filter(**of_workspace, updated_at__lt=cutoff).delete()[0]
        runs += Run.objects.filter(**of_workspace, finished_at__lt=cutoff).delete()[0]
        totals += DailyTotal.objects.filter(**of_workspace, day__lt=timezone.localdate(cutoff)).delete()[0]
        # A settings change's retry offer holds reasons (which may quote a customer's value): it goes too.
        RetryOffer.objects.filter(**of_workspace, started_at__lt=cutoff).delete()
    longest = Workspace.objects.aggregate(days=Max("retention_days"))["days"]
    if longest is None:
        longest = get_settings().default_retention_days
    deleted = purge_workflows(now - timedelta(days=longest)) if workflows else 0
    return Purged(activity=activity, runs=runs, workflows=deleted, totals=totals)


def purge_workflows(finished_before: datetime) -> int:
    """Delete finished workflows, their steps and their stored values, that finished before then."""
    if engine.is_running():
        return _delete_batches(lambda: DBOS.list_workflows(
            status=engine.FINISHED, completed_before=finished_before.isoformat(), limit=_BATCH,
            load_input=False, load_output=False), DBOS.delete_workflows)
    settings = get_settings()
    url = engine.system_database_url(settings)
    if url.startswith("sqlite:///") and not _sqlite_exists(url):
        return 0
    client = DBOSClient(system_database_url=url, serializer=DBOSPortableJSONSerializer(),
                        application_name=engine.APP_NAME)
    try:
        return _delete_batches(lambda: client.list_workflows(
            status=engine.FINISHED, completed_before=finished_before.isoformat(), limit=_BATCH,
            load_input=False, load_output=False), client.delete_workflows)
    finally:
        client.destroy()


def _delete_batches(list_batch: Callable[[], list[WorkflowStatus]],
                    delete: Callable[[list[str]], None]) -> int:
    deleted = 0
    while batch := list_batch():
        delete([status.workflow_id for status in batch])
        deleted += len(batch)
    return deleted


def _sqlite_exists(url: str) -> bool:
    return Path(url.removeprefix("sqlite:///")).exists()
