"""Runs of an integration: sync now per flow (or a full resync), the run's live progress, and the run
history with each run's summary and records.

The web never runs a flow: sync now queues the flow's run for the workers (`koppel.sync.sync_now`) and the
page follows it by polling a fragment (HTMX, every second until the run finished), which reads the run from
the database. Reading needs any role in the workspace; starting a run needs a member or an owner.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from pydantic import ValidationError

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity, Run
from koppel.core.integrations.models import Integration, Schedule
from koppel.core.integrations.settings import flow_names, flow_settings_model
from koppel.errors import Outcome
from koppel.sync import sync_now, units
from koppel.sync.links import PARKED
from koppel.web.tenancy import Role, get_scoped, workspace_view
from koppel.web.wizard import texts

log = logging.getLogger(__name__)
RUNS_PER_PAGE = 25
RECORDS_PER_PAGE = 100
PARKED_SHOWN = 20      # parked records listed in a finished run's summary (the run's page lists them all)
RECENT_RUNS = 5        # runs per flow on the integration's runs page


# ---- helpers ---------------------------------------------------------------------------------------


def _integration(request: HttpRequest, workspace: Workspace, integration_id: int,
                 role: Role = Role.READ_ONLY) -> Integration:
    return get_scoped(Integration.objects.filter(workspace=workspace), request.user, role=role, pk=integration_id)


def _known_flow(flow: str) -> str:
    if flow not in flow_names():
        raise Http404
    return flow


def enabled_flows(integration: Integration) -> list[str]:
    """The flows switched on for the integration, in the settings' order (settings stored invalid are read
    as stored: their run says what is wrong)."""
    stored = integration.flows or {}
    try:
        settings = flow_settings_model().model_validate(stored).model_dump(mode="json")
    except ValidationError:
        settings = {name: value for name, value in stored.items() if isinstance(value, dict)}
    return [name for name in flow_names() if (settings.get(name) or {}).get("enabled")]


def duration(span: timedelta | None) -> str:
    """A run's duration as people say it: 4 s, 2 min 05 s, 1 h 07 min."""
    if span is None:
        return "—"
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return _("%(seconds)d s") % {"seconds": seconds}
    if seconds < 3600:
        return _("%(minutes)d min %(seconds)02d s") % {"minutes": seconds // 60, "seconds": seconds % 60}
    return _("%(hours)d h %(minutes)02d min") % {"hours": seconds // 3600, "minutes": seconds % 3600 // 60}


def _took(run: Run) -> str:
    """How long the run took, or has been going."""
    return duration((run.finished_at or timezone.now()) - run.started_at)


def outcome_counts(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(outcome, its label, number) for the outcomes a run had, in the vocabulary's order."""
    return [(o.value, str(texts.outcome(o.value)), int(counts.get(o.value, 0))) for o in Outcome
            if counts.get(o.value)]


def parked_of(counts: dict[str, int]) -> int:
    return sum(int(counts.get(outcome, 0)) for outcome in PARKED)


def status_label(status: str) -> str:
    labels = {Run.Status.RUNNING: _("running"), Run.Status.SUCCEEDED: _("succeeded"),
              Run.Status.PARTIAL: _("finished, some records parked"), Run.Status.FAILED: _("failed")}
    return str(labels.get(status, status))


def run_rows(integration: Integration, runs: list[Run]) -> list[dict[str, Any]]:
    """What a list of runs shows per run: when, how long, how it ended, its counts, who started it."""
    by = sync_now.started_by(integration.pk, [run.workflow_id for run in runs])
    rows = []
    for run in runs:
        counts = {k: v for k, v in (run.counts or {}).items() if k != "total"}
        who, how = by.get(run.workflow_id, ("", ""))
        # A running one shows no duration here (it would change by the second): its progress shows it live.
        took = duration(run.finished_at - run.started_at) if run.finished_at else ""
        rows.append({"run": run, "took": took, "status": status_label(run.status),
                     "counts": outcome_counts(counts), "sent": counts.get(Outcome.SENT.value, 0),
                     "skipped": counts.get(Outcome.SKIPPED.value, 0), "parked": parked_of(counts),
                     "by": who, "full": how.endswith(sync_now.FULL)})
    return rows


def _progress_context(workspace: Workspace, integration: Integration, flow: str,
                      progress: sync_now.RunProgress, notice: str = "") -> dict[str, Any]:
    """What the progress fragment shows: state, done of total, counts so far; finished, the summary."""
    context: dict[str, Any] = {
        "workspace": workspace, "integration": integration, "flow": flow, "label": texts.flow_label(flow)[0],
        "progress": progress, "counts": outcome_counts(progress.counts), "parked_total": parked_of(progress.counts),
        "follow_url": reverse("runs:progress", args=[workspace.pk, integration.pk, flow, progress.workflow_id]),
        "percent": round(100 * progress.done / progress.total) if progress.total else 0,
        "sent": progress.counts.get(Outcome.SENT.value, 0), "skipped": progress.counts.get(Outcome.SKIPPED.value, 0),
        "notice": notice,
    }
    if progress.state == "queued":
        context["workers_running"] = sync_now.workers_running()
    if progress.run is not None:
        context["took"] = _took(progress.run)
        # A workflow that ended without closing its Run (cancelled, or it kept crashing) failed.
        status = progress.run.status if progress.run.finished_at or not progress.finished else Run.Status.FAILED
        context["status"], context["status_label"] = status, status_label(status)
    if progress.finished and progress.run is not None:
        parked = Activity.objects.filter(run=progress.run, outcome__in=PARKED).order_by("key")
        context["parked"] = list(parked[:PARKED_SHOWN])
    return context


def _engine_unreadable(request: HttpRequest) -> None:
    messages.error(request, _("The queue of the workers can't be read right now; runs in the queue are not "
                              "shown. Try again in a moment."))


# ---- pages -----------------------------------------------------------------------------------------


@workspace_view(Role.READ_ONLY)
def integration_runs(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    """Per flow switched on: sync now and full resync, the run going (followed live), the latest runs."""
    integration = _integration(request, workspace, integration_id)
    flows = enabled_flows(integration)
    try:
        active = sync_now.active_runs(integration.pk, flows)
    except Exception:
        _engine_unreadable(request)
        active = {}
    schedules = {schedule.flow: schedule for schedule in Schedule.objects.filter(integration=integration, enabled=True)}
    cards = []
    for flow in flows:
        going = sync_now.progress(integration.pk, flow, active[flow]) if flow in active else None
        runs = list(Run.objects.filter(integration=integration, flow=flow).order_by("-started_at", "-pk")[:RECENT_RUNS])
        cards.append({"flow": flow, "label": texts.flow_label(flow)[0], "runs": run_rows(integration, runs),
                      "every": schedules[flow].interval_seconds if flow in schedules else None,
                      "going": render_to_string("runs/_progress.html", _progress_context(
                          workspace, integration, flow, going), request) if going else ""})
    others = sorted(set(Run.objects.filter(integration=integration).exclude(flow__in=flows)
                        .values_list("flow", flat=True).distinct()))
    return render(request, "runs/integration.html", {
        "workspace": workspace, "integration": integration, "cards": cards,
        "other_flows": [(flow, texts.flow_label(flow)[0]) for flow in others if flow in flow_names()],
        "can_start": integration.enabled and request.membership.allows(Role.MEMBER)})  # type: ignore[attr-defined]


@workspace_view(Role.READ_ONLY)
def history(request: HttpRequest, workspace: Workspace, integration_id: int, flow: str) -> HttpResponse:
    """Every run of one flow, newest first, a page at a time."""
    integration = _integration(request, workspace, integration_id)
    _known_flow(flow)
    runs = Run.objects.filter(integration=integration, flow=flow).order_by("-started_at", "-pk")
    status = request.GET.get("status", "")
    if status in Run.Status.values:
        runs = runs.filter(status=status)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "runs/history.html", {
        "workspace": workspace, "integration": integration, "flow": flow, "label": texts.flow_label(flow)[0],
        "page": page, "rows": run_rows(integration, list(page.object_list)), "status": status,
        "statuses": [("", _("all"))] + [(value, status_label(value)) for value in Run.Status.values]})


@workspace_view(Role.MEMBER)
@require_POST
def sync(request: HttpRequest, workspace: Workspace, integration_id: int, flow: str) -> HttpResponse:
    """Start a run of the flow now (`full`: everything again, not only what changed since the last run), or
    follow the one queued or going. HTMX gets the progress fragment, a plain form the progress page."""
    integration = _integration(request, workspace, integration_id, Role.MEMBER)
    _known_flow(flow)
    if not integration.enabled:  # its setup is not finished: nothing is sent before it is switched on
        messages.error(request, _("This integration is not switched on yet: finish its setup first."))
        return redirect("runs:integration", workspace.pk, integration.pk)
    if flow not in enabled_flows(integration):
        messages.error(request, _("This flow is switched off for this integration: switch it on in the flows' "
                                  "settings first."))
        return redirect("runs:integration", workspace.pk, integration.pk)
    try:
        started = sync_now.start(flow, integration.pk, full=request.POST.get("full") == "1",
                                 by=request.user.get_username())
    except Exception:
        log.exception("sync now of %s for integration %s could not be queued", flow, integration.pk)
        messages.error(request, _("The workers' queue can't be reached right now: nothing was started. "
                                  "Try again in a moment."))
        if request.htmx:  # type: ignore[attr-defined]
            return HttpResponseClientRedirect(reverse("runs:integration", args=[workspace.pk, integration.pk]))
        return redirect("runs:integration", workspace.pk, integration.pk)
    notice = "" if started.new else _("A run of this flow was queued or going already: you follow that one.")
    progress = sync_now.progress(integration.pk, flow, started.workflow_id)
    if progress is None:  # finished and gone between the two reads: the history has it
        return redirect("runs:history", workspace.pk, integration.pk, flow)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "runs/_progress.html",
                      _progress_context(workspace, integration, flow, progress, notice))
    if notice:
        messages.info(request, notice)
    return redirect("runs:progress", workspace.pk, integration.pk, flow, started.workflow_id)


@workspace_view(Role.READ_ONLY)
def progress(request: HttpRequest, workspace: Workspace, integration_id: int, flow: str,
             workflow_id: str) -> HttpResponse:
    """One run followed: HTMX polls the fragment every second until the run finished; a page otherwise."""
    integration = _integration(request, workspace, integration_id)
    _known_flow(flow)
    found = sync_now.progress(integration.pk, flow, workflow_id)
    if found is None:
        raise Http404
    context = _progress_context(workspace, integration, flow, found)
    if not request.htmx:  # type: ignore[attr-defined]
        return render(request, "runs/progress.html", context)
    on_runs_page = urlsplit(request.htmx.current_url or "").path == reverse(  # type: ignore[attr-defined]
        "runs:integration", args=[workspace.pk, integration.pk])
    if found.finished and on_runs_page:  # the page's latest runs are brought up to date with it
        context["latest"] = run_rows(integration, list(Run.objects.filter(integration=integration, flow=flow)
                                                       .order_by("-started_at", "-pk")[:RECENT_RUNS]))
    return render(request, "runs/_progress.html", context)


def _records_of(run: Run, outcome: str) -> QuerySet[Activity]:
    records = Activity.objects.filter(run=run)
    if outcome == "parked":
        return records.filter(outcome__in=PARKED)
    if outcome in {o.value for o in Outcome}:
        return records.filter(outcome=outcome)
    return records


@workspace_view(Role.READ_ONLY)
def run(request: HttpRequest, workspace: Workspace, run_id: int) -> HttpResponse:
    """One run: its summary, and the records whose latest outcome it wrote (parked ones first to filter)."""
    found = get_scoped(Run.objects.filter(integration__workspace=workspace).select_related("integration"),
                       request.user, pk=run_id)
    outcome = request.GET.get("outcome", "")
    records = _records_of(found, outcome).order_by("key", "pk")
    page = Paginator(records, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    shown = [{"activity": a, "outcome": texts.outcome(a.outcome)} for a in page.object_list]
    (row,) = run_rows(found.integration, [found])
    choices = [("", _("all")), ("parked", _("parked (any reason)"))] + [
        (o.value, str(texts.outcome(o.value))) for o in Outcome]
    going = found.finished_at is None and found.workflow_id.startswith(
        units.run_id_prefix(found.flow, found.integration_id))
    follow_url = reverse("runs:progress", args=[workspace.pk, found.integration_id, found.flow,
                                                found.workflow_id]) if going and found.flow in flow_names() else ""
    return render(request, "runs/run.html", {
        "workspace": workspace, "integration": found.integration, "run": found, "row": row,
        "label": texts.flow_label(found.flow)[0], "page": page, "records": shown, "outcome": outcome,
        "choices": choices, "follow_url": follow_url,
        "total": (found.counts or {}).get("total") if found.finished_at is None else None})
