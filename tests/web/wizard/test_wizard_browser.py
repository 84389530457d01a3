"""The whole setup wizard in a real browser, as a merchant goes through it: from an empty database (`koppel
run` on 127.0.0.1, one user) and both sandboxes, through AccountView's consent page, to a first run that
sends orders. On the way: bad input is refused, the dry run writes nothing. Each step's screenshot goes into
the setup guides (src/koppel/web/guides/media/), the key steps (shop, books) in Dutch and German too, and a
short video of the whole wizard beside them, so the guides show the real pages."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from playwright.sync_api import expect

from koppel.connectors.sandboxes import Sandboxes, start_sandboxes
from koppel.demo import add_cost_articles
from tests.cli_runner import Server, make_koppel

GUIDE_MEDIA = Path(__file__).resolve().parents[3] / "src" / "koppel" / "web" / "guides" / "media"
SIZE = {"width": 800, "height": 600}
VIDEO_SIZE = {"width": 640, "height": 480}  # small: the guide's video, kept in the repository
USER, PASSWORD = "merchant", "correct horse battery"


@pytest.fixture
def sandboxes() -> Iterator[Sandboxes]:
    boxes = start_sandboxes(seed=1, articles=20, orders=20)
    with boxes.books.authorised_client() as books:
        add_cost_articles(books)  # the articles shipping and payment costs go on, as a merchant's books hold them
    boxes.books.auto_approve = False  # show AccountView's consent page, as the real one does
    boxes.shop.limits.reset_calls()
    boxes.books.limits.reset_calls()
    yield boxes
    boxes.stop()


@pytest.fixture
def koppel_run(tmp_path: Path) -> Iterator[Server]:
    koppel = make_koppel(tmp_path, KOPPEL_NEW_PASSWORD=PASSWORD)
    koppel("migrate")
    koppel("createuser", USER, "--email", "merchant@example.nl")
    server = koppel.serve("run")
    yield server
    server.stop()


def writes_received(boxes: Sandboxes) -> list[str]:
    routes = {**boxes.shop.limits.calls_json()["by_route"], **boxes.books.limits.calls_json()["by_route"]}
    return [r for r in routes if not r.startswith(("GET ", "HEAD ")) and not r.endswith("/token")
            and "/ams/authorize" not in r]


def submit(page: Any, selector: str) -> None:
    """Click a button that posts a form, and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def keep_small(recorded: Path, target: Path, cut: list[tuple[float, float]]) -> None:
    """Playwright records at 1 Mbit/s; the guide's copy is re-encoded at 5 frames and 100 kbit/s (pages
    change by steps, not by motion), about a fifth of the size, without the stretches `cut` (seconds from
    the start) where the test did something else and the page stood still."""
    kept = "+".join(f"between(t,{start:.2f},{end:.2f})" for start, end in cut) or "0"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(recorded),
                    "-vf", f"fps=5,select='not({kept})',setpts=N/(5*TB)",
                    "-c:v", "libvpx", "-b:v", "100k", "-crf", "30", "-deadline", "realtime", "-cpu-used", "8",
                    "-an", str(target)], check=True, timeout=300)


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(GUIDE_MEDIA / f"wizard-{name}.png"), full_page=True)


