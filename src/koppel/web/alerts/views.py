"""The merchant's alert list: the problems of the user's workspaces, open ones first, each with what
failed, since when and what to do (in the page's language), the channels it went to, and an
acknowledge button (members and owners; it stops the reminders, the alert stays open until it resolves).
Alert channels that fail are shown above the list. Per workspace, its alert settings: the policy and the
channels (owners change them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from koppel.alerts.messages import Message
from koppel.alerts.messages import render as render_message
from koppel.core.accounts.models import Workspace
from koppel.core.alerts.models import Alert, AlertPolicy, Channel, Delivery
from koppel.web.alerts.forms import KIND_LABELS, ChannelForm, PolicyForm
from koppel.web.tenancy import Role, get_scoped, membership, scoped, workspace_view, workspaces_of

SHOWN = 200  # alerts on the page, newest first after the open ones


@dataclass
class Row:
    alert: Alert
    message: Message
    deliveries: list[Delivery]
    can_acknowledge: bool


def _row(request: HttpRequest, alert: Alert) -> Row:
    language = (get_language() or "en")[:2]
    event = "opened" if alert.is_open else "resolved"
    member = membership(request.user, alert.workspace) if alert.workspace else None
    return Row(alert=alert, message=render_message(alert.kind, event, alert.facts, language=language),
               deliveries=[d for notice in alert.notices.all() for d in notice.deliveries.all()],
               can_acknowledge=bool(member and member.allows(Role.MEMBER)) and alert.is_open
               and alert.acknowledged_at is None)


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("state") == "all"
    alerts = scoped(Alert, request.user).select_related("workspace", "integration", "acknowledged_by")
    if not show_all:
        alerts = alerts.filter(resolved_at__isnull=True)
    alerts = alerts.prefetch_related("notices__deliveries__channel").order_by(
        F("resolved_at").desc(nulls_first=True), "-opened_at")  # the open ones first
    rows = [_row(request, alert) for alert in alerts[:SHOWN]]
    failing = scoped(Channel, request.user).filter(failing_since__isnull=False).select_related("workspace")
    return render(request, "alerts/list.html", {"rows": rows, "show_all": show_all, "failing": failing,
                                                "workspaces": workspaces_of(request.user)})


@login_required
@require_POST
def acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert: Alert = get_scoped(Alert, request.user, role=Role.MEMBER, pk=alert_id)
    if alert.acknowledged_at is None:
        Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now(), acknowledged_by=request.user)
        alert.refresh_from_db()
    if getattr(request, "htmx", False):
        return render(request, "alerts/_row.html", {"row": _row(request, alert)})
    return redirect("alerts:list")


@workspace_view(Role.READ_ONLY, change_role=Role.OWNER)
def alert_settings(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """The workspace's alert policy and channels; owners change them."""
    policy = AlertPolicy.objects.filter(workspace=workspace).first() or AlertPolicy(workspace=workspace)
    policy_form = PolicyForm(request.POST if request.POST.get("form") == "policy" else None, instance=policy)
    channel_form = ChannelForm(request.POST if request.POST.get("form") == "channel" else None)
    if request.method == "POST":
        if policy_form.is_bound and policy_form.is_valid():
            policy_form.save()
            messages.success(request, _("The alert settings are saved."))
            return redirect("alerts:settings", workspace.pk)
        if channel_form.is_bound and channel_form.is_valid():
            channel_form.save(workspace.pk)
            messages.success(request, _("The channel is added."))
            return redirect("alerts:settings", workspace.pk)
    return render(request, "alerts/settings.html", {
        "workspace": workspace, "policy_form": policy_form, "channel_form": channel_form,
        "channels": Channel.objects.filter(workspace=workspace).order_by("pk"), "labels": KIND_LABELS,
        "is_owner": request.membership.allows(Role.OWNER),  # type: ignore[attr-defined]
    })


@workspace_view(Role.OWNER)
@require_POST
def remove_channel(request: HttpRequest, workspace: Workspace, channel_id: int) -> HttpResponse:
    channel = get_scoped(Channel.objects.filter(workspace=workspace), request.user, pk=channel_id, role=Role.OWNER)
    channel.delete()
    messages.success(request, _("The channel is removed."))
    return redirect("alerts:settings", workspace.pk)
