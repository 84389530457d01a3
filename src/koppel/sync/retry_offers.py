"""Records a settings change may have freed. A fixed setting does not send what it held back: parked orders
stay parked, and an order skipped for its status stays skipped until someone runs `--full`. So when a flow's
settings are saved, its parked records and those it skipped because of a setting (a status not sent, a test
order, an article outside the selection; not those in the target already, nor those a person skipped) are
tried against the saved settings by a dry run (`sync.dry_run`: reads only, nothing written), the newest
`KOPPEL_RETRY_OFFER_RECORDS` of them. Those that would now go through are offered for one bulk retry
(`record_actions.retry`); the rest are listed with the reason they would still park, leaving out records skipped
for a reason no setting could free (the stock flow's cycle summary, a shop-only article).

A record the old settings left out of the source's listing altogether (an order in a status not sent: the
runs' cursor moved past it, and it has no activity) is found in the source by the dry run (`before`: the
settings before the change; a recipe that can tell, `dry_run.WiderSelection`), the newest
`KOPPEL_RETRY_OFFER_RECORDS` of them. Each gets an activity saying the earlier settings left it out, so it is
a record like the others: listed, offered, retried once, and a candidate of later changes.

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
from koppel.reasons import as_args, reason
from koppel.settings import get_settings
from koppel.sync import record_actions
from koppel.sync.dry_run import WOULD_SEND, DryResult, dry_run
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


def settings_changed(integration: Integration, flow: str, by: str, *, before: dict[str, Any] | None = None,
                     most: int | None = None, now: bool = False) -> RetryOffer | None:
    """The flow's settings were saved: start checking its candidates against them (the newest `most`, by default
    `KOPPEL_RETRY_OFFER_RECORDS`), on a thread of its own, or here with `now`; with `before` (the flow's settings
    before the change) also the records they left out of the source. None, and an earlier offer gone, when it
    has no candidates and no `before` (a check that finds nothing removes its offer too)."""
    from koppel.sync import runner

    try:
        entity = runner.find(flow).entity
    except LookupError:
        return None
    found = candidates(integration.pk, entity)
    total = found.count()
    if not total and before is None:
        RetryOffer.objects.filter(integration=integration, flow=flow).delete()  # moot after this change
        return None
    most = most or get_settings().retry_offer_records
    keys = list(found.values_list("key", flat=True)[:most])
    started = timezone.now()
    offer, _ = RetryOffer.objects.update_or_create(integration=integration, flow=flow, defaults={
        "status": RetryOffer.Status.CHECKING, "by": by, "started_at": started, "finished_at": None,
        "candidates": total, "checked": 0, "would_send": [], "still_parked": [], "error": "",
        "retried_by": "", "retried_at": None})
    transaction.on_commit(lambda: (check if now else starter)(offer.pk, started, keys, before, most))
    return offer


def check(offer_id: int, started_at: datetime, keys: list[str], before: dict[str, Any] | None = None,
          most: int = 0) -> None:
    """Try these records against the flow's saved settings, and with `before` the newest `most` the earlier
    settings left out of the source, and keep the answer in the offer, unless a later change started a newer
    check meanwhile. A check that found nothing to try, or nothing a setting could free, removes the offer."""
    offer = RetryOffer.objects.get(pk=offer_id)
    answer: dict[str, Any]
    try:
        report = dry_run(offer.integration_id, offer.flow, keys=keys, before=before, limit=most)
    except Exception as error:  # the offer says the check failed; nothing else depends on it
        log.exception("retry offer %s: the check failed", offer_id)
        answer = {"status": RetryOffer.Status.FAILED, "error": f"{type(error).__name__}: {error}"}
    else:
        if not report.results and not report.error:
            RetryOffer.objects.filter(pk=offer_id, started_at=started_at).delete()
            return
        left_out = _left_out(offer, started_at, report.newly_selected)
        tried = [r for r in report.results if r.key in keys or r.key in left_out]
        answer = {
            "status": RetryOffer.Status.FAILED if report.error else RetryOffer.Status.READY,
            "error": report.error, "checked": len(tried), "candidates": offer.candidates + len(left_out),
            "would_send": [r.key for r in tried if r.outcome == WOULD_SEND],
            "still_parked": [{"key": r.key, "outcome": r.outcome, "reason": r.reason}
                             for r in tried if r.outcome != WOULD_SEND and _a_setting_could_free(offer.flow, r)]}
        if not report.error and not answer["would_send"] and not answer["still_parked"]:  # nothing to say
            RetryOffer.objects.filter(pk=offer_id, started_at=started_at).delete()
            return
    RetryOffer.objects.filter(pk=offer_id, started_at=started_at).update(**answer, finished_at=timezone.now())


def _left_out(offer: RetryOffer, started_at: datetime, keys: list[str]) -> set[str]:
    """Of the records found in the source, those without an activity: each gets one saying the earlier settings
    left it out (a record with an activity that was no candidate, e.g. skipped by a person, is not offered)."""
    from koppel.sync import runner

    entity = runner.find(offer.flow).entity
    known = set(Activity.objects.filter(integration_id=offer.integration_id, entity=entity, key__in=keys)
                .values_list("key", flat=True))
    said = reason("left out by the settings before the change of {when}: not sent yet",
                  when=timezone.localtime(started_at).strftime("%Y-%m-%d %H:%M"))
    now = timezone.now()
    Activity.objects.bulk_create([
        Activity(integration_id=offer.integration_id, entity=entity, key=key, outcome=Outcome.SKIPPED.value,
                 reason=said, reason_args=as_args(said), created_at=now, updated_at=now)
        for key in keys if key not in known], ignore_conflicts=True)  # a run may have written one meanwhile
    return {key for key in keys if key not in known}


def _a_setting_could_free(flow: str, result: DryResult) -> bool:
    """A record the check would still park (data may free it), or skip for a reason a setting names; not one
    skipped for a reason no setting changes (the stock flow's cycle summary, a shop-only article)."""
    if result.outcome != Outcome.SKIPPED.value:
        return True
    return bool(record_actions.settings_to_fix(flow, result.reason, as_args(result.reason)))


def check_in_background(offer_id: int, started_at: datetime, keys: list[str], before: dict[str, Any] | None = None,
                        most: int = 0) -> None:
    def work() -> None:
        try:
            check(offer_id, started_at, keys, before, most)
        finally:
            connection.close()  # this thread's own connection

    threading.Thread(target=work, name=f"retry-offer-{offer_id}", daemon=True).start()


# tests run the check in place
starter: Callable[[int, datetime, list[str], dict[str, Any] | None, int], None] = check_in_background


def wait(offer: RetryOffer, seconds: float) -> RetryOffer | None:
    """The offer once its check finished, or as it is after `seconds` (a page says "still checking"); None when
    the check found nothing to try (and removed it)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            offer.refresh_from_db()
        except RetryOffer.DoesNotExist:
            return None
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
