"""The insights page of one integration (read-only members see it too)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Integration
from koppel.web.insights.figures import Insights, insights
from koppel.web.tenancy import get_scoped, scoped, workspace_view

PERIODS = (7, 30, 90)


def duration(value: timedelta | None) -> str:
    """'3 h 05 min', '4 min 10 s', '—' (the units read the same in English, Dutch and German)."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _days(request: HttpRequest) -> int:
    return int(request.GET["days"]) if request.GET.get("days") in {str(p) for p in PERIODS} else 30


@workspace_view()
def workspace(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """Every integration of the workspace in one table: its figures side by side."""
    days = _days(request)
    rows = []
    for found in scoped(Integration.objects.filter(workspace=workspace), request.user).order_by("name"):
        figures = insights(found, days)
        rows.append({"integration": found, "insights": figures, "p50": duration(figures.p50),
                     "p95": duration(figures.p95)})
    return render(request, "insights/workspace.html", {
        "workspace": workspace, "rows": rows, "days": days, "periods": PERIODS,
        "totals": workspace_totals([row["insights"] for row in rows])})


def workspace_totals(figures: list[Insights]) -> dict[str, Any]:
    """The workspace's sums over its integrations: orders sent, revenue per currency, calls (429s) per system."""
    revenue: dict[str, Decimal] = {}
    calls: dict[str, list[int]] = {}
    for found in figures:
        for booked in found.revenue:
            revenue[booked.currency] = revenue.get(booked.currency, Decimal(0)) + booked.total
        for usage in found.usage:
            counted = calls.setdefault(usage.name, [0, 0])
            counted[0] += usage.calls
            counted[1] += usage.rate_limited
    return {"sent": sum(found.sent_total for found in figures), "parked": sum(f.parked_total for f in figures),
            "revenue": sorted(revenue.items()), "calls": sorted(calls.items())}


@workspace_view()
def integration(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    found: Integration = get_scoped(Integration.objects.filter(workspace=workspace), request.user, pk=integration_id)
    figures = insights(found, _days(request))
    return render(request, "insights/integration.html", {
        "workspace": workspace, "integration": found, "insights": figures, "periods": PERIODS,
        "p50": duration(figures.p50), "p95": duration(figures.p95),
    })
