"""The runs pages in this process: sync now queues one run (in a DBOS system database of the test's own, no
worker: the run stays queued) and a second click follows it, even when both pass the check at once; a
read-only member cannot start a run and another workspace's integration is 404; the progress fragment shows
done of total while a run goes and the summary once it finished (then it stops polling); the history lists
runs with their durations, a page at a time; a run's page lists its records. The runner keeps a run's total
on its Run before the first record is handled."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pydantic import BaseModel

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity, RecordAction, Run
from koppel.core.integrations.models import Integration, Schedule
from koppel.errors import Outcome
from koppel.sync import sync_now, units
from koppel.sync.links import EngineLinks, Record
from koppel.sync.runner import Flow, run_here
from tests.web.alerts.test_views import user_in
from tests.web.records.test_views import integration_of, record

pytestmark = pytest.mark.django_db
FOLLOWED = re.compile(r'hx-get="[^"]+/progress/([^"/]+)/"')


@pytest.fixture
def mine(koppel_data_dir: Path) -> Workspace:  # a DBOS system database of this test's own
    return Workspace.objects.create(name="bakkerij")


@pytest.fixture
def shop(mine: Workspace) -> Integration:
    return integration_of(mine, "bakkerij-shop")


@pytest.fixture
def anna(mine: Workspace) -> Client:
    return user_in(mine, "anna", "member")


def runs_of(workspace: Workspace, integration: Integration) -> str:
    return f"/runs/w/{workspace.pk}/integrations/{integration.pk}/"


def click(client: Client, url: str, **data: str) -> Any:
    return client.post(url, data, HTTP_HX_REQUEST="true")


def queued(integration: Integration, flow: str = "orders") -> list[Any]:
    return list(sync_now.client().list_workflows(workflow_id_prefix=units.run_id_prefix(flow, integration.pk)))


def test_sync_now_queues_one_run_for_the_workers_and_a_second_click_follows_it(
        mine: Workspace, shop: Integration, anna: Client) -> None:
    first = click(anna, runs_of(mine, shop) + "orders/sync/", full="0")
    assert first.status_code == 200
    assert 'data-state="queued"' in first.content.decode() and "No worker is running" in first.content.decode()
    second = click(anna, runs_of(mine, shop) + "orders/sync/", full="1")
    assert "you follow that one" in second.content.decode()
    (workflow,) = queued(shop)
    assert FOLLOWED.findall(first.content.decode()) == FOLLOWED.findall(second.content.decode()) == [
        workflow.workflow_id]
    # What a worker needs to run it: the flow's run workflow on the run queue, in the flow's partition.
    assert (workflow.name, workflow.queue_name, workflow.status) == ("orders.run", "koppel-runs", "ENQUEUED")
    assert list(workflow.input["args"]) == [shop.pk, False]  # (integration, full), as the scheduler queues it
    assert list(RecordAction.objects.values_list("entity", "key", "kind", "by", "detail")) == [
        ("run", workflow.workflow_id, "sync", "anna", "orders: sync now")]
    page = anna.get(runs_of(mine, shop)).content.decode()
    assert f"/progress/{workflow.workflow_id}/" in page  # the runs page follows the queued run too


def test_two_clicks_at_once_queue_one_run(mine: Workspace, shop: Integration, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync_now, "active_runs", lambda integration_id, flows: {})  # both passed the look
    first = sync_now.start("orders", shop.pk, by="anna")
    second = sync_now.start("orders", shop.pk, full=True, by="bert")
    assert first.new and not second.new and second.workflow_id == first.workflow_id
    assert len(queued(shop)) == 1
    assert list(RecordAction.objects.values_list("by", flat=True)) == ["anna"]


def test_a_read_only_member_cannot_start_a_run_and_another_workspaces_integration_is_404(
        mine: Workspace, shop: Integration, anna: Client) -> None:
    rita = user_in(mine, "rita", "read_only")
    assert rita.get(runs_of(mine, shop)).status_code == 200
    assert "Sync now</button>" not in rita.get(runs_of(mine, shop)).content.decode()
    assert click(rita, runs_of(mine, shop) + "orders/sync/").status_code == 403
    other = Workspace.objects.create(name="slagerij")
    theirs = integration_of(other, "slagerij-shop")
    their_run = Run.objects.create(integration=theirs, flow="orders", started_at=timezone.now())
    for url in (runs_of(mine, theirs), runs_of(mine, theirs) + "orders/", f"/runs/w/{mine.pk}/runs/{their_run.pk}/",
                runs_of(mine, theirs) + f"orders/progress/{units.run_id_prefix('orders', theirs.pk)}x/",
                runs_of(mine, shop) + f"orders/progress/{units.run_id_prefix('orders', theirs.pk)}x/"):
        assert anna.get(url).status_code == 404, url
    assert click(anna, runs_of(mine, theirs) + "orders/sync/").status_code == 404
    assert click(anna, runs_of(other, theirs) + "orders/sync/").status_code == 404
    assert queued(shop) == [] and queued(theirs) == [] and not RecordAction.objects.exists()


def test_a_flow_switched_off_is_not_started(mine: Workspace, shop: Integration, anna: Client) -> None:
    answer = anna.post(runs_of(mine, shop) + "stock/sync/")  # stock is off unless switched on
    assert answer.status_code == 302 and queued(shop, "stock") == []
    assert "switched off" in anna.get(answer["Location"]).content.decode()


def test_the_progress_fragment_shows_done_of_total_then_the_summary_and_stops_polling(
        mine: Workspace, shop: Integration, anna: Client) -> None:
    workflow_id = units.run_id_prefix("orders", shop.pk) + "20261130T120000Z"
    started = timezone.now() - timedelta(seconds=75)
    going = Run.objects.create(integration=shop, flow="orders", workflow_id=workflow_id, started_at=started)
    url = runs_of(mine, shop) + f"orders/progress/{workflow_id}/"
    assert 'data-state="starting"' in anna.get(url, HTTP_HX_REQUEST="true").content.decode()

    Run.objects.filter(pk=going.pk).update(counts={"total": 10})
    for key in ("1", "2", "3"):
        record(shop, key, "sent", "sales order made", run=going)
    parked = record(shop, "4", "needs_attention", "VAT code 21 is unknown (vat_codes)", run=going)
    record(shop, "99", "sent", "an earlier run's")  # not this run's
    fragment = anna.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="running"' in fragment and 'hx-trigger="every 1s"' in fragment
    assert '<progress max="10" value="4">' in fragment and "4 of 10 records" in fragment
    assert "sent: 3</span>" in fragment and "parked: needs attention: 1</span>" in fragment
    assert "1 min 15 s" in fragment or "1 min 16 s" in fragment

    Run.objects.filter(pk=going.pk).update(counts={"sent": 9, "needs_attention": 1}, status="partial",
                                           finished_at=started + timedelta(seconds=125))
    summary = anna.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="finished"' in summary and "hx-get" not in summary and "hx-trigger" not in summary
    assert "sent: 9</span>" in summary and "parked: 1</span>" in summary and "(10 records)" in summary
    assert "took 2 min 05 s" in summary
    assert f'href="/records/w/{mine.pk}/records/{parked.pk}/"' in summary and "VAT code 21" in summary
    assert "hx-swap-oob" not in summary  # asked from the progress page: it has no latest runs to refresh
    on_runs_page = anna.get(url, HTTP_HX_REQUEST="true",
                            HTTP_HX_CURRENT_URL=f"http://testserver{runs_of(mine, shop)}").content.decode()
    assert '<div id="latest-orders" hx-swap-oob="true">' in on_runs_page and "2 min 05 s" in on_runs_page
    page = anna.get(url).content.decode()  # without HTMX: a page around the same fragment
    assert "<html" in page and 'data-state="finished"' in page
    assert anna.get(runs_of(mine, shop) + "orders/progress/run:orders:" + str(shop.pk) + ":nope/").status_code == 404


def test_the_progress_fragment_speaks_dutch(mine: Workspace, shop: Integration, anna: Client) -> None:
    workflow_id = units.run_id_prefix("orders", shop.pk) + "1"
    Run.objects.create(integration=shop, flow="orders", workflow_id=workflow_id, started_at=timezone.now(),
                       counts={"total": 2})
    fragment = anna.get(runs_of(mine, shop) + f"orders/progress/{workflow_id}/", HTTP_HX_REQUEST="true",
                        HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "0 van 2 records" in fragment


def test_the_history_lists_runs_with_durations_a_page_at_a_time(mine: Workspace, shop: Integration,
                                                                anna: Client) -> None:
    now = timezone.now()
    for back, took in enumerate([4, 65, 3725] + [1] * 30):
        started = now - timedelta(hours=back + 2)
        Run.objects.create(integration=shop, flow="orders", workflow_id=f"run:orders:{shop.pk}:{back}",
                           started_at=started, finished_at=started + timedelta(seconds=took),
                           status="partial" if back == 1 else "succeeded",
                           counts={"sent": back, "needs_attention": 1 if back == 1 else 0})
    Run.objects.create(integration=shop, flow="orders", started_at=now - timedelta(hours=100),
                       finished_at=now - timedelta(hours=100), status="failed", error="AccountView said no")
    RecordAction.objects.create(integration=shop, entity="run", key=f"run:orders:{shop.pk}:1", kind="sync",
                                by="anna", detail="orders: full resync", at=now)
    first = anna.get(runs_of(mine, shop) + "orders/").content.decode()
    assert re.findall(r'<td class="number took">([^<]+)</td>', first)[:3] == ["4 s", "1 min 05 s", "1 h 02 min"]
    assert first.count('class="number took"') == 25 and "page 1 of 2" in first
    assert "anna (full resync)" in first and "AccountView said no" not in first
    last = anna.get(runs_of(mine, shop) + "orders/?page=2").content.decode()
    assert last.count('class="number took"') == 9 and "AccountView said no" in last
    failed = anna.get(runs_of(mine, shop) + "orders/?status=failed").content.decode()
    assert failed.count('class="number took"') == 1 and "AccountView said no" in failed
    assert anna.get(runs_of(mine, shop) + "nosuchflow/").status_code == 404


def test_a_runs_page_lists_its_records_and_filters_the_parked(mine: Workspace, shop: Integration,
                                                               anna: Client) -> None:
    done = Run.objects.create(integration=shop, flow="orders", started_at=timezone.now(), finished_at=timezone.now(),
                              status="partial", counts={"sent": 1, "retry": 1})
    record(shop, "1001", "sent", "sales order 5", run=done, target_key="SO-5")
    record(shop, "1002", "retry", "AccountView did not answer (tried several times)", run=done)
    record(shop, "1003", "sent", "another run's")
    url = f"/runs/w/{mine.pk}/runs/{done.pk}/"
    everything = anna.get(url).content.decode()
    assert "1001" in everything and "1002" in everything and "1003" not in everything and "SO-5" in everything
    parked = anna.get(url + "?outcome=parked").content.decode()
    assert "1002" in parked and ">1001<" not in parked and "did not answer" in parked


class _Counting:
    """A recipe that looks, from inside each record's sync, at what the dashboard would read."""

    def __init__(self, integration_id: int) -> None:
        self.integration_id, self.seen = integration_id, list[tuple[Any, int]]()

    def fetch(self, cursor: str | None) -> list[tuple[str, str]]:
        return [(str(n), str(n)) for n in range(1, 6)]

    def sync(self, key: str, *, claimer: str) -> Record:
        run = Run.objects.filter(integration_id=self.integration_id).latest("pk")
        self.seen.append(((run.counts or {}).get("total"), Activity.objects.filter(run=run).count()))
        return Record("thing", key, Outcome.SENT, "copied")


