"""Each map is previewed on a record the flow applies it to: the company-debtor map on an order with a company
name even when the newest order is a consumer's, the person-debtor map on a consumer's, the delivery-address map
on an order shipped elsewhere, the category map on an article group, the product map on a variant product as
the flow maps it (the parent's code as SKU, no EAN). Without such a record the page says so and uses a built-in
example, never a record the map does not apply to; every example maps without a problem."""

from __future__ import annotations

import copy
import html
import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from koppel.connectors.mijnwebwinkel.models import Order
from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity
from koppel.core.integrations.models import Integration
from koppel.flows.order_mapping import (
    COST_LINE,
    DEBTOR_COMPANY,
    DEBTOR_PERSON,
    DELIVERY_ADDRESS,
    INVOICE,
    order_source,
)
from koppel.flows.product_mapping import ARTICLE_MAP, CATEGORY_MAP
from koppel.web.datamapper import maps
from tests.mapping.test_defaults import B2B_BE, B2B_NL, B2C
from tests.web.datamapper.shared import integration_of
from tests.web.datamapper.test_views import url, user_in

pytestmark = pytest.mark.django_db
READERS = itertools.count()


@pytest.fixture
def mine() -> Integration:
    return integration_of(Workspace.objects.create(name="bakkerij"), "bakkerij-shop")


def read(integration: Integration, entity: str, key: str, payload: Any, minutes_ago: int) -> None:
    """A record as the activity log keeps it after the flow read it, `minutes_ago`."""
    at = timezone.now() - timedelta(minutes=minutes_ago)
    Activity.objects.create(integration=integration, entity=entity, key=key, outcome="sent", payload_in=payload,
                            created_at=at, updated_at=at)


def read_order(integration: Integration, fixture: dict[str, Any], minutes_ago: int) -> dict[str, Any]:
    payload = order_source(Order.model_validate(fixture))
    read(integration, "order", str(payload["number"]), payload, minutes_ago)
    return payload


