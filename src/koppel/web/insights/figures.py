"""The figures of one integration over the last days, from the runs and activity tables and the daily totals
only (counts, keys, timestamps and sums per day; no business data is kept for this).

Revenue booked is the sum per day and currency of the totals (incl. VAT) of the orders sent, a credit order's
negative, as the runner added them when it linked each order (once: a retry or re-run adds nothing). API
calls and rate-limit waits per system are what the engine's processes counted and added now and then (see
`koppel.sync.api_usage`); the last half minute of a busy worker may not be in yet.

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
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import number_format

from koppel.core.activity.models import Activity, DailyTotal, Run
from koppel.core.integrations.models import Integration
from koppel.errors import Outcome
from koppel.reasons import worded
from koppel.reasons_shown import outline
from koppel.sync import api_usage
from koppel.sync.daily_totals import REVENUE

SHOP_TIME_ZONE = ZoneInfo("Europe/Amsterdam")
PARKED = (Outcome.NEEDS_ATTENTION.value, Outcome.BROKEN_CONNECTION.value)
REASONS_SHOWN = 15
_NUMBERS = re.compile(r"\d+")
SYSTEMS = {"mijnwebwinkel": "MijnWebwinkel", "accountview": "AccountView"}


@dataclass
class Bar:
    label: str
    count: int | Decimal
    percent: int  # of the longest bar, for its width

    @property
    def negative(self) -> bool:
        return self.count < 0


@dataclass
class Revenue:
    """The revenue booked in one currency: per day, and in the period."""

    currency: str
    per_day: list[Bar]
    total: Decimal


def waited(seconds: float) -> str:
    """'0 s', '0.4 s' ('0,4 s' in Dutch and German), '12 s', '3 min 05 s', '2 h 10 min' (the units read the
    same in English, Dutch and German)."""
    if not seconds:
        return "0 s"
    if seconds < 10:
        return f"{number_format(seconds, 1)} s"
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


class Waits:
    """Seconds waited on our rate limit and asked by the system (Retry-After), as the page writes them."""

    limiter_wait: float
    retry_after: float

    @property
    def limiter_waited(self) -> str:
        return waited(self.limiter_wait)

    @property
    def retry_after_waited(self) -> str:
        return waited(self.retry_after)


@dataclass
class UsageDay(Waits):
    bar: Bar  # the day's calls
    rate_limited: int
    limiter_wait: float  # seconds
    retry_after: float  # seconds


@dataclass
class SystemUsage(Waits):
    """One system's API calls and rate-limit waits: per day, and in the period."""

    system: str
    name: str
    days: list[UsageDay]
    calls: int = 0
    rate_limited: int = 0
    limiter_wait: float = 0.0
    retry_after: float = 0.0


@dataclass
class Insights:
    days: int
    sent_per_day: list[Bar] = field(default_factory=list)
    sent_total: int = 0
    # (reasons as grouped, one of them in full: its text and its translatable form, for the reason filter)
    parked: list[tuple[Bar, dict[str, Any]]] = field(default_factory=list)
    parked_total: int = 0
    p50: timedelta | None = None
    p95: timedelta | None = None
    timed: int = 0  # orders the delay was measured on
    untimed: int = 0  # orders sent without a shop time in their payload
    last_runs: list[dict[str, Any]] = field(default_factory=list)
    revenue: list[Revenue] = field(default_factory=list)
    usage: list[SystemUsage] = field(default_factory=list)


def insights(integration: Integration, days: int = 30, *, now: datetime | None = None) -> Insights:
    now = now or timezone.now()
    since = now - timedelta(days=days)
    found = Insights(days)
    _sent_per_day(found, integration, since, now)
    _parked(found, integration)
    _delays(found, integration, since)
    found.last_runs = _last_runs(integration)
    _daily_totals(found, integration, now)
    return found


def _bars(counts: list[tuple[str, Any]]) -> list[Bar]:
    top = max((abs(c) for _label, c in counts), default=0) or 1
    return [Bar(label, c, round(100 * abs(c) / top)) for label, c in counts]


