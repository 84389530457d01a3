"""Runs: sync now, its live progress, and the run history (each view scoped to the user's workspaces)."""

from django.urls import URLPattern, URLResolver, path

from koppel.web.runs import views

app_name = "runs"
W = "w/<int:workspace_id>/"
I = W + "integrations/<int:integration_id>/"  # noqa: E741  (the integration's prefix, as records names its own)
F = I + "<str:flow>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path(I, views.integration_runs, name="integration"),
    path(F, views.history, name="history"),
    path(F + "sync/", views.sync, name="sync"),
    path(F + "progress/<str:workflow_id>/", views.progress, name="progress"),
    path(W + "runs/<int:run_id>/", views.run, name="run"),
]