def preview(integration: Integration, map_name: str, language: str = "en", **extra: str) -> str:
    answer = user_in(integration.workspace, f"reader{next(READERS)}", "read_only").get(
        url(integration, "preview/"), {"map": map_name, **extra}, HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 200
    return html.unescape(answer.content.decode())


def test_the_company_debtor_map_shows_a_company_order_even_when_the_newest_is_a_consumers(
    mine: Integration,
) -> None:
    company = read_order(mine, B2B_NL, minutes_ago=30)
    for n in range(15):  # a busy consumer shop: the newest orders are all consumers'
        consumer = copy.deepcopy(B2C)
        consumer["number"] = f"{9000 + n}"
        read_order(mine, consumer, minutes_ago=n)
    page = preview(mine, DEBTOR_COMPANY)
    assert "Voorbeeldig BV" in page and f"order {company['number']}" in page
    assert "Jan Jansen" not in page and "example order" not in page
    # asked for a consumer's order by its number, the company map still takes a company order
    assert "Voorbeeldig BV" in preview(mine, DEBTOR_COMPANY, record="9000")
    person = preview(mine, DEBTOR_PERSON)
    assert "Jan Jansen" in person and "order 9000:" in person and "Voorbeeldig" not in person
    form = user_in(mine.workspace, "anna").get(url(mine, "edit/"), {"map": DEBTOR_COMPANY}).content.decode()
    offered = form[form.index('id="record"'):form.index("</select>", form.index('id="record"'))]
    assert f'value="{company["number"]}"' in offered and 'value="9000"' not in offered


def test_without_a_fitting_record_the_preview_says_so_and_uses_an_example(mine: Integration) -> None:
    read_order(mine, B2C, minutes_ago=1)  # a consumer's order only
    page = preview(mine, DEBTOR_COMPANY)
    assert "No order with a company name seen yet: the preview uses an example order." in page
    assert "Bakkerij De Korenschoof B.V." in page and "example order 12345" in page and "Jan Jansen" not in page
    dutch = preview(mine, DEBTOR_COMPANY, "nl")
    assert "Nog geen bestelling met een bedrijfsnaam gezien" in dutch and "Bakkerij De Korenschoof B.V." in dutch
    german = preview(mine, DEBTOR_COMPANY, "de")
    assert "Noch keine Bestellung mit Firmennamen gesehen" in german
    # B2C ships to its invoice address: no delivery address is made for it, so the example shows one
    assert "No order delivered to another address" in preview(mine, DELIVERY_ADDRESS)
    read_order(mine, B2B_BE, minutes_ago=2)  # delivered elsewhere (Germany)
    delivery = preview(mine, DELIVERY_ADDRESS)
    assert "No order delivered" not in delivery and f"order {B2B_BE['number']}" in delivery
    assert "Jan Jansen" in preview(mine, DEBTOR_PERSON)  # a map its record fits says nothing of examples


def test_the_invoice_is_previewed_in_the_journal_the_settings_name(mine: Integration) -> None:
    assert "<td>DJ_CODE</td><td><code>VK</code>" in preview(mine, INVOICE).replace("\n", "")  # an example
    Integration.objects.filter(pk=mine.pk).update(flows={"orders": {**mine.flows["orders"], "invoice_journal": "vk2"}})
    mine.refresh_from_db()
    assert "<td>DJ_CODE</td><td><code>VK2</code>" in preview(mine, INVOICE).replace("\n", "")


def test_the_cost_line_map_skips_orders_without_cost_lines(mine: Integration) -> None:
    with_costs = read_order(mine, B2B_NL, minutes_ago=5)
    plain = copy.deepcopy(B2C)
    plain["orderlines"] = [line for line in plain["orderlines"] if line["type"] == "article"]
    read_order(mine, plain, minutes_ago=1)
    page = preview(mine, COST_LINE)
    assert f"order {with_costs['number']}" in page and "nothing this map reads" not in page
    costs = [line for line in with_costs["orderlines"] if line["type"] in ("shipping", "payment", "discount")]
    assert costs and all(f"Line “{line['description']}”" in page for line in costs)  # each line headed by its name


def test_products_maps_are_previewed_on_their_own_records(mine: Integration) -> None:
    examples = user_in(mine.workspace, "anna").get(url(mine, "edit/"), {"map": ARTICLE_MAP}).content.decode()
    assert "KP-001-00004 (example)" in examples and "SHIRT-0001, 2 variants (example)" in examples
    page = preview(mine, CATEGORY_MAP)  # nothing read yet
    assert "No article group read from AccountView yet" in page and "Textiel en mode" in page
    read(mine, "category", "DRANK", {"code": "DRANK", "description": "Dranken"}, minutes_ago=1)
    category = preview(mine, CATEGORY_MAP)
    assert "Dranken" in category and "What would be sent for article group DRANK" in category

    variants = maps.examples(ARTICLE_MAP)[1].payload[1:]  # a variant product without an article of its own
    read(mine, "product", "SHIRT-0001", variants, minutes_ago=1)
    Integration.objects.filter(pk=mine.pk).update(flows={**mine.flows, "products": {"variants": {
        "rule": "parent_field", "parent_field": "ART_PARENT",
        "attributes": [{"list_name": "Kleur", "field": "ART_COLOUR"}, {"list_name": "Maat", "field": "ART_SIZE"}]}}})
    mine.refresh_from_db()
    product = preview(mine, ARTICLE_MAP).replace("\n", "")
    assert "product SHIRT-0001" in product
    assert "<td>sku</td><td><code>SHIRT-0001</code>" in product
    # named as the flow names it: the first variant's name without its option values ("… blauw L")
    assert "<td>name</td><td><code>Handgemaakte shirt</code>" in product
    assert "barcode" not in product  # a variant product has no EAN of its own
    assert "stock" not in product.split("Value sent")[1]  # nor a starting stock: each variant has its own


def test_every_map_has_a_kind_and_its_examples_map_without_a_problem(mine: Integration) -> None:
    assert set(maps.KINDS) == set(maps.known_maps())
    for map_name, kind in maps.KINDS.items():
        examples = maps.examples(map_name)
        assert examples, map_name
        for example in examples:
            assert kind.applies(example.payload), (map_name, example.key)
            inputs = maps.map_inputs(mine, map_name, example)
            assert inputs, (map_name, example.key)
            for source in inputs:
                result = maps.preview(mine, map_name, {}, source)
                assert result.problems == [] and result.row, (map_name, example.key, result.problems)
    # the company example is no consumer's and the person example no company's
    assert not maps.KINDS[DEBTOR_PERSON].applies(maps.examples(DEBTOR_COMPANY)[0].payload)
    assert not maps.KINDS[DEBTOR_COMPANY].applies(maps.examples(DEBTOR_PERSON)[0].payload)
