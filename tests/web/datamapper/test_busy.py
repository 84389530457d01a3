"""A workspace's previews and saves beyond its share of the expression evaluators are answered 429 "busy, try
again" at once, in the reader's language, and save nothing; another workspace's preview meanwhile is evaluated.
(The evaluators' pools themselves: tests/mapping/test_expressions.py.)"""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.utils import timezone

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity
from koppel.core.integrations.models import Integration
from koppel.flows.order_mapping import SALES_ORDER
from koppel.web.datamapper import maps
from tests.mapping.test_defaults import B2C
from tests.mapping.test_expressions import end, hold, pools  # noqa: F401  (pools is a fixture)
from tests.web.datamapper.shared import integration_of
from tests.web.datamapper.test_views import url, user_in

pytestmark = pytest.mark.django_db
BUSY = {
    "en": "Busy: an expression of yours is still being evaluated. Try again in a moment.",
    "nl": "Bezig: een expressie van jou wordt nog uitgerekend. Probeer het zo opnieuw.",
    "de": "Beschäftigt: Ein Ausdruck von Ihnen wird noch ausgewertet. Versuchen Sie es gleich noch einmal.",
}


def shop_of(name: str) -> Integration:
    integration = integration_of(Workspace.objects.create(name=name), f"{name}-shop")
    Activity.objects.create(integration=integration, entity="order", key=str(B2C["number"]), outcome="sent",
                            payload_in=B2C, created_at=timezone.now(), updated_at=timezone.now())
    return integration


def change(expression: str) -> dict[str, Any]:
    return {"map": SALES_ORDER, "target": "COMMENT2", "origin": "expr", "value": expression}


def test_beyond_its_share_a_workspace_is_answered_busy_while_another_is_evaluated(pools: Any) -> None:  # noqa: F811
    mine, theirs = shop_of("bakkerij"), shop_of("slagerij")
    anna, bert = user_in(mine.workspace, "anna"), user_in(theirs.workspace, "bert")
    held = [hold(pools.dashboard, maps.evaluating_for(mine.workspace_id))]  # the workspace's share (1) in use
    try:
        for language, busy in BUSY.items():
            answer = anna.get(url(mine, "preview/"), change('"Koppel " & order.number'), HTTP_HX_REQUEST="true",
                              HTTP_ACCEPT_LANGUAGE=language)
            assert answer.status_code == 429
            assert busy in html.unescape(answer.content.decode())
        saving = anna.post(url(mine, "edit/"), change('"Koppel " & order.number'), HTTP_ACCEPT_LANGUAGE="nl")
        assert saving.status_code == 429 and BUSY["nl"] in html.unescape(saving.content.decode())
        mine.refresh_from_db()
        assert not mine.mapping_overrides  # refused: nothing saved
        other = bert.get(url(theirs, "preview/"), change('"Koppel " & order.number'), HTTP_HX_REQUEST="true")
        assert other.status_code == 200 and f"Koppel {B2C['number']}" in other.content.decode()
        assert held[0].is_alive()  # evaluated while the first workspace's expression still runs
    finally:
        end(pools.dashboard, held)
    again = anna.get(url(mine, "preview/"), change('"Koppel " & order.number'), HTTP_HX_REQUEST="true")
    assert again.status_code == 200 and f"Koppel {B2C['number']}" in again.content.decode()


def test_the_edit_page_lets_htmx_show_a_busy_preview(pools: Any) -> None:  # noqa: F811
    mine = shop_of("bakkerij")
    page = user_in(mine.workspace, "anna").get(url(mine, "edit/"), {"map": SALES_ORDER, "target": "COMMENT2"})
    assert page.status_code == 200
    assert '{"code": "429", "swap": true}' in page.content.decode()  # HTMX swaps no 4xx unless told
