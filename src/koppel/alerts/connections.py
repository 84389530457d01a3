"""Broken connections: a revoked grant, a wrong key, a company gone, or a system unreachable for longer
than the workspace allows. The connection is marked broken, the integrations using it pause (the
scheduler starts no runs for a paused integration: no hammering, no parked records piling up) and one
alert says what to do. A cheap periodic probe, or at once when the connection was changed (reconnected),
finds out that it works again: the integrations resume on their own and the recovery is told.

The engine tells this module how each run ended (`after_run`, from the run workflow); the monitor
escalates long unreachability and probes broken connections (`escalate_unreachable`, `probe_due`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from dbos import DBOS
from django.db.models import Q
from django.utils import timezone

from koppel.alerts import messages, raising
from koppel.alerts.settings import base_url
from koppel.core.activity.models import Activity
from koppel.core.alerts.models import ConnectionHealth, Kind
from koppel.core.integrations.models import Connection, Integration
from koppel.errors import BrokenConnection, KoppelError, Outcome, RetryableError
from koppel.reasons import Reason, as_args, from_args, reason, reason_in

log = logging.getLogger(__name__)
PAUSED_BY_KOPPEL = "Paused by Koppel: "


def alert_key(connection_id: int) -> str:
    return f"{Kind.BROKEN_CONNECTION}:{connection_id}"


# ---- what a run says --------------------------------------------------------------------------


def after_run(integration_id: int, outcome: dict[str, Any]) -> None:
    """Told by the run workflow how a run ended; sends what that decides (call outside any step)."""
    from koppel.alerts.delivery import dispatch

    failure = outcome.get("failure") or {}
    broken = [r for r in outcome.get("records", []) if r.get("outcome") == Outcome.BROKEN_CONNECTION]
    said = next((from_args(str(r.get("reason", "")), r.get("reason_args")) for r in broken
                 if not str(r.get("reason", "")).startswith("not tried")), "")
    error = outcome.get("error") or ""  # a Reason kept as one, so the connection's page can translate it
    dispatch(judge_run(integration_id, error if isinstance(error, str) else str(error), failure, len(broken), said))


@DBOS.step(name="alerts.judge_run")
def judge_run(integration_id: int, error: str, failure: dict[str, str], broken_records: int,
              record_reason: str = "") -> list[int]:
    """A run that met a broken connection breaks it: the one the error names, else whichever a probe finds
    broken, else the one a broken record's reason names (a refused write, which no read can probe); a run
    that met an unreachable system notes since when; a run that completed clears that."""
    try:
        integration = Integration.objects.select_related("shop", "books").filter(pk=integration_id).first()
        if integration is None:
            return []
        now = timezone.now()
        by_system = {integration.shop.system: integration.shop, integration.books.system: integration.books}
        outcome, system = failure.get("outcome", ""), failure.get("system", "")
        if outcome == Outcome.BROKEN_CONNECTION and system in by_system:
            return mark_broken(by_system[system], error, now)
        if outcome == Outcome.BROKEN_CONNECTION or broken_records:
            return _judge_by_probe(list(by_system.values()), record_reason or error, now)
        if outcome == Outcome.RETRY and system in by_system:
            note_unreachable(by_system[system], error, now)
        elif not error:
            ConnectionHealth.objects.filter(connection__in=list(by_system.values())).update(
                failing_since=None, last_error="")
        return []
    finally:
        _release()


def _judge_by_probe(candidates: list[Connection], reason: str, now: datetime) -> list[int]:
    notices: list[int] = []
    found = False
    for connection in candidates:
        state, message = probe(connection)
        if state == "broken":
            found = True
            notices += mark_broken(connection, message, now)
    named = [c for c in candidates if messages.SYSTEMS.get(c.system, c.system) in reason]
    if not found and len(named) == 1:  # the probe's reads work: only a change of the connection can tell
        notices += mark_broken(named[0], reason, now, probe_again=False)
    return notices


def note_unreachable(connection: Connection, error: str, now: datetime) -> None:
    """The system did not answer (relay offline, timeouts, 5xx): remember since when; the monitor
    calls it broken once that lasts longer than the workspace's `offline_minutes`."""
    health, _ = ConnectionHealth.objects.get_or_create(connection=connection)
    ConnectionHealth.objects.filter(pk=health.pk, failing_since__isnull=True).update(failing_since=now)
    ConnectionHealth.objects.filter(pk=health.pk).update(last_error=error[:2000])


# ---- broken, and back -------------------------------------------------------------------------


def mark_broken(connection: Connection, error: str, now: datetime, *, since: datetime | None = None,
                probe_again: bool = True) -> list[int]:
    """Mark the connection broken, pause the integrations using it, and raise its one alert. Without
    `probe_again` (no probe can see the problem) it is tried again only once the connection is changed."""
    rules = raising.policy(connection.workspace_id)
    health, _ = ConnectionHealth.objects.get_or_create(connection=connection)
    cause = messages.cause_of(error)
    Connection.objects.filter(pk=connection.pk).update(  # not .save(): updated_at is the reconnect signal
        broken_reason=error[:2000], broken_reason_args=_args_of(error))
    using = Integration.objects.filter(Q(shop=connection) | Q(books=connection))
    pause = reason("Paused by Koppel: the {system} connection {connection} is broken: {error}",  # PAUSED_BY_KOPPEL
                   system=messages.SYSTEMS.get(connection.system, connection.system), connection=connection.name,
                   error=error)
    newly = list(using.filter(paused_reason="").values_list("pk", flat=True))
    using.filter(pk__in=newly).update(paused_reason=pause[:2000], paused_reason_args=_args_of(pause))
    health.broken_since = health.broken_since or since or now
    health.paused = sorted({*health.paused, *newly})
    health.next_probe_at = now + timedelta(minutes=max(1, rules.probe_minutes)) if probe_again else None
    health.probed_version = str(connection.updated_at)
    health.save()
    affected = Activity.objects.filter(integration__in=using, outcome=Outcome.BROKEN_CONNECTION).count()
    facts = {"system": connection.system, "connection": connection.name, "cause": cause, "detail": error[:500],
             "detail_args": as_args(error),  # the detail in the workspace's language, when made as a reason
             "since": health.broken_since.isoformat(), "affected": affected,
             "paused": sorted(using.filter(pk__in=health.paused).values_list("name", flat=True)),
             "link": f"{base_url()}/w/{connection.workspace_id}/connections/{connection.pk}/"}
    log.warning("connection %s is broken (%s): %s", connection, cause, error)
    return raising.raise_alert(Kind.BROKEN_CONNECTION, alert_key(connection.pk),
                               workspace_id=connection.workspace_id, connection_id=connection.pk,
                               since=health.broken_since, facts=facts, now=now)


