"""Records a settings change may have freed. A fixed setting does not send what it held back: parked orders
stay parked, and an order skipped for its status stays skipped until someone runs `--full`. So when a flow's
settings are saved, its parked records and those it skipped because of a setting (a status not sent, a test
order, an article outside the selection; not those in the target already, nor those a person skipped) are
tried against the saved settings by a dry run (`sync.dry_run`: reads only, nothing written), the newest
`KOPPEL_RETRY_OFFER_RECORDS` of them. Those that would now go through are offered for one bulk retry
(`record_actions.retry`); the rest are listed with the reason they would still park.

The check runs on a thread of its own, so saving answers at once (tests run it in place: `starter`); its
answer is the flow's `RetryOffer`, replaced by the next change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from koppel.core.activity.models import Activity, Link, RetryOffer, Skip
from koppel.core.integrations.models import Integration
from koppel.errors import Outcome
from koppel.settings import get_settings
from koppel.sync import record_actions
from koppel.sync.dry_run import WOULD_SEND, dry_run
from koppel.sync.links import PARKED

log = logging.getLogger(__name__)
# A check still "checking" after this long died with its process (a restart mid-check): said so, not waited for.
CHECK_LIFETIME = timedelta(minutes=15)


def candidates(integration_id: int, entity: str) -> QuerySet[Activity]:
    """The records a settings change may free, newest first: parked ones, and skipped ones that are neither in
    the target already (a link) nor skipped by a person."""
    same = {"integration_id": OuterRef("integration_id"), "entity": OuterRef("entity")}
    linked = Exists(Link.objects.filter(**same, source_key=OuterRef("key")))
    skipped_by_a_person = Exists(Skip.objects.filter(**same, key=OuterRef("key")))
    return (Activity.objects.filter(integration_id=integration_id, entity=entity)
            .filter(Q(outcome__in=PARKED) | (Q(outcome=Outcome.SKIPPED.value) & ~linked))
            .exclude(skipped_by_a_person).order_by("-updated_at", "-pk"))


def changed_flows(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The flows whose settings that decide what a run does to a record changed (not when or whether it runs)."""
    return [flow for flow, settings in after.items() if _what_decides(before.get(flow)) != _what_decides(settings)]


def _what_decides(settings: Any) -> Any:
    if not isinstance(settings, dict):
        return settings
    return {name: value for name, value in settings.items() if name not in ("enabled", "interval_seconds")}


def settings_changed(integration: Integration, flow: str, by: str, *, most: int | None = None,
                     now: bool = False) -> RetryOffer | None:
    """The flow's settings were saved: start checking its candidates against them (the newest `most`, by default
    `KOPPEL_RETRY_OFFER_RECORDS`), on a thread of its own, or here with `now`. None, and an earlier offer gone,
    when it has none."""
    from koppel.sync import runner

    try:
        entity = runner.find(flow).entity
    except LookupError:
        return None
    found = candidates(integration.pk, entity)
    total = found.count()
    if not total:
        RetryOffer.objects.filter(integration=integration, flow=flow).delete()  # moot after this change
        return None
    keys = list(found.values_list("key", flat=True)[:most or get_settings().retry_offer_records])
    started = timezone.now()
    offer, _ = RetryOffer.objects.update_or_create(integration=integration, flow=flow, defaults={
        "status": RetryOffer.Status.CHECKING, "by": by, "started_at": started, "finished_at": None,
        "candidates": total, "checked": 0, "would_send": [], "still_parked": [], "error": "",
        "retried_by": "", "retried_at": None})
    transaction.on_commit(lambda: (check if now else starter)(offer.pk, started, keys))
    return offer


def check(offer_id: int, started_at: datetime, keys: list[str]) -> None:
    """Try these records against the flow's saved settings and keep the answer in the offer, unless a later
    change started a newer check meanwhile."""
    offer = RetryOffer.objects.get(pk=offer_id)
    answer: dict[str, Any]
    try:
        report = dry_run(offer.integration_id, offer.flow, keys=keys)
    except Exception as error:  # the offer says the check failed; nothing else depends on it
        log.exception("retry offer %s: the check failed", offer_id)
        answer = {"status": RetryOffer.Status.FAILED, "error": f"{type(error).__name__}: {error}"}
    else:
        answer = {
            "status": RetryOffer.Status.FAILED if report.error else RetryOffer.Status.READY,
            "error": report.error, "checked": len(report.results),
            "would_send": [r.key for r in report.results if r.outcome == WOULD_SEND],
            "still_parked": [{"key": r.key, "outcome": r.outcome, "reason": r.reason}
                             for r in report.results if r.outcome != WOULD_SEND]}
    RetryOffer.objects.filter(pk=offer_id, started_at=started_at).update(**answer, finished_at=timezone.now())


def check_in_background(offer_id: int, started_at: datetime, keys: list[str]) -> None:
    def work() -> None:
        try:
            check(offer_id, started_at, keys)
        finally:
            connection.close()  # this thread's own connection

    threading.Thread(target=work, name=f"retry-offer-{offer_id}", daemon=True).start()


starter: Callable[[int, datetime, list[str]], None] = check_in_background  # tests run the check in place


def wait(offer: RetryOffer, seconds: float) -> RetryOffer:
    """The offer once its check finished, or as it is after `seconds` (a page says "still checking")."""
    deadline = time.monotonic() + seconds
    while True:
        offer.refresh_from_db()
        if offer.status != RetryOffer.Status.CHECKING or time.monotonic() >= deadline:
            return offer
        time.sleep(0.1)


def stalled(offer: RetryOffer) -> bool:
    """A check that will never finish: its process ended while it ran."""
    return offer.status == RetryOffer.Status.CHECKING and timezone.now() - offer.started_at > CHECK_LIFETIME


def waiting(offer: RetryOffer) -> list[Activity]:
    """The offered records still waiting: would now go through, and still parked or skipped (not sent since)."""
    if offer.status != RetryOffer.Status.READY or offer.retried_at or not offer.would_send:
        return []
    from koppel.sync import runner

    entity = runner.find(offer.flow).entity
    return list(candidates(offer.integration_id, entity).filter(key__in=offer.would_send)
                .select_related("integration"))


def take(offer: RetryOffer, by: str) -> int:
    """Retry the offered records that are still waiting, once (an offer taken is not taken again); returns how
    many are being sent again."""
    with transaction.atomic():
        locked = RetryOffer.objects.select_for_update().get(pk=offer.pk)
        chosen = waiting(locked)
        if not chosen:
            return 0
        started = record_actions.retry(chosen, by)
        RetryOffer.objects.filter(pk=locked.pk).update(retried_by=by, retried_at=timezone.now())
    return started
