"""Test connection quotes the connector's own message in the user's language: a shop that answers 500 (its
operation and status as they were) is "nicht erreichbar" in German and "niet bereikbaar" in Dutch, with
MijnWebwinkel's message inside translated too; the wizard's test of the shop says the same."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox
from koppel.connectors.sandboxkit import Fault
from koppel.core.integrations.models import Connection
from tests.web.dashboard.test_connections import MODEL_BACKEND
from tests.web.world import World, build_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # the client retries the 500s


@pytest.fixture
def shop_box() -> Iterator[MijnWebwinkelSandbox]:
    with MijnWebwinkelSandbox(sizes=None) as box:
        yield box


@pytest.mark.parametrize(("language", "said"), [
    ("de", "MijnWebwinkel ist nicht erreichbar: MijnWebwinkel GET /orderstatuses antwortete 500: kapot"),
    ("nl", "MijnWebwinkel GET /orderstatuses antwoordde 500: kapot"),
])
def test_the_connectors_message_in_a_failed_test_is_in_the_users_language(
        shop_box: MijnWebwinkelSandbox, language: str, said: str) -> None:
    world: World = build_world()
    owner = Client()
    owner.force_login(world.mine.users["owner"], backend=MODEL_BACKEND)
    info = shop_box.info
    assert owner.post(f"/w/{world.mine.workspace.pk}/connections/new/mijnwebwinkel/",
                      {"name": "shop", "base_url": info.url, "token": info.token,
                       "partner_token": info.partner_token}).status_code == 302
    row = Connection.objects.get(workspace=world.mine.workspace, name="shop")
    shop_box.faults.add(Fault(kind="http_status", status=500, path="*/orderstatuses*", body='{"message": "kapot"}'))
    answer = owner.post(f"/w/{row.workspace_id}/connections/{row.pk}/test/", HTTP_HX_REQUEST="true",
                        HTTP_ACCEPT_LANGUAGE=language)
    text = answer.content.decode()
    assert said in text, text
    assert "answered 500" not in text
