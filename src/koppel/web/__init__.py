"""The Django project: accounts & workspaces, connections and integrations, activity, admin."""

from __future__ import annotations

import os


def setup() -> None:
    """Configure Django for use outside manage.py (the CLI, workers, tests)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "koppel.web.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