def _period(found: Insights, now: datetime) -> list[date]:
    """The days of the period, oldest first, ending today."""
    today = timezone.localdate(now)
    return [today - timedelta(days=back) for back in range(found.days - 1, -1, -1)]


def _sent_per_day(found: Insights, integration: Integration, since: datetime, now: datetime) -> None:
    rows = (Activity.objects.filter(integration=integration, entity="order", outcome=Outcome.SENT.value,
                                    updated_at__gte=since)
            .annotate(day=TruncDate("updated_at")).values("day").annotate(n=Count("id")))
    per_day: dict[date, int] = {row["day"]: row["n"] for row in rows}
    found.sent_per_day = _bars([(day.isoformat(), per_day.get(day, 0)) for day in _period(found, now)])
    found.sent_total = sum(per_day.values())


def _daily_totals(found: Insights, integration: Integration, now: datetime) -> None:
    """Revenue booked per currency, and API calls and waits per system, from the daily totals of the period."""
    days = _period(found, now)
    totals: dict[str, dict[date, Decimal]] = {}
    for day, measure, value in DailyTotal.objects.filter(
            integration=integration, day__gte=days[0], day__lte=days[-1]).values_list("day", "measure", "value"):
        totals.setdefault(measure, {})[day] = value
    for measure in sorted(totals):
        name, _, currency = measure.partition(":")
        if name == REVENUE:
            per_day = totals[measure]
            found.revenue.append(Revenue(currency, _bars([(d.isoformat(), per_day.get(d, Decimal(0))) for d in days]),
                                         sum(per_day.values(), Decimal(0))))
    systems = {m.partition(":")[2] for m in totals if m.partition(":")[0] in api_usage.MEASURES}
    for system in sorted(systems, key=lambda s: (list(SYSTEMS).index(s) if s in SYSTEMS else len(SYSTEMS), s)):
        def of(name: str, day: date, system: str = system) -> Decimal:
            return totals.get(f"{name}:{system}", {}).get(day, Decimal(0))

        bars = _bars([(d.isoformat(), int(of(api_usage.CALLS, d))) for d in days])
        usage = SystemUsage(system, SYSTEMS.get(system, system), [
            UsageDay(bar, int(of(api_usage.RATE_LIMITED, d)), float(of(api_usage.LIMITER_WAIT, d)),
                     float(of(api_usage.RETRY_AFTER, d))) for bar, d in zip(bars, days, strict=True)])
        usage.calls = sum(int(day.bar.count) for day in usage.days)
        usage.rate_limited = sum(day.rate_limited for day in usage.days)
        usage.limiter_wait = sum(day.limiter_wait for day in usage.days)
        usage.retry_after = sum(day.retry_after for day in usage.days)
        found.usage.append(usage)


def _parked(found: Insights, integration: Integration) -> None:
    """Parked records now, grouped by the template of their reason (so the order numbers, amounts and codes
    in it don't split a group: 'VAT rate … has no VAT code' parks of a hundred orders are one line), headed
    by that template in the user's language. A reason stored without its form (or one that is only
    punctuation between other reasons) is grouped by its first line with the numbers left out."""
    groups: Counter[str] = Counter()
    label: dict[str, str] = {}
    example: dict[str, dict[str, Any]] = {}
    parked = Activity.objects.filter(integration=integration, outcome__in=PARKED)
    for text, args in parked.values_list("reason", "reason_args").iterator():
        template = args.get("template") if isinstance(args, dict) else None
        if isinstance(template, str) and worded(template):
            key = "template:" + template
            label.setdefault(key, outline(template))
        else:
            key = "text:" + _NUMBERS.sub("…", text.splitlines()[0] if text else "")[:200]
            label.setdefault(key, key.removeprefix("text:"))
        groups[key] += 1
        example.setdefault(key, {"reason": text, "reason_args": args})
    found.parked_total = sum(groups.values())
    top = groups.most_common(REASONS_SHOWN)
    found.parked = list(zip(_bars([(label[key], n) for key, n in top]), [example[key] for key, _n in top],
                            strict=True))


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
