"""The merchant's dashboard: workspaces, their integrations and connections, members and invitations.
Every view takes its records through koppel.web.tenancy."""

from django.urls import URLPattern, URLResolver, path

from koppel.web.dashboard import connections, home, members

app_name = "dashboard"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", home.overview, name="home"),
    path("w/<int:workspace_id>/", home.workspace, name="workspace"),
    path("w/<int:workspace_id>/integrations/<int:integration_id>/", home.integration, name="integration"),
    path("w/<int:workspace_id>/connections/<int:connection_id>/", connections.detail, name="connection"),
    path("w/<int:workspace_id>/members/", members.members, name="members"),
]
