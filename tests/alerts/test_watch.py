"""The monitor's checks on a controlled clock: parked records told in one grouped message per interval,
silence of runs and of orders (fixed and learned), stuck runs, stopped workers, a growing queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koppel.alerts import messages, watch
from koppel.core.activity.models import Activity, Executor, Run
from koppel.core.alerts.models import Alert, Notice, Watermark
from koppel.core.integrations.models import Schedule
from tests.alerts.conftest import Shop

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def park(merchant: Shop, key: str, reason: str, at: datetime, outcome: str = "needs_attention") -> None:
    Activity.objects.update_or_create(
        integration=merchant.integration, entity="order", key=key,
        defaults={"outcome": outcome, "reason": reason, "created_at": at, "updated_at": at})


def run(merchant: Shop, started: datetime, minutes: float | None, status: str = "succeeded") -> Run:
    return Run.objects.create(integration=merchant.integration, flow="orders", status=status, started_at=started,
                              finished_at=started + timedelta(minutes=minutes) if minutes is not None else None)


def test_fifty_parked_orders_are_one_message_grouped_by_reason(merchant: Shop) -> None:
    merchant.integration.created_at = T0 - timedelta(days=1)
    merchant.integration.save()
    for n in range(50):
        park(merchant, str(1000 + n), "VAT code for 9 % not set" if n < 42 else "article ONBEKEND-9 unknown",
             T0 + timedelta(seconds=n))
    park(merchant, "2000", "timed out", T0, outcome="retry")  # goes again by itself: not told
    [notice] = watch.parked(T0 + timedelta(minutes=1))
    facts = Notice.objects.get(pk=notice).facts
    assert facts["count"] == 50
    assert facts["groups"] == [["VAT code for 9 % not set", 42], ["article ONBEKEND-9 unknown", 8]]
    message = messages.render("parked", "update", facts, language="en")
    assert message.subject == "50 orders parked in bakkerij-shop"
    assert "- 42 × VAT code for 9 % not set" in message.text
    # nothing new: nothing told; new ones within the interval wait for it, then come as one
    assert watch.parked(T0 + timedelta(minutes=2)) == []
    park(merchant, "3000", "VAT code for 9 % not set", T0 + timedelta(minutes=3))
    park(merchant, "3001", "VAT code for 9 % not set", T0 + timedelta(minutes=4))
    assert watch.parked(T0 + timedelta(minutes=10)) == []
    [later] = watch.parked(T0 + timedelta(minutes=16))
    assert Notice.objects.get(pk=later).facts["count"] == 2
    assert Alert.objects.filter(kind="parked").count() == 1
    # every parked record handled: the alert resolves
    Activity.objects.filter(outcome="needs_attention").update(outcome="sent")
    [resolved] = watch.parked(T0 + timedelta(minutes=40))
    assert Notice.objects.get(pk=resolved).event == "resolved"


def test_no_successful_run_for_longer_than_expected(merchant: Shop) -> None:
    merchant.integration.created_at = T0 - timedelta(days=1)
    merchant.integration.save()
    Schedule.objects.create(integration=merchant.integration, flow="orders", interval_seconds=60)
    run(merchant, T0, 1)
    run(merchant, T0 + timedelta(minutes=5), 1, status="failed")  # a failed run is no sign of life
    assert watch.silent_flows(T0 + timedelta(minutes=16)) == []  # 15 min: three intervals, 15 at least
    [notice] = watch.silent_flows(T0 + timedelta(minutes=17))
    alert = Alert.objects.get(kind="silent_flow")
    assert alert.opened_at == T0 + timedelta(minutes=1)
    assert Notice.objects.get(pk=notice).facts["expected"] == 15
    assert watch.silent_flows(T0 + timedelta(minutes=30)) == []  # told once
    run(merchant, T0 + timedelta(minutes=31), 1)
    [recovered] = watch.silent_flows(T0 + timedelta(minutes=33))
    assert Notice.objects.get(pk=recovered).event == "resolved"


def test_a_fixed_silence_and_a_paused_integration(merchant: Shop) -> None:
    merchant.policy.run_silence_minutes = 120
    merchant.policy.save()
    merchant.integration.created_at = T0
    merchant.integration.save()
    Schedule.objects.create(integration=merchant.integration, flow="orders", interval_seconds=60)
    assert watch.silent_flows(T0 + timedelta(minutes=119)) == []
    merchant.integration.paused_reason = "Paused by Koppel: broken"
    merchant.integration.save()
    assert watch.silent_flows(T0 + timedelta(hours=5)) == []  # its broken connection is the alert


def test_no_orders_for_longer_than_the_shop_usually_goes(merchant: Shop) -> None:
    Schedule.objects.create(integration=merchant.integration, flow="orders", interval_seconds=60)
    merchant.integration.created_at = T0 - timedelta(days=20)
    merchant.integration.save()
    # too little history: nothing to learn from, no alert
    park(merchant, "1", "x", T0, outcome="sent")
    assert watch.order_silence_hours(merchant.integration, T0 + timedelta(days=2)) is None
    assert watch.silent_orders(T0 + timedelta(days=2)) == []
    # an order every two hours, one gap of four: unusual is 4 × 1.5 = 6 hours without one
    moments = [T0 + timedelta(hours=2 * n) for n in range(12)] + [T0 + timedelta(hours=26)]
    for n, moment in enumerate(moments):
        park(merchant, f"o{n}", "", moment, outcome="sent")
    last = moments[-1]
    assert watch.order_silence_hours(merchant.integration, last) == 6
    assert watch.silent_orders(last + timedelta(hours=6)) == []
    [notice] = watch.silent_orders(last + timedelta(hours=6, minutes=1))
    assert Notice.objects.get(pk=notice).facts["hours"] == 6
    park(merchant, "new", "", last + timedelta(hours=7), outcome="sent")
    [back] = watch.silent_orders(last + timedelta(hours=7, minutes=1))
    assert Notice.objects.get(pk=back).event == "resolved"
    # a fixed threshold wins over what was learned
    merchant.policy.orders_silence_hours = 48
    merchant.policy.save()
    assert watch.order_silence_hours(merchant.integration, last) == 48


def test_a_run_open_far_longer_than_usual_is_stuck(merchant: Shop) -> None:
    for n in range(5):
        run(merchant, T0 + timedelta(hours=n), 10)  # usually 10 minutes
    going = run(merchant, T0 + timedelta(hours=6), None, status="running")
    assert watch.stuck_runs(going.started_at + timedelta(minutes=50)) == []  # 5 × 10 min
    [notice] = watch.stuck_runs(going.started_at + timedelta(minutes=51))
    assert Notice.objects.get(pk=notice).facts["usual"] == 10
    Run.objects.filter(pk=going.pk).update(status="succeeded", finished_at=going.started_at + timedelta(hours=1))
    [done] = watch.stuck_runs(going.started_at + timedelta(hours=2))
    assert Notice.objects.get(pk=done).event == "resolved"


def test_a_worker_whose_heartbeat_stopped(merchant: Shop) -> None:
    for executor_id in ("host-worker", "host-worker-sync-orders-4242"):
        Executor.objects.create(executor_id=executor_id, application_version="v", started_at=T0, last_seen_at=T0)
    [notice] = watch.dead_workers(T0 + timedelta(minutes=3))
    assert Notice.objects.get(pk=notice).facts["executor"] == "host-worker"  # a finished `koppel sync` is not
    assert Alert.objects.get(kind="dead_worker").workspace is None  # the operators'
    Executor.objects.filter(executor_id="host-worker").update(last_seen_at=T0 + timedelta(minutes=4))
    [back] = watch.dead_workers(T0 + timedelta(minutes=4, seconds=30))
    assert Notice.objects.get(pk=back).event == "resolved"


def test_a_queue_that_keeps_growing(merchant: Shop) -> None:
    assert watch.growing_queue(T0, depth=(900, T0 - timedelta(minutes=2))) == []  # deep, but moving
    assert watch.growing_queue(T0, depth=(20, T0 - timedelta(hours=2))) == []     # old, but short
    assert len(watch.growing_queue(T0, depth=(900, T0 - timedelta(minutes=11)))) == 1
    assert len(watch.growing_queue(T0 + timedelta(minutes=5), depth=(0, None))) == 1  # resolved


def test_two_monitors_tell_a_batch_of_parked_records_once(merchant: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    park(merchant, "1", "VAT code for 9 % not set", T0)
    mark = Watermark.objects.create(integration=merchant.integration, name="parked", value=T0 - timedelta(hours=1))
    read_here = Watermark.objects.get(pk=mark.pk)
    Watermark.objects.filter(pk=mark.pk).update(value=T0 + timedelta(seconds=30))  # the other monitor told it
    monkeypatch.setattr(Watermark.objects, "get_or_create", lambda **_: (read_here, False))
    assert watch.parked(T0 + timedelta(minutes=1)) == []
    assert Notice.objects.count() == 0
