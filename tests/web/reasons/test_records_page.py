"""A real run of the orders flow against both sandboxes, its outcomes stored by the ledger, shown on the
records list and a record's page in Dutch and German: the reasons translated (a reason inside a reason
too), the order and document numbers as they are; the activity keeps the English beside its translatable
form."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.utils.html import escape

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity
from koppel.flows.orders import ORDERS, OrdersFlow
from koppel.flows.settings import OrdersSettings
from koppel.sync.links import EngineLinks
from koppel.sync.runner import run_here
from tests.flows.test_orders import eligible
from tests.flows.world import SETTINGS, World, start_world
from tests.sync.scenarios import integration
from tests.web.alerts.test_views import user_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NO_LINES = {"en": "Order {order} has no lines. Check the order in the shop.",
            "nl": "Order {order} heeft geen regels. Controleer de order in de winkel.",
            "de": "Bestellung {order} hat keine Zeilen. Prüfen Sie die Bestellung im Shop."}
SENT = {"en": r"sales order (\S+) for debtor (\S+) \((created|matched|linked)\)",
        "nl": r"verkooporder (\S+) voor debiteur (\S+) \((aangemaakt|gevonden op e-mail|gekoppeld)\)",
        "de": r"Verkaufsauftrag (\S+) für Debitor (\S+) \((angelegt|per E-Mail gefunden|verknüpft)\)"}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    started = start_world(orders=6, articles=12)
    yield started
    started.stop()


def test_a_parked_and_a_sent_order_read_in_dutch_and_german(world: World) -> None:
    orders = eligible(world)
    broken, fine = str(orders[0]["number"]), str(orders[1]["number"])
    with world.shop_sandbox.state.lock:
        world.shop_sandbox.state.orders[broken]["orderlines"] = []
    integration_id = integration("reasons")
    links = EngineLinks(integration_id)
    run_here(ORDERS, OrdersFlow(world.shop, world.books, OrdersSettings.model_validate(SETTINGS), links), links,
             full=True)

    parked = Activity.objects.get(integration_id=integration_id, key=broken)
    assert parked.outcome == "needs_attention"
    assert parked.reason == NO_LINES["en"].format(order=broken)
    assert parked.reason_args == {"template": NO_LINES["en"], "params": {"order": broken}}
    sent = Activity.objects.get(integration_id=integration_id, key=fine)
    english = re.fullmatch(SENT["en"], sent.reason)
    assert sent.outcome == "sent" and english, sent.reason
    assert sent.reason_args["params"]["kind"] == {"template": "sales order", "params": {}}

    workspace = Workspace.objects.get(integrations__pk=integration_id)
    client = user_in(workspace, "lotte")
    url = f"/records/w/{workspace.pk}/integrations/{integration_id}/records/"
    for language in ("nl", "de", "en"):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert escape(NO_LINES[language].format(order=broken)) in html, language
        shown = re.search(SENT[language], html)
        assert shown, (language, SENT[language])
        assert shown.groups()[:2] == english.groups()[:2]  # the document and debtor numbers as they are
        if language != "en":
            assert escape(parked.reason) not in html and sent.reason not in html
        record = client.get(f"/records/w/{workspace.pk}/records/{parked.pk}/", HTTP_ACCEPT_LANGUAGE=language)
        assert escape(NO_LINES[language].format(order=broken)) in record.content.decode(), language