@pytest.mark.django_db(transaction=True)
def test_a_run_keeps_its_total_before_the_first_record_and_done_grows_with_its_activity(shop: Integration) -> None:
    recipe = _Counting(shop.pk)
    flow = Flow(name="counting", entity="thing", settings=BaseModel, open=lambda *_: recipe)
    summary = run_here(flow, recipe, EngineLinks(shop.pk))
    assert recipe.seen == [(5, 0), (5, 1), (5, 2), (5, 3), (5, 4)]
    assert Run.objects.get(pk=summary.run_id).counts == {o.value: 5 if o is Outcome.SENT else 0 for o in Outcome}


def test_an_integration_not_switched_on_yet_is_not_synced(mine: Workspace, shop: Integration, anna: Client) -> None:
    Integration.objects.filter(pk=shop.pk).update(enabled=False)  # its setup is not finished
    assert "Sync now</button>" not in anna.get(runs_of(mine, shop)).content.decode()
    answer = anna.post(runs_of(mine, shop) + "orders/sync/")
    assert answer.status_code == 302 and queued(shop) == []
    assert "not switched on yet" in anna.get(answer["Location"]).content.decode()


def test_the_runs_page_says_how_often_a_flow_runs_by_itself(mine: Workspace, shop: Integration, anna: Client) -> None:
    assert "No schedule" in anna.get(runs_of(mine, shop)).content.decode()
    Schedule.objects.create(integration=shop, flow="orders", interval_seconds=60)
    assert "Runs by itself every 60 seconds." in anna.get(runs_of(mine, shop)).content.decode()


