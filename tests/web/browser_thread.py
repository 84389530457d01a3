"""Chromium driven by Playwright's sync API in a thread of its own, for browser tests that also use the
ORM: Playwright keeps an event loop running in the thread that drives it, and Django refuses ORM calls
where an event loop runs. Each step is a function of the page, run in the browser's thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.web.conftest import CHROMIUM

T = TypeVar("T")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


class BrowserThread:
    def __init__(self, step_timeout: float = 120) -> None:
        if not Path(CHROMIUM).exists():
            pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
        self.step_timeout = step_timeout
        self._steps: queue.Queue[Callable[[Any], Any] | None] = queue.Queue()
        self._answers: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue()
        self._thread = threading.Thread(target=self._drive, name="chromium", daemon=True)
        self._thread.start()
        self(lambda page: None)  # started, or its error raised here

    def __call__(self, step: Callable[[Any], T]) -> T:
        self._steps.put(step)
        result, error = self._answers.get(timeout=self.step_timeout)
        if error is not None:
            raise error
        return result  # type: ignore[no-any-return]

    def close(self) -> None:
        self._steps.put(None)
        self._thread.join(timeout=30)

    def _drive(self) -> None:
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_context().new_page()
                while (step := self._steps.get()) is not None:
                    try:
                        self._answers.put((step(page), None))
                    except BaseException as exc:  # handed to the test's thread, which raises it
                        self._answers.put((None, exc))
                browser.close()
        except BaseException as exc:
            self._answers.put((None, exc))
