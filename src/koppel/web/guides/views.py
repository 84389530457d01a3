"""The setup guides' pages: Markdown files beside this module (`<system>.md`, or `<system>.<language>.md`
in the user's language when there is one) rendered with markdown-it-py, and their pictures and video."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from markdown_it import MarkdownIt

from koppel.web.wizard.texts import GUIDES

HERE = Path(__file__).resolve().parent
MEDIA = HERE / "media"
MEDIA_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\.(png|webm)")
CONTENT_TYPES = {"png": "image/png", "webm": "video/webm"}


@cache
def _markdown() -> MarkdownIt:
    # Our own files only, so the raw HTML they hold (the <video> element) is trusted.
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def source(system: str, language: str | None) -> Path:
    """The guide's file in `language` when it exists, else the English one."""
    if language:
        translated = HERE / f"{system}.{language.split('-')[0]}.md"
        if translated.exists():
            return translated
    return HERE / f"{system}.md"


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "wizard/guides.html", {"guides": GUIDES.items()})


@login_required
def guide(request: HttpRequest, system: str) -> HttpResponse:
    if system not in GUIDES:
        raise Http404
    html = _markdown().render(source(system, get_language()).read_text(encoding="utf-8"))
    return render(request, "wizard/guide.html", {"title": GUIDES[system], "html": mark_safe(html),
                                                 "guides": GUIDES.items()})


@login_required
def media(request: HttpRequest, name: str) -> FileResponse:
    match = MEDIA_NAME.fullmatch(name)
    path = MEDIA / name
    if not match or not path.is_file():
        raise Http404
    return FileResponse(path.open("rb"), content_type=CONTENT_TYPES[match.group(1)])
