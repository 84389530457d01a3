"""A run's error in the user's language: the runner closes a run whose settings are invalid, or that met a
broken connection, with its error made as a reason; Run.error_args keeps its form, and the run's page and the
flow's history show it in Dutch and German with the real setting, value and code filled in. An error stored
without a form is shown as it was recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Run
from koppel.core.integrations.models import Integration
from koppel.errors import BrokenConnection
from koppel.flows.settings import OrdersSettings
from koppel.reasons import Reason, reason
from koppel.sync.links import EngineLinks, Record
from koppel.sync.runner import Flow, InProcess, Tally, run, settings_problem
from tests.web.alerts.test_views import user_in
from tests.web.records.test_views import integration_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mine(koppel_data_dir: Path) -> Workspace:
    return Workspace.objects.create(name="bakkerij")


@pytest.fixture
def shop(mine: Workspace) -> Integration:
    return integration_of(mine, "bakkerij-shop")


class _Revoked:
    def fetch(self, cursor: str | None) -> list[tuple[str, str]]:
        raise BrokenConnection(reason("AccountView refused the authorisation ({error}); reconnect the "
                                      "administration", error="invalid_grant"), system="accountview")

    def sync(self, key: str, *, claimer: str) -> Record:
        raise AssertionError("nothing is listed")


class _Checked(InProcess):
    """The durable execution's settings check, in this process."""

    raw: dict[str, Any] = {}

    def settings_problem(self) -> str:
        return settings_problem(self.flow, self.raw)


def closed(shop: Integration, recipe: Any, raw: dict[str, Any] | None = None) -> Run:
    from concurrent.futures import ThreadPoolExecutor

    flow = Flow(name="orders", entity="order", settings=OrdersSettings, open=lambda *_: recipe)
    with ThreadPoolExecutor(max_workers=1) as pool:
        execution = _Checked(flow, recipe, EngineLinks(shop.pk), 1, 0.0, pool, Tally(None))
        if raw is not None:
            execution.raw = raw
        outcome = run(flow, execution)
    return Run.objects.get(pk=outcome["run"])


def page(client: Client, url: str, language: str) -> str:
    answer = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 200
    return answer.content.decode()


@pytest.mark.parametrize(("language", "said"), [
    ("nl", "De instellingen van orders zijn ongeldig: statuses: kies minstens één orderstatus om te versturen "
           "(waarde []). Corrigeer ze in de instellingen van de koppeling."),
    ("de", "Die Einstellungen von orders sind ungültig: statuses: wählen Sie mindestens einen zu sendenden "
           "Bestellstatus (Wert []). Korrigieren Sie sie in den Einstellungen der Verknüpfung."),
])
def test_a_runs_settings_error_in_the_users_language(mine: Workspace, shop: Integration, language: str,
                                                       said: str) -> None:
    done = closed(shop, _Revoked(), raw={"statuses": []})
    assert done.status == "failed" and done.error.startswith("The orders settings are invalid: statuses: choose")
    assert done.error_args and done.error_args["template"].startswith("The {flow} settings are invalid")
    client = user_in(mine, f"anna-{language}", "member")
    assert said in page(client, f"/runs/w/{mine.pk}/runs/{done.pk}/", language)
    assert said in page(client, f"/runs/w/{mine.pk}/integrations/{shop.pk}/orders/", language)


@pytest.mark.parametrize(("language", "said"), [
    ("nl", "AccountView weigerde de autorisatie (invalid_grant); verbind de administratie opnieuw"),
    ("de", "AccountView hat die Autorisierung verweigert (invalid_grant); verbinden Sie die Administration neu"),
])
def test_a_connectors_error_that_stopped_a_run_in_the_users_language(mine: Workspace, shop: Integration,
                                                                     language: str, said: str) -> None:
    done = closed(shop, _Revoked())
    assert done.error == "AccountView refused the authorisation (invalid_grant); reconnect the administration"
    client = user_in(mine, f"anna-{language}", "member")
    assert said in page(client, f"/runs/w/{mine.pk}/runs/{done.pk}/", language)


def test_an_error_without_its_form_is_shown_as_recorded(mine: Workspace, shop: Integration) -> None:
    done = Run.objects.create(integration=shop, flow="orders", status="failed", started_at=timezone.now(),
                              finished_at=timezone.now(), error="the unit of work failed: disk full")
    client = user_in(mine, "anna", "member")
    assert "the unit of work failed: disk full" in page(client, f"/runs/w/{mine.pk}/runs/{done.pk}/", "de")


def test_the_settings_error_is_a_reason_naming_each_setting() -> None:
    flow = Flow(name="orders", entity="order", settings=OrdersSettings, open=lambda *_: None)
    problem = settings_problem(flow, {"statuses": [], "interval_seconds": "often"})
    assert isinstance(problem, Reason) and "statuses: choose at least one order status to send (value [])" in problem
    assert settings_problem(flow, {}) == ""
