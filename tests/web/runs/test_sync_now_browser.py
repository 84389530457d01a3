"""In Chromium, against `koppel web` and a worker on both sandboxes: a member signs in, clicks Sync now on the
integration's runs page, and watches the run's progress until it reads finished, with what was sent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flows.test_engine import assert_exactly_once
from tests.flows.test_orders import eligible
from tests.web.runs.site import PASSWORD, Site

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_member_clicks_sync_now_and_watches_the_run_finish(site: Site, page: Any) -> None:
    worker = site.start_worker()
    try:
        page.goto(f"{site.web.url}/login/")
        page.fill("input[name=username]", "anna")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site.web.url}/")
        page.goto(site.web.url + site.runs.removeprefix("/runs"))  # the integration's page links to its runs
        page.click("text=Sync now and runs")
        page.click("#flow-orders button:has-text('Sync now')")
        page.wait_for_selector("#progress-orders")  # the run is followed in place, without leaving the page
        page.wait_for_selector("#progress-orders[data-state=finished]", timeout=120_000)
        summary = page.inner_text("#progress-orders")
        latest = page.inner_text("#latest-orders")  # the latest runs, brought up to date when the run finished
        assert page.url == site.web.url + site.runs
    finally:
        (site.directory / "stop").touch()
        worker.wait()
    sent = len(eligible(site.world))
    assert f"sent: {sent}" in summary and "parked: 0" in summary, summary
    assert "No runs yet" not in latest and "anna" in latest, latest
    assert_exactly_once(site.world, [o["status"] for o in eligible(site.world)])
