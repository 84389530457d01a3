"""Endpoints for operators and their load balancers: /healthz, /readyz, /metrics."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
