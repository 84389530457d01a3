"""The datamapper: the maps shown with the integration's overrides marked; an override saved in the page
reaches the wire on the next sync; what `koppel integration apply` refuses (an unknown field, a constant
longer than its field, an expression failing on a recent record) is refused here and nothing is saved; the
preview shows the mapped value from a real recent record; read-only members look but don't save; another
workspace's integration is 404."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from koppel.core.accounts.models import Membership, Workspace
from koppel.core.integrations.models import Integration
from koppel.flows.order_mapping import DEBTOR_PERSON, SALES_ORDER
from koppel.flows.orders import OrdersFlow
from koppel.flows.settings import OrdersSettings
from tests.flows.world import SETTINGS, World, sync_orders
from tests.web.datamapper.shared import an_order, integration_of, read_order

pytestmark = pytest.mark.django_db
BACKEND = "django.contrib.auth.backends.ModelBackend"


def user_in(workspace: Workspace, name: str, role: str = "member") -> Client:
    user = get_user_model().objects.create_user(name, f"{name}@example.nl", "pw")
    Membership.objects.create(workspace=workspace, user=user, role=role)
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


@pytest.fixture
def mine() -> Integration:
    return integration_of(Workspace.objects.create(name="bakkerij"), "bakkerij-shop")


def url(integration: Integration, page: str = "") -> str:
    return f"/datamapper/w/{integration.workspace_id}/integrations/{integration.pk}/{page}"


def save(client: Client, integration: Integration, map_name: str, target: str, origin: str, value: str,
         **extra: str) -> Any:
    return client.post(url(integration, "edit/"), {"map": map_name, "target": target, "origin": origin,
                                                    "value": value, **extra})


def test_the_maps_are_shown_with_the_overrides_marked(mine: Integration) -> None:
    mine.mapping_overrides = {DEBTOR_PERSON: {"fields": {"TEL_BUS": {"const": "0201234567"}}, "remove": ["IBAN_NR"]}}
    mine.save()
    page = user_in(mine.workspace, "anna").get(url(mine)).content.decode()
    person = page[page.index(f'id="{DEBTOR_PERSON}"'):]
    person = person[:person.index("</section>")]
    tel = person[person.index("TEL_BUS"):]
    assert "changed" in tel[:200] and "0201234567" in tel[:600]
    assert "order.debtor.email" in person  # a default row, as the default map says
    assert "not filled (removed)" in person[person.index("IBAN_NR"):][:600]
    assert "av_article_to_mww_article" in page  # the products flow's maps too
    dutch = user_in(mine.workspace, "bert").get(url(mine), HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Doelveld" in dutch and "gewijzigd" in dutch
    assert "<h2>Bestellingen</h2>" in dutch and "<h2>Orders</h2>" in page  # each flow by its name
    integration_page = user_in(mine.workspace, "carla").get(
        f"/w/{mine.workspace_id}/integrations/{mine.pk}/").content.decode()
    assert url(mine) in integration_page  # the integration's page links here


def test_an_override_saved_in_the_page_reaches_the_wire(mine: Integration, world: World) -> None:
    order = an_order(world)
    read_order(mine, world, order["number"])
    owner = user_in(mine.workspace, "anna", "owner")
    answer = save(owner, mine, SALES_ORDER, "COMMENT2", "expr", '"Koppel " & order.number')
    assert answer.status_code == 302, answer.content.decode()
    mine.refresh_from_db()
    assert mine.mapping_overrides == {SALES_ORDER: {"fields": {"COMMENT2": {"expr": '"Koppel " & order.number'}}}}

    flow = OrdersFlow(world.shop, world.books, OrdersSettings.model_validate(SETTINGS), world.links,
                      mapping_overrides=mine.mapping_overrides)
    sent = [r for r in sync_orders(flow) if r.outcome == "sent"]
    assert sent
    comments = {row.get("COMMENT2") for row in world.books_sandbox.rows("SO_HDR")}
    assert f"Koppel {order['number']}" in comments


@pytest.mark.parametrize(("target", "origin", "value", "reason"), [
    ("NO_SUCH_FIELD", "const", "x", "CONTACT has no field 'NO_SUCH_FIELD'"),
    ("TEL_BUS", "const", "0" * 200, "allows"),
    ("TEL_BUS", "expr", "$number(order.debtor.email) + 1", "expression"),
    ("TEL_BUS", "expr", "order.(", "expression"),
    ("TEL_BUS", "source", "order..email", "TEL_BUS"),
])
def test_an_invalid_override_is_refused_and_nothing_is_saved(
    mine: Integration, world: World, target: str, origin: str, value: str, reason: str
) -> None:
    read_order(mine, world, an_order(world)["number"])
    before = {DEBTOR_PERSON: {"fields": {"IBAN_NR": {"const": "NL00TEST0123456789"}}}}
    Integration.objects.filter(pk=mine.pk).update(mapping_overrides=before)
    answer = save(user_in(mine.workspace, "anna"), mine, DEBTOR_PERSON, target, origin, value)
    page = html.unescape(answer.content.decode())
    assert answer.status_code == 422 and "Not saved" in page and reason in page
    mine.refresh_from_db()
    assert mine.mapping_overrides == before


def test_the_preview_shows_the_mapped_value_of_a_recent_record(mine: Integration, world: World) -> None:
    order = an_order(world)
    read_order(mine, world, order["number"])
    anna = user_in(mine.workspace, "anna", "read_only")  # previewing changes nothing: read-only may
    answer = anna.get(url(mine, "preview/"), {"map": DEBTOR_PERSON, "target": "TEL_BUS", "origin": "expr",
                                              "value": '"#" & order.number', "record": str(order["number"])},
                      HTTP_HX_REQUEST="true")
    page = answer.content.decode()
    assert answer.status_code == 200
    assert f"#{order['number']}" in page and order["debtor"]["email"].lower() in page
    bad = anna.get(url(mine, "preview/"), {"map": DEBTOR_PERSON, "target": "TEL_BUS", "origin": "const",
                                           "value": "0" * 30}).content.decode()
    assert "TEL_BUS" in bad and "allows 20" in bad


def test_the_form_offers_the_fields_of_a_recent_record_and_the_dictionary(mine: Integration, world: World) -> None:
    order = an_order(world)
    read_order(mine, world, order["number"])
    page = user_in(mine.workspace, "anna").get(url(mine, "edit/"), {"map": DEBTOR_PERSON, "target": "TEL_BUS"})
    text = page.content.decode()
    assert "order.debtor.email" in text and order["debtor"]["email"] in text
    assert "TEL_BUS — text" in text and "at most" in text


def test_read_only_members_look_but_cannot_save(mine: Integration) -> None:
    reader = user_in(mine.workspace, "bert", "read_only")
    assert reader.get(url(mine)).status_code == 200
    assert save(reader, mine, DEBTOR_PERSON, "TEL_BUS", "const", "1").status_code == 403
    answer = reader.post(url(mine, "undo/"), {"map": DEBTOR_PERSON, "target": "TEL_BUS", "action": "remove"})
    assert answer.status_code == 403
    mine.refresh_from_db()
    assert mine.mapping_overrides == {}


def test_another_workspaces_integration_is_404(mine: Integration) -> None:
    theirs = integration_of(Workspace.objects.create(name="slagerij"), "slagerij-shop")
    anna = user_in(mine.workspace, "anna", "owner")
    for page in ("", f"edit/?map={DEBTOR_PERSON}", f"preview/?map={DEBTOR_PERSON}"):
        assert anna.get(url(theirs, page)).status_code == 404
    # their integration under my workspace's id, too
    assert anna.get(f"/datamapper/w/{mine.workspace_id}/integrations/{theirs.pk}/").status_code == 404
    assert save(anna, theirs, DEBTOR_PERSON, "TEL_BUS", "const", "1").status_code == 404
    theirs.refresh_from_db()
    assert theirs.mapping_overrides == {}


def test_undo_brings_the_default_back_and_removing_stops_filling(mine: Integration) -> None:
    owner = user_in(mine.workspace, "anna", "owner")
    assert save(owner, mine, DEBTOR_PERSON, "TEL_BUS", "const", "0201234567").status_code == 302
    owner.post(url(mine, "undo/"), {"map": DEBTOR_PERSON, "target": "TEL_BUS", "action": "reset"})
    mine.refresh_from_db()
    assert mine.mapping_overrides == {}
    owner.post(url(mine, "undo/"), {"map": DEBTOR_PERSON, "target": "IBAN_NR", "action": "remove"})
    mine.refresh_from_db()
    assert mine.mapping_overrides == {DEBTOR_PERSON: {"remove": ["IBAN_NR"]}}


def test_read_only_members_see_the_form_without_save_and_a_new_field_of_a_product_map(mine: Integration) -> None:
    reader = user_in(mine.workspace, "bert", "read_only")
    page = reader.get(url(mine, "edit/"), {"map": DEBTOR_PERSON, "target": "TEL_BUS"}).content.decode()
    form = page[page.index('id="mapping-form"'):page.index("</form>", page.index('id="mapping-form"'))]
    assert "order.debtor.address.invoice.phone" in form and 'type="submit"' not in form
    new = user_in(mine.workspace, "carla").get(url(mine, "edit/"), {"map": "av_article_to_mww_article"})
    # no article read yet: the fields offered are the example article's
    assert new.status_code == 200 and "Fields of the example record" in new.content.decode()
    assert "article.long_description" in new.content.decode()
    assert reader.get(url(mine, "edit/"), {"map": "no_such_map"}).status_code == 404


def test_transforms_given_in_the_form_replace_the_defaults_and_only_differences_are_stored(
    mine: Integration,
) -> None:
    owner = user_in(mine.workspace, "anna", "owner")
    same = save(owner, mine, DEBTOR_PERSON, "CITY", "source", "order.debtor.address.invoice.city",
                transforms='["trim", {"name": "truncate", "args": {"length": 35}}]', only_create="on")
    assert same.status_code == 302
    mine.refresh_from_db()
    assert mine.mapping_overrides == {DEBTOR_PERSON: {"fields": {"CITY": {
        "source": "order.debtor.address.invoice.city"}}}}
    upper = save(owner, mine, DEBTOR_PERSON, "CITY", "source", "order.debtor.address.invoice.city",
                 transforms='["trim", "upper"]')
    assert upper.status_code == 302
    mine.refresh_from_db()
    assert mine.mapping_overrides == {DEBTOR_PERSON: {"fields": {"CITY": {
        "source": "order.debtor.address.invoice.city", "transforms": ["trim", "upper"], "only_create": False}}}}
    refused = save(owner, mine, DEBTOR_PERSON, "CITY", "source", "order.debtor.address.invoice.city",
                   transforms='["no_such_transform"]')
    assert refused.status_code == 422 and "no_such_transform" in refused.content.decode()
