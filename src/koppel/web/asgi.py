"""The web process: Django (the dashboard, login, the operators' admin) behind uvicorn, with static files."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from koppel.web import setup


def create_app() -> Starlette:
    setup()
    from django.conf import settings
    from django.core.asgi import get_asgi_application
    from django.core.management import call_command

    static_root = Path(settings.STATIC_ROOT)
    # Every start: collectstatic copies only what changed, and an upgrade brings new files.
    call_command("collectstatic", interactive=False, verbosity=0)
    return Starlette(routes=[
        Mount("/static", app=StaticFiles(directory=static_root), name="static"),
        Mount("/", app=get_asgi_application()),
    ])
