"""Insights per workspace and per integration."""

from django.urls import URLPattern, URLResolver, path

from koppel.web.insights import views

app_name = "insights"
urlpatterns: list[URLPattern | URLResolver] = [
    path("w/<int:workspace_id>/", views.workspace, name="workspace"),
    path("w/<int:workspace_id>/integrations/<int:integration_id>/", views.integration, name="integration"),
]
