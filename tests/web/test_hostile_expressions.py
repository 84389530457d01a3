"""A hostile mapping expression tried in the datamapper (its preview, then saving it) costs only that request:
on a real threaded server the other requests (the dashboard, the records, the maps, another preview with an
expression) keep answering while it is evaluated, and the hostile request ends with a clear error naming the
field whose expression failed and why. Nothing is saved. How fast the others answer meanwhile is measured by
bench/web_expressions.py (tests hold no time bounds)."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from koppel.core.accounts.models import Membership, Workspace
from koppel.core.activity.models import Activity
from koppel.core.integrations.models import Integration
from koppel.flows.order_mapping import SALES_ORDER
from tests.mapping.test_defaults import B2C
from tests.mapping.test_expressions import PATHOLOGICAL_PICTURE
from tests.web.datamapper.shared import integration_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
FIELD = "COMMENT2"
BENIGN = '"Koppel " & order.number'

# (expression, what the error says, whether it burns its whole time limit: then the others are seen answering
# while it runs; the others fail fast, and only have to leave the server and the evaluators healthy)
HOSTILE = {
    "toMillis backtracking": (PATHOLOGICAL_PICTURE, "ran longer than its time limit", True),
    "gigabytes": ('$pad("x", 1e9)', "used more memory than its limit", False),
    "endless recursion": ("($f := function($n){ 1 + $f($n + 1) }; $f(0))", "recursed deeper than its limit", False),
}


@dataclass
class Answered:
    what: str
    started: float
    ended: float
    status: int
    body: str

    def during(self, other: Answered) -> bool:
        return other.started < self.started and self.ended < other.ended


@pytest.fixture
def shop() -> Integration:
    integration = integration_of(Workspace.objects.create(name="bakkerij"), "bakkerij-shop")
    Activity.objects.create(integration=integration, entity="order", key=str(B2C["number"]), outcome="sent",
                            payload_in=B2C, created_at="2026-11-30T10:00Z", updated_at="2026-11-30T10:00Z")
    return integration


@pytest.fixture
def signed_in(live_server: Any, shop: Integration) -> Iterator[httpx.Client]:
    """A member's session on the live server (a real threaded server), as cookies for a plain HTTP client."""
    user = get_user_model().objects.create_user("anna", "anna@example.nl", "pw")
    Membership.objects.create(workspace=shop.workspace, user=user, role="member")
    django_client = Client()
    django_client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    with httpx.Client(base_url=live_server.url, timeout=120,
                      cookies={"sessionid": django_client.cookies["sessionid"].value}) as client:
        yield client


def timed(what: str, call: Callable[[], httpx.Response]) -> Answered:
    started = time.monotonic()
    answer = call()
    return Answered(what, started, time.monotonic(), answer.status_code, answer.text)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_expression_costs_only_its_own_request(signed_in: httpx.Client, shop: Integration,
                                                         kind: str) -> None:
    expression, error, burns = HOSTILE[kind]
    mapper = f"/datamapper/w/{shop.workspace_id}/integrations/{shop.pk}/"
    change = {"map": SALES_ORDER, "target": FIELD, "origin": "expr"}
    ordinary: dict[str, Callable[[], httpx.Response]] = {
        "dashboard": lambda: signed_in.get("/"),
        "records": lambda: signed_in.get(f"/records/w/{shop.workspace_id}/integrations/{shop.pk}/records/"),
        "maps": lambda: signed_in.get(mapper),
        "benign preview": lambda: signed_in.get(mapper + "preview/", params={**change, "value": BENIGN}),
    }
    csrf = signed_in.get(mapper + "edit/", params={"map": SALES_ORDER, "target": FIELD}).cookies["csrftoken"]
    hostile: list[Answered] = []

    def attacker() -> None:
        hostile.append(timed("preview", lambda: signed_in.get(mapper + "preview/",
                                                               params={**change, "value": expression})))
        hostile.append(timed("save", lambda: signed_in.post(mapper + "edit/", data={
            **change, "value": expression, "csrfmiddlewaretoken": csrf})))

    thread = threading.Thread(target=attacker)
    thread.start()
    others: list[Answered] = []
    while thread.is_alive() or len(others) < len(ordinary):  # every kind at least once, and on until it ends
        for what, call in ordinary.items():
            others.append(timed(what, call))
    thread.join()

    assert [(o.what, o.status) for o in others if o.status != 200] == []
    assert all(f"Koppel {B2C['number']}" in o.body for o in others if o.what == "benign preview")
    preview, save = hostile
    assert preview.status == 200
    assert f"{FIELD} (from expression '{expression}'): the expression failed: the expression {error}" \
        in html.unescape(preview.body)
    assert save.status == 422
    assert f"{FIELD}: the expression fails on a recent record: the expression {error}" in html.unescape(save.body)
    shop.refresh_from_db()
    assert not shop.mapping_overrides  # refused: nothing saved
    if burns:
        for attempt in hostile:
            assert any(o.during(attempt) for o in others), f"no other request was answered during the {attempt.what}"
    after = ordinary["benign preview"]()  # the evaluators are healthy again
    assert after.status_code == 200 and f"Koppel {B2C['number']}" in after.text
