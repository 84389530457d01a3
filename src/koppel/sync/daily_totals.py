"""Running totals per integration and day (`DailyTotal`), for the insights: the revenue booked per currency,
API calls and rate-limit waits per system. Only sums are kept, never one record's business data (GDPR).

Every process adds to the same rows (workers on several machines): a total is only ever added to, in the
database (`value = value + n`), never read, summed here and written back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

REVENUE = "revenue"  # "revenue:<currency>": the totals of the orders sent, a credit order negative


def measure(name: str, part: str) -> str:
    """A measure's stored name, e.g. measure("revenue", "EUR") → "revenue:EUR"."""
    return f"{name}:{part}"


def add(integration_id: int, day: date, measures: Mapping[str, Decimal | float | int]) -> None:
    """Add each measure's value to the integration's total of that day (zeros are not written)."""
    from koppel.core.activity.models import DailyTotal

    with transaction.atomic():
        for name, value in measures.items():
            amount = Decimal(str(value)).quantize(Decimal("0.0001"))
            if not amount:
                continue
            where = {"integration_id": integration_id, "day": day, "measure": name}
            if DailyTotal.objects.filter(**where).update(value=F("value") + amount):
                continue
            try:
                with transaction.atomic():
                    DailyTotal.objects.create(**where, value=amount)
            except IntegrityError:  # another process made the row this instant: add to theirs
                DailyTotal.objects.filter(**where).update(value=F("value") + amount)