def recover(connection: Connection, now: datetime) -> list[int]:
    """The connection works again: clear it, resume what it paused, tell the recovery."""
    health = ConnectionHealth.objects.get(connection=connection)
    Connection.objects.filter(pk=connection.pk).update(broken_reason="", broken_reason_args=None)
    still_broken = ConnectionHealth.objects.filter(broken_since__isnull=False).exclude(pk=health.pk)
    blocked = set(Integration.objects.filter(
        Q(shop__health__in=still_broken) | Q(books__health__in=still_broken)).values_list("pk", flat=True))
    resume = [pk for pk in health.paused if pk not in blocked]
    Integration.objects.filter(pk__in=resume, paused_reason__startswith=PAUSED_BY_KOPPEL).update(paused_reason="",
                                                                                             paused_reason_args=None)
    for other in still_broken:  # an integration also paused by another broken connection waits for that one
        handed = [pk for pk in health.paused if pk in blocked]
        if handed:
            other.paused = sorted({*other.paused, *handed})
            other.save(update_fields=["paused"])
    ConnectionHealth.objects.filter(pk=health.pk).update(broken_since=None, failing_since=None, last_error="",
                                                         paused=[], next_probe_at=None)
    log.warning("connection %s works again; resumed integrations %s", connection, resume)
    return raising.resolve(alert_key(connection.pk), facts={"resolved": now.isoformat()}, now=now)


def probe(connection: Connection) -> tuple[str, str]:
    """One cheap call that needs everything a run needs (the grant, the key, the company, the relay):
    ("ok", ""), ("broken", why) or ("unreachable", why)."""
    from koppel.sync.clients import books_client, shop_client

    try:
        if connection.system == Connection.System.ACCOUNTVIEW:
            with books_client(connection.pk, connection.settings, connection.credentials) as books:
                books.vat_codes()
        else:
            shop = shop_client(connection.settings, connection.credentials)
            try:
                shop.check_connection()
            finally:
                shop.close()
    except BrokenConnection as error:  # the error's reason as made (a Reason): shown translated where kept
        return "broken", reason_in(error)
    except RetryableError as error:
        return "unreachable", reason_in(error)
    except KoppelError as error:
        return "broken", reason_in(error)
    except (KeyError, ValueError) as error:  # credentials missing or unreadable
        return "broken", f"the connection's credentials are incomplete: {error}"
    finally:
        _release()
    return "ok", ""


def probe_due(now: datetime | None = None) -> list[int]:
    """Try every broken connection whose probe is due, or that changed since (reconnected): the ones that
    work again recover."""
    now = now or timezone.now()
    notices: list[int] = []
    for health in ConnectionHealth.objects.filter(broken_since__isnull=False).select_related("connection"):
        connection = health.connection
        changed = str(connection.updated_at) != health.probed_version or not connection.broken_reason
        if not changed and (health.next_probe_at is None or health.next_probe_at > now):
            continue
        state, message = probe(connection)
        if state == "ok":
            notices += recover(connection, now)
            continue
        minutes = raising.policy(connection.workspace_id).probe_minutes
        ConnectionHealth.objects.filter(pk=health.pk).update(
            next_probe_at=now + timedelta(minutes=max(1, minutes)), probed_version=str(connection.updated_at),
            last_error=message[:2000])
        if not connection.broken_reason:
            said = health.last_error or message
            Connection.objects.filter(pk=connection.pk).update(broken_reason=said, broken_reason_args=_args_of(said))
    return notices


def _args_of(text: str) -> dict[str, Any] | None:
    """The stored form of a reason kept as text: None for plain text, and for one cut to the column's 2000
    characters (that is no longer the text the reason makes)."""
    return as_args(text) if isinstance(text, Reason) and len(text) <= 2000 else None


def escalate_unreachable(now: datetime | None = None) -> list[int]:
    """A connection unreachable for longer than its workspace's `offline_minutes` counts as broken."""
    now = now or timezone.now()
    notices: list[int] = []
    for health in ConnectionHealth.objects.filter(failing_since__isnull=False, broken_since__isnull=True
                                                  ).select_related("connection"):
        minutes = raising.policy(health.connection.workspace_id).offline_minutes
        if health.failing_since and now - health.failing_since >= timedelta(minutes=minutes):
            notices += mark_broken(health.connection, health.last_error or "unreachable", now,
                                   since=health.failing_since)
    return notices


def _release() -> None:
    from django.db import close_old_connections, connection

    if not connection.in_atomic_block:
        close_old_connections()
