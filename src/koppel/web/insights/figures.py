"""The figures of one integration over the last days, from the runs and activity tables only (counts, keys
and timestamps; no business data is kept for this).

Time from shop to books is, per order sent in the period, the moment the activity says it was sent minus
the order's date and time as the shop gave them (read in the shop's time zone, Europe/Amsterdam by default:
MijnWebwinkel gives local times without a zone). Orders whose payload was purged by the retention or kept as
metadata only have no shop time and are not counted; the page says how many were.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from koppel.core.activity.models import Activity, Run
from koppel.core.integrations.models import Integration
from koppel.errors import Outcome

SHOP_TIME_ZONE = ZoneInfo("Europe/Amsterdam")
PARKED = (Outcome.NEEDS_ATTENTION.value, Outcome.BROKEN_CONNECTION.value)
REASONS_SHOWN = 15
_NUMBERS = re.compile(r"\d+")


@dataclass
class Bar:
    label: str
    count: int
    percent: int  # of the longest bar, for its width


@dataclass
class Insights:
    days: int
    sent_per_day: list[Bar] = field(default_factory=list)
    sent_total: int = 0
    parked: list[tuple[Bar, str]] = field(default_factory=list)  # (reason as grouped, one reason in full)
    parked_total: int = 0
    p50: timedelta | None = None
    p95: timedelta | None = None
    timed: int = 0  # orders the delay was measured on
    untimed: int = 0  # orders sent without a shop time in their payload
    last_runs: list[dict[str, Any]] = field(default_factory=list)


def insights(integration: Integration, days: int = 30, *, now: datetime | None = None) -> Insights:
    now = now or timezone.now()
    since = now - timedelta(days=days)
    found = Insights(days)
    _sent_per_day(found, integration, since, now)
    _parked(found, integration)
    _delays(found, integration, since)
    found.last_runs = _last_runs(integration)
    return found


def _bars(counts: list[tuple[str, int]]) -> list[Bar]:
    top = max((c for _label, c in counts), default=0) or 1
    return [Bar(label, c, round(100 * c / top)) for label, c in counts]


def _sent_per_day(found: Insights, integration: Integration, since: datetime, now: datetime) -> None:
    rows = (Activity.objects.filter(integration=integration, entity="order", outcome=Outcome.SENT.value,
                                    updated_at__gte=since)
            .annotate(day=TruncDate("updated_at")).values("day").annotate(n=Count("id")))
    per_day: dict[date, int] = {row["day"]: row["n"] for row in rows}
    today = timezone.localdate(now)
    days = [today - timedelta(days=back) for back in range(found.days - 1, -1, -1)]
    found.sent_per_day = _bars([(day.isoformat(), per_day.get(day, 0)) for day in days])
    found.sent_total = sum(per_day.values())


def _parked(found: Insights, integration: Integration) -> None:
    """Parked records now, grouped by their reason with the numbers in it (order numbers, amounts) left out,
    so 'VAT rate 9 has no VAT code' parks of a hundred orders are one line."""
    groups: Counter[str] = Counter()
    example: dict[str, str] = {}
    reasons = Activity.objects.filter(integration=integration, outcome__in=PARKED).values_list("reason", flat=True)
    for reason in reasons.iterator():
        key = _NUMBERS.sub("…", reason.splitlines()[0] if reason else "")[:200]
        groups[key] += 1
        example.setdefault(key, reason)
    found.parked_total = sum(groups.values())
    top = groups.most_common(REASONS_SHOWN)
    found.parked = list(zip(_bars(top), [example[key] for key, _n in top], strict=True))


def _delays(found: Insights, integration: Integration, since: datetime) -> None:
    delays: list[timedelta] = []
    sent = Activity.objects.filter(integration=integration, entity="order", outcome=Outcome.SENT.value,
                                   updated_at__gte=since).values_list("updated_at", "payload_in")
    for sent_at, payload in sent.iterator():
        placed = _placed_at(payload)
        if placed is None:
            found.untimed += 1
        else:
            delays.append(max(sent_at - placed, timedelta(0)))
    found.timed = len(delays)
    found.p50, found.p95 = percentile(delays, 50), percentile(delays, 95)


def _placed_at(payload: Any) -> datetime | None:
    if not isinstance(payload, dict) or not payload.get("date"):
        return None
    try:
        placed = datetime.fromisoformat(f"{payload['date']}T{payload.get('time') or '00:00:00'}")
    except (TypeError, ValueError):
        return None
    return placed if placed.tzinfo else placed.replace(tzinfo=SHOP_TIME_ZONE)


def percentile(values: list[timedelta], p: int) -> timedelta | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))  # ceil(p/100 · n)
    return ordered[rank - 1]


def _last_runs(integration: Integration) -> list[dict[str, Any]]:
    """Per flow: its last successful run's end and its last run of any outcome."""
    ok = dict(Run.objects.filter(integration=integration, status=Run.Status.SUCCEEDED)
              .values("flow").annotate(at=Max("finished_at")).values_list("flow", "at"))
    flows = sorted(set(Run.objects.filter(integration=integration).values_list("flow", flat=True))
                   | set((integration.flows or {}).keys()))
    result = []
    for flow in flows:
        last = Run.objects.filter(integration=integration, flow=flow).order_by("-started_at").first()
        result.append({"flow": flow, "succeeded_at": ok.get(flow), "last": last})
    return result