def test_a_run_whose_workflow_ended_without_closing_it_is_shown_finished(mine: Workspace, shop: Integration,
                                                                         anna: Client) -> None:
    started = sync_now.start("orders", shop.pk, by="anna")
    Run.objects.create(integration=shop, flow="orders", workflow_id=started.workflow_id, started_at=timezone.now(),
                       counts={"total": 3})  # a worker opened it, then the workflow was cancelled
    url = runs_of(mine, shop) + f"orders/progress/{started.workflow_id}/"
    assert 'data-state="running"' in anna.get(url, HTTP_HX_REQUEST="true").content.decode()
    sync_now.client().cancel_workflow(started.workflow_id)
    fragment = anna.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="finished"' in fragment and "hx-get" not in fragment and "stopped (cancelled)" in fragment
    assert '<span class="status-failed">failed</span>' in fragment


def test_while_the_queue_cannot_be_reached_nothing_starts_and_the_progress_keeps_asking(
        mine: Workspace, shop: Integration, anna: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    started = sync_now.start("orders", shop.pk, by="anna")

    def unreachable() -> Any:
        raise ConnectionError("the system database is down")

    monkeypatch.setattr(sync_now, "client", unreachable)
    answer = click(anna, runs_of(mine, shop) + "orders/sync/")
    assert answer.status_code == 200 and answer["HX-Redirect"] == runs_of(mine, shop)
    assert "right now: nothing was started" in anna.get(runs_of(mine, shop)).content.decode()
    fragment = anna.get(runs_of(mine, shop) + f"orders/progress/{started.workflow_id}/",
                        HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="unreadable"' in fragment and 'hx-trigger="every 1s"' in fragment
    assert RecordAction.objects.count() == 1  # the first start only
