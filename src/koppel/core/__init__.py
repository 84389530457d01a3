"""The data model (Django apps, no views): workspaces and members, connections, integrations and
their schedules, links, cursors, runs and activity. Read by sync, web and the CLI; never by
connectors or mapping."""

from __future__ import annotations

import os


def setup() -> None:
    """Configure Django for use outside manage.py (the CLI, workers, tests)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "koppel.web.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
