"""The real URLs plus two views that forget the scope, registered only in the test that proves the
tenancy crawler catches them: one fetches a connection by id alone, one counts every workspace's
connections."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection
from koppel.web.tenancy import workspace_view
from koppel.web.urls import urlpatterns as real


@workspace_view()
def unscoped_connection(request: HttpRequest, workspace: Workspace, connection_id: int) -> HttpResponse:
    connection = Connection.objects.filter(pk=connection_id).first()  # the mistake: not through the workspace
    if connection is None:
        return HttpResponse("no such connection", status=404)
    return HttpResponse(f"connection {connection.name}")


@workspace_view()
def unscoped_count(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    return HttpResponse(f"{Connection.objects.count()} connections")  # the mistake: every workspace's


urlpatterns = [
    *real,
    path("w/<int:workspace_id>/leaky/<int:connection_id>/", unscoped_connection),
    path("w/<int:workspace_id>/leaky-count/", unscoped_count),
]
