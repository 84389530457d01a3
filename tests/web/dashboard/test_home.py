"""An integration's page: the flows it runs, named in the user's language, and one entry to its runs."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from koppel.core.integrations.models import Integration
from tests.web.world import World, build_world

pytestmark = pytest.mark.django_db
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.mark.parametrize(("language", "on", "off"), [("en", "Orders", "Products"), ("nl", "Bestellingen", "Producten"),
                                                     ("de", "Bestellungen", "Produkte")])
def test_the_integration_page_lists_the_flows_switched_on_by_their_names(language: str, on: str, off: str) -> None:
    world: World = build_world()
    integration: Integration = world.mine.records[Integration][0]
    integration.flows = {"orders": {"enabled": True}, "products": {"enabled": False}, "stock": {}}
    integration.save()
    client = Client()
    client.force_login(world.mine.users["read_only"], backend=MODEL_BACKEND)
    page = client.get(f"/w/{integration.workspace_id}/integrations/{integration.pk}/",
                      HTTP_ACCEPT_LANGUAGE=language).content.decode()
    flows = page[page.index("<main"):]
    assert f"<li>{on}</li>" in flows
    assert f"<li>{off}</li>" not in flows and "<li>stock</li>" not in flows and "<li>orders</li>" not in flows
    assert flows.count(f"/runs/w/{integration.workspace_id}/integrations/{integration.pk}/") == 1
    assert f"/setup/w/{integration.workspace_id}/i/{integration.pk}/runs/" not in flows


def test_every_page_names_its_icon_so_no_browser_asks_for_a_missing_favicon(client: Client) -> None:
    page = client.get("/login/").content.decode()
    assert '<link rel="icon" href="/static/koppel/icon.svg"' in page
    assert finders.find("koppel/icon.svg")  # a file of ours, served with the other static files


@pytest.mark.parametrize(("language", "words"), [("en", ["Alerts", "Insights", "Alert settings"]),
                                                 ("nl", ["Meldingen", "Inzichten"])])
def test_alerts_insights_and_the_guides_are_reached_from_the_pages_not_only_by_their_addresses(
        language: str, words: list[str]) -> None:
    world: World = build_world()
    workspace = world.mine.workspace
    client = Client()
    client.force_login(world.mine.users["owner"], backend=MODEL_BACKEND)
    page = client.get(f"/w/{workspace.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for href in ('href="/alerts/"', 'href="/setup/guides/"', f'href="/insights/w/{workspace.pk}/"',
                 f'href="/alerts/w/{workspace.pk}/settings/"'):
        assert href in page, href
    for word in words:
        assert f">{word}</a>" in page, word
