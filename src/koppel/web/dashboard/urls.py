"""The merchant's dashboard: workspaces, their integrations and connections, members and invitations.
Every view takes its records through koppel.web.tenancy."""

from django.urls import URLPattern, URLResolver, path

from koppel.core.integrations.models import Connection
from koppel.web.dashboard import connections, home, members

app_name = "dashboard"
W = "w/<int:workspace_id>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", home.overview, name="home"),
    path(W, home.workspace, name="workspace"),
    path(W + "integrations/<int:integration_id>/", home.integration, name="integration"),
    path(W + "connections/new/accountview/", connections.create, {"system": Connection.System.ACCOUNTVIEW},
         name="new_accountview"),
    path(W + "connections/new/mijnwebwinkel/", connections.create, {"system": Connection.System.MIJNWEBWINKEL},
         name="new_mijnwebwinkel"),
    path(W + "connections/<int:connection_id>/", connections.detail, name="connection"),
    path(W + "connections/<int:connection_id>/edit/", connections.edit, name="edit_connection"),
    path(W + "connections/<int:connection_id>/connect/", connections.connect, name="connect"),
    path(W + "connections/<int:connection_id>/test/", connections.test, name="test_connection"),
    path("oauth/accountview/", connections.accountview_callback, name="accountview_callback"),
    path(W + "members/", members.members, name="members"),
    path(W + "members/invite/", members.invite, name="invite"),
    path(W + "members/<int:membership_id>/role/", members.change_role, name="change_role"),
    path(W + "members/<int:membership_id>/remove/", members.remove, name="remove_member"),
    path(W + "invitations/<int:invitation_id>/withdraw/", members.withdraw, name="withdraw_invitation"),
    path("invitation/<str:token>/", members.accept, name="accept"),
]
