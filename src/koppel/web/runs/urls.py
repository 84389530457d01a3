"""Runs: sync now, its live progress, and the run history (each view scoped to the user's workspaces)."""

from django.urls import URLPattern, URLResolver

app_name = "runs"
urlpatterns: list[URLPattern | URLResolver] = []
