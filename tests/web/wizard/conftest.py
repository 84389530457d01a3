"""Playwright records video with an ffmpeg of its own, a download we never make; it is given the one the
imageio-ffmpeg package ships (with VP8), where Playwright looks for its own: PLAYWRIGHT_BROWSERS_PATH, set
before the browser's driver starts (at collection, before any fixture). Chromium is Debian's, by its path,
so nothing else is looked up there."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import imageio_ffmpeg
import playwright


def _lend_ffmpeg() -> None:
    browsers = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    revision = next(b["revision"] for b in json.loads(browsers.read_text())["browsers"] if b["name"] == "ffmpeg")
    root = Path(tempfile.mkdtemp(prefix="koppel-playwright-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    target = root / f"ffmpeg-{revision}"
    target.mkdir()
    (target / "ffmpeg-linux").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    (target / "INSTALLATION_COMPLETE").touch()
    os.environ["PLAYWRIGHT_BROWSERS_PATH"] = str(root)


_lend_ffmpeg()
