"""Sync now with the real processes against both sandboxes: `koppel web` queues the run (it runs no flow
itself) and a worker runs it, started after the clicks, so the run waits for it first. The orders reach
AccountView exactly once, two clicks at once queue one run, a second sync now sends nothing again, a
read-only member cannot start a run, and the history shows both runs with their durations. In `koppel run`
(dashboard and engine in one process) the dashboard's own engine runs it."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.flows.test_engine import assert_exactly_once
from tests.flows.test_orders import eligible
from tests.web.runs.site import Site

pytestmark = pytest.mark.slow  # real koppel processes
FOLLOWED = re.compile(r'hx-get="([^"]+/progress/[^"]+/)"')


def click(client: httpx.Client, url: str, **data: str) -> httpx.Response:
    """A click on a button of the runs page, as HTMX sends it (the CSRF token in a header)."""
    return client.post(url, data=data, headers={"HX-Request": "true", "X-CSRFToken": client.cookies["csrftoken"]})


def follow(client: httpx.Client, fragment: str) -> str:
    """Poll the progress fragment as the page does, until it stops asking to be polled (the run finished)."""
    deadline = time.monotonic() + 180
    while (followed := FOLLOWED.search(fragment)) is not None:
        assert time.monotonic() < deadline, f"the run did not finish: {fragment}"
        time.sleep(0.5)
        answer = client.get(followed[1], headers={"HX-Request": "true"})
        assert answer.status_code == 200
        fragment = answer.text
    return fragment


def test_sync_now_queues_one_run_a_worker_sends_each_order_once(site: Site) -> None:
    anna = site.signed_in("anna")
    page = anna.get(site.runs)
    assert page.status_code == 200 and "Sync now" in page.text
    sync = site.runs + "orders/sync/"

    with ThreadPoolExecutor(max_workers=2) as pool:  # two quick clicks
        answers = list(pool.map(lambda _: click(anna, sync, full="0"), range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    followed = {FOLLOWED.search(a.text)[1] for a in answers}  # type: ignore[index]
    assert len(followed) == 1, followed
    assert all('data-state="queued"' in a.text and "No worker is running" in a.text for a in answers)
    assert "you follow that one" in answers[0].text + answers[1].text

    worker = site.start_worker()
    try:
        done = follow(anna, answers[0].text)
        assert 'data-state="finished"' in done, done
        sent = len(eligible(site.world))
        assert f"sent: {sent}</span>" in done and "parked: 0</span>" in done, done
        assert_exactly_once(site.world, [o["status"] for o in eligible(site.world)])

        again = follow(anna, click(anna, sync, full="1").text)  # a full resync: every order read again
        assert "sent: 0</span>" in again and f"skipped: {sent}</span>" in again, again
        assert_exactly_once(site.world, [o["status"] for o in eligible(site.world)])
    finally:
        (site.directory / "stop").touch()
        worker.wait()

    found = site.stored("import json\nfrom koppel.core.activity.models import RecordAction, Run\n"
                        "found = [list(RecordAction.objects.filter(kind='sync').order_by('pk')\n"
                        "              .values_list('by', 'detail')),\n"
                        "         list(Run.objects.order_by('pk').values_list('status', 'workflow_id'))]")
    actions, runs = found  # type: ignore[misc]
    assert actions == [["anna", "orders: sync now"], ["anna", "orders: full resync"]]
    assert [status for status, _ in runs] == ["succeeded", "succeeded"]
    assert [workflow for _, workflow in runs][0] in next(iter(followed))

    history = anna.get(site.runs + "orders/").text
    assert len(re.findall(r'<td class="number took">\d+ s</td>', history)) == 2, history
    assert history.count("anna") >= 2 and "full resync" in history

    rita = site.signed_in("rita")
    assert rita.get(site.runs).status_code == 200
    assert "Sync now</button>" not in rita.get(site.runs).text
    assert click(rita, sync).status_code == 403


def test_in_koppel_run_the_dashboards_own_engine_runs_it(embedded_site: Site) -> None:
    anna = embedded_site.signed_in("anna")
    fragment = click(anna, embedded_site.runs + "orders/sync/", full="0").text
    assert "No worker is running" not in fragment, fragment
    done = follow(anna, fragment)
    assert f"sent: {len(eligible(embedded_site.world))}</span>" in done, done
    assert_exactly_once(embedded_site.world, [o["status"] for o in eligible(embedded_site.world)])
