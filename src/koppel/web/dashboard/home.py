"""The overview a merchant lands on: their workspaces, each with its integrations and connections."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection, Integration
from koppel.web.tenancy import Role, get_scoped, workspace_view, workspaces_of
from koppel.web.wizard import texts


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    workspaces = workspaces_of(request.user).prefetch_related("integrations", "connections")
    return render(request, "dashboard/overview.html", {"workspaces": workspaces})


@workspace_view()
def workspace(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    return render(request, "dashboard/workspace.html", {
        "workspace": workspace,
        "integrations": workspace.integrations.select_related("shop", "books").order_by("name"),
        "connections": workspace.connections.order_by("system", "name"),
        "membership": request.membership,  # type: ignore[attr-defined]
        "can_change": request.membership.allows(Role.MEMBER),  # type: ignore[attr-defined]
    })


@workspace_view()
def integration(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    found = get_scoped(Integration.objects.filter(workspace=workspace).select_related("shop", "books"),
                       request.user, pk=integration_id)
    return render(request, "dashboard/integration.html", {
        "workspace": workspace, "integration": found, "flows": switched_on(found),
        "connections": [found.shop, found.books], "systems": Connection.System,
    })


def switched_on(integration: Integration) -> list[str]:
    """The names of the flows the integration runs, in the user's language (a flow switched off is not one)."""
    return [str(texts.flow_label(name)[0]) for name, settings in (integration.flows or {}).items()
            if isinstance(settings, dict) and settings.get("enabled")]
