"""A connection's page: what it reaches, whether it works, and the forms to connect or reconnect it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection
from koppel.web.tenancy import get_scoped, workspace_view


def _connection(request: HttpRequest, workspace: Workspace, connection_id: int, **role: object) -> Connection:
    return get_scoped(Connection.objects.filter(workspace=workspace), request.user, pk=connection_id, **role)


@workspace_view()
def detail(request: HttpRequest, workspace: Workspace, connection_id: int) -> HttpResponse:
    connection = _connection(request, workspace, connection_id)
    return render(request, "dashboard/connection.html", {"workspace": workspace, "connection": connection})
