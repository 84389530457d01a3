"""Deciding what to tell: an ongoing problem is told once, reminded after the workspace's time, told when
it resolves; channels get what they asked for; quiet hours hold e-mail until they end."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from koppel.alerts import raising
from koppel.core.alerts.models import Alert, Channel, Delivery, Kind, Notice
from tests.alerts.conftest import Shop

NOON = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 12:00 in Amsterdam


def broken(merchant: Shop, now: datetime, **facts: object) -> list[int]:
    return raising.raise_alert(Kind.BROKEN_CONNECTION, f"broken_connection:{merchant.books.pk}",
                               workspace_id=merchant.workspace.pk, connection_id=merchant.books.pk,
                               facts={"system": "accountview", "cause": "revoked", **facts}, now=now)


def test_an_ongoing_problem_is_told_once_then_reminded_then_resolved(merchant: Shop) -> None:
    assert len(broken(merchant, NOON)) == 1
    assert broken(merchant, NOON + timedelta(minutes=1), detail="again") == []  # raised again: facts only
    assert Alert.objects.get().facts["detail"] == "again"
    assert raising.remind_due(NOON + timedelta(hours=23)) == []
    assert len(raising.remind_due(NOON + timedelta(hours=24))) == 1
    assert raising.remind_due(NOON + timedelta(hours=25)) == []  # the next one a day after the reminder
    assert len(raising.resolve(f"broken_connection:{merchant.books.pk}", now=NOON + timedelta(hours=26))) == 1
    assert raising.resolve(f"broken_connection:{merchant.books.pk}", now=NOON + timedelta(hours=27)) == []
    events = list(Notice.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["opened", "reminder", "resolved"]
    assert Delivery.objects.filter(channel=merchant.channel).count() == 3
    # the problem coming back later is a new alert, told again
    assert len(broken(merchant, NOON + timedelta(hours=30))) == 1
    assert Alert.objects.count() == 2


def test_an_acknowledged_alert_is_not_reminded(merchant: Shop) -> None:
    broken(merchant, NOON)
    Alert.objects.update(acknowledged_at=NOON)
    assert raising.remind_due(NOON + timedelta(days=3)) == []


def test_channels_get_the_kinds_they_asked_for(merchant: Shop) -> None:
    only_parked = Channel.objects.create(workspace=merchant.workspace, via="webhook", target="http://127.0.0.1:9/",
                                         kinds=["parked"])
    Channel.objects.create(workspace=merchant.workspace, via="email", target="uit@bakkerij.nl", enabled=False)
    [notice] = broken(merchant, NOON)
    assert list(Delivery.objects.filter(notice_id=notice).values_list("channel_id", flat=True)) == [merchant.channel.pk]
    [parked] = raising.raise_alert(Kind.PARKED, "parked:1", workspace_id=merchant.workspace.pk, facts={},
                                   update=True, now=NOON)
    assert set(Delivery.objects.filter(notice_id=parked).values_list("channel_id", flat=True)) == {
        merchant.channel.pk, only_parked.pk}


def test_without_channels_a_notice_is_done_at_once(merchant: Shop) -> None:
    merchant.channel.delete()
    [notice] = broken(merchant, NOON)
    assert Notice.objects.get(pk=notice).done_at == NOON


def test_quiet_hours_hold_a_notice_until_they_end(merchant: Shop) -> None:
    merchant.policy.quiet_from, merchant.policy.quiet_until = time(22, 0), time(7, 30)
    merchant.policy.save()
    late = datetime(2026, 11, 30, 22, 15, tzinfo=UTC)  # 23:15 in Amsterdam
    [notice] = broken(merchant, late)
    assert Notice.objects.get(pk=notice).send_after == datetime(2026, 12, 1, 6, 30, tzinfo=UTC)  # 07:30 there
    assert raising.after_quiet_hours(merchant.policy, NOON) == NOON
    early = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 06:00 there, same night
    assert raising.after_quiet_hours(merchant.policy, early) == datetime(2026, 12, 1, 6, 30, tzinfo=UTC)


def test_two_deciders_at_once_open_one_alert(merchant: Shop) -> None:
    first = broken(merchant, NOON)
    second = broken(merchant, NOON)
    assert len(first) == 1 and second == []
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 1


def test_resolved_alerts_are_forgotten_after_ninety_days(merchant: Shop) -> None:
    broken(merchant, NOON)
    raising.resolve(f"broken_connection:{merchant.books.pk}", now=NOON + timedelta(hours=1))
    raising.forget_old(NOON + timedelta(days=90))
    assert Alert.objects.count() == 1
    raising.forget_old(NOON + timedelta(days=90, hours=2))
    assert Alert.objects.count() == 0 and Notice.objects.count() == 0 and Delivery.objects.count() == 0