class TranslatedShots:
    """The key steps' pages in Dutch and German too, for the translated guides: a page per language in the
    same session (the language the browser asks for), opened once."""

    def __init__(self, browser: Any, context: Any, recording_since: float) -> None:
        self.recording_since = recording_since
        self.pauses: list[tuple[float, float]] = []  # when the recorded page stood still meanwhile
        begin = time.monotonic()
        self.pages: dict[str, Any] = {}
        for language in ("nl", "de"):
            other = browser.new_context(viewport=SIZE, locale=language)
            other.add_cookies(context.cookies())
            self.pages[language] = other.new_page()
            self.pages[language].set_default_timeout(30_000)
        self._paused(begin)

    def shot(self, url: str, name: str, prepare: Callable[[Any], None] = lambda page: None) -> None:
        """`url` in each language, filled in by `prepare` as the English page was."""
        begin = time.monotonic()
        for language, page in self.pages.items():
            page.goto(url)
            prepare(page)
            page.screenshot(path=str(GUIDE_MEDIA / f"wizard-{name}-{language}.png"), full_page=True)
        self._paused(begin)

    def _paused(self, begin: float) -> None:
        self.pauses.append((begin - self.recording_since, time.monotonic() - self.recording_since))

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.mark.slow
def test_the_wizard_from_an_empty_database_to_orders_sent(sandboxes: Sandboxes, koppel_run: Server,
                                                           browser: Any, tmp_path: Path) -> None:
    shop, books = sandboxes.shop.info, sandboxes.books.info
    sales_orders = sandboxes.books.count("SO_HDR")  # the seed's own
    context = browser.new_context(viewport=SIZE, record_video_dir=str(tmp_path / "video"), record_video_size=VIDEO_SIZE,
                                  locale="en-GB")
    page = context.new_page()
    recording_since = time.monotonic()
    page.set_default_timeout(30_000)
    translated: TranslatedShots | None = None
    try:
        page.goto(koppel_run.url + "/login/")
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", PASSWORD)
        submit(page, "button[type=submit]")
        page.wait_for_load_state()
        translated = TranslatedShots(browser, context, recording_since)

        # 1. Workspace and name: a name that is not a slug is refused.
        page.goto(koppel_run.url + "/setup/")
        page.select_option("select[name=workspace]", "new")
        page.fill("input[name=new_workspace]", "acme")
        page.fill("input[name=name]", "acme shop!")
        submit(page, "main button[type=submit]")
        assert page.locator(".errorlist").count() > 0 and "/setup/w/" not in page.url
        page.fill("input[name=name]", "acme-shop")
        shot(page, "1-workspace")
        submit(page, "main button[type=submit]")
        page.wait_for_url("**/shop/")

        # 2. The shop: a wrong key is refused with the shop's answer; the right one reaches the store.
        page.fill("input[name=token]", "wrong-key")
        page.fill("input[name=partner_token]", shop.partner_token)
        page.click("details summary")
        page.fill("input[name=base_url]", "http://example.org")
        page.click("text=Test connection")
        expect(page.locator("#test-result")).to_contain_text("https://")  # plain http only on this machine
        page.fill("input[name=base_url]", shop.url)
        page.click("text=Test connection")
        expect(page.locator("#test-result")).to_contain_text("did not accept")
        page.fill("input[name=token]", shop.token)
        page.click("text=Test connection")
        expect(page.locator("#test-result .status-ok")).to_contain_text("It works")
        shot(page, "2-shop")

        def tested_shop(other: Any) -> None:
            other.fill("input[name=token]", shop.token)
            other.fill("input[name=partner_token]", shop.partner_token)
            other.click("details summary")
            other.fill("input[name=base_url]", shop.url)
            other.click("button[hx-post$='/shop/test/']")
            other.wait_for_selector("#test-result .status-ok")

        translated.shot(page.url, "2-shop", tested_shop)
        submit(page, "text=Next: the books")
        page.wait_for_url("**/books/")

        # 3. The books: credentials, then AccountView's consent page, then back with the companies reached.
        page.fill("input[name=client_id]", books.client_id)
        page.fill("input[name=client_secret]", books.client_secret)
        page.fill("input[name=company_id]", books.company_id)
        page.click("details summary")
        page.fill("input[name=base_url]", books.url)
        shot(page, "3-books")

        def filled_books(other: Any) -> None:
            other.fill("input[name=client_id]", books.client_id)
            other.fill("input[name=client_secret]", books.client_secret)
            other.fill("input[name=company_id]", books.company_id)
            other.click("details summary")
            other.fill("input[name=base_url]", books.url)

        translated.shot(page.url, "3-books", filled_books)
        submit(page, "button:has-text('Connect')")
        page.wait_for_selector("text=Toegang verlenen")
        shot(page, "4-accountview-consent")
        submit(page, "button[value=approve]")
        page.wait_for_url("**/books/")
        assert "AccountView is connected" in page.content()
        shot(page, "5-books-connected")
        translated.shot(page.url, "5-books-connected")
        submit(page, "text=Next: the flows")
        page.wait_for_url("**/flows/")

        # 4. Flows: orders on.
        assert page.is_checked("input[name=orders]")
        shot(page, "6-flows")
        submit(page, "main button[type=submit]")
        page.wait_for_url("**/flows/orders/")

        # 5. The orders' questions: the shop's paid statuses and AccountView's codes are the defaults.
        assert page.is_checked("input[name=statuses][value='3']")  # "Betaald", as the shop names it
        assert not page.is_checked("input[name=statuses][value='2']")  # "Verzonden"
        assert page.input_value("select[name='vat_codes[21]']") == "H1"
        page.select_option("select[name='payment_terms.default']", "14")
        page.fill("input[name=shipping_article]", "NOPE-404")
        submit(page, "button:has-text('Next')")
        assert "AccountView has no article NOPE-404" in page.content()
        assert "Nothing was saved" in page.content()
        shot(page, "7-orders-refused")
        page.fill("input[name=shipping_article]", "VERZEND")
        page.click("details.more summary")
        page.fill("input[name=rounding_article]", "AFRONDING")
        page.fill("input[name=total_tolerance]", "0.05")
        shot(page, "8-orders")
        submit(page, "button:has-text('Next')")
        page.wait_for_url("**/dry-run/")

        # 6. Dry run: what would happen, and nothing written anywhere.
        page.click("#dry-run-button")
        page.wait_for_selector("#dry-run-orders")
        results = page.locator("#dry-run-orders").inner_text()
        assert "would send" in results
        assert page.locator("#dry-run-orders tr.outcome-would_send").count() >= 1
        assert writes_received(sandboxes) == []
        assert sandboxes.books.count("SO_HDR") == sales_orders
        shot(page, "9-dry-run")
        submit(page, "text=Next: activate")
        page.wait_for_url("**/activate/")
        shot(page, "10-activate")

        # 7. Activate: the first run sends orders (the video ends here: waiting is not worth watching).
        submit(page, "button:has-text('Activate the integration')")
        first_run = page.url
    finally:
        if translated is not None:
            translated.close()
        context.close()
    keep_small(Path(page.video.path()), GUIDE_MEDIA / "wizard.webm", translated.pauses if translated else [])
    context = browser.new_context(viewport=SIZE)
    page = context.new_page()
    try:
        page.goto(first_run)
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", PASSWORD)
        submit(page, "button[type=submit]")
        page.wait_for_selector("tr.run-succeeded, tr.run-partial", timeout=120_000)
        runs = page.locator("#runs").inner_text()  # the first run, and perhaps the next that retried its parked
        assert "sent:" in runs, runs
        shot(page, "11-first-run")
    finally:
        context.close()
    assert sandboxes.books.count("SO_HDR") > sales_orders
