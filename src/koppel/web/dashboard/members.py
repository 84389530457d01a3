"""Who may see a workspace, with which role; owners invite people and change or remove members."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from koppel.core.accounts.models import Workspace
from koppel.web.tenancy import workspace_view


@workspace_view()
def members(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    return render(request, "dashboard/members.html", {
        "workspace": workspace,
        "memberships": workspace.memberships.select_related("user").order_by("user__username"),
        "membership": request.membership,  # type: ignore[attr-defined]
    })
