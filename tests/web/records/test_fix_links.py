"""A parked order's record page links the setting that fixes it, as the orders flow said when it parked the
order (the reason's form, not its words): a VAT rate with no VAT code, a payment method AccountView lacks and a
cost article it doesn't have, parked by the flow against both sandboxes, each link to their question on the
flow's settings page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import timezone

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity
from koppel.core.integrations.models import Integration
from koppel.demo import ORDER_SETTINGS
from koppel.sync.runner import Result
from tests.flows.world import World, start_world, sync_orders
from tests.web.alerts.test_views import user_in
from tests.web.records.test_views import integration_of, page

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    started = start_world(orders=6, articles=20)
    yield started
    started.stop()


def parked_by(world: World, **settings: object) -> Result:
    world.links = type(world.links)()  # each run from scratch: nothing linked
    results = sync_orders(world.flow(**settings), full=True)
    parked = [r for r in results if r.outcome == "needs_attention"]
    assert parked, [(r.key, r.outcome, r.reason) for r in results]
    return parked[0]


def record_page(shop: Integration, result: Result, client: object) -> str:
    now = timezone.now()
    activity, _ = Activity.objects.update_or_create(
        integration=shop, entity="order", key=result.key,
        defaults={"outcome": result.outcome, "reason": result.reason, "reason_args": result.reason_args,
                  "created_at": now, "updated_at": now})
    return page(client, f"/records/w/{shop.workspace_id}/records/{activity.pk}/")  # type: ignore[arg-type]


def test_a_vat_a_payment_method_and_a_cost_article_park_link_to_their_settings(world: World) -> None:
    mine = Workspace.objects.create(name="bakkerij")
    shop = integration_of(mine, "bakkerij-shop")
    anna = user_in(mine, "anna")
    settings = f"/setup/w/{mine.pk}/i/{shop.pk}/flows/orders/"

    no_vat_codes = {rate: code for rate, code in ORDER_SETTINGS["vat_codes"].items() if rate not in ("21", "NL:21")}
    vat = parked_by(world, vat_codes=no_vat_codes)
    assert "under VAT codes in the settings" in vat.reason and "vat_codes" not in vat.reason  # no name to spot
    text = record_page(shop, vat, anna)
    assert f'href="{settings}#q-vat_codes"' in text and "settings: VAT codes" in text

    payment = parked_by(world, payment_methods={"force": True, "default": "BITCOIN"})
    assert "payment methods table" in payment.reason and "payment_methods" not in payment.reason
    text = record_page(shop, payment, anna)
    assert f'href="{settings}#q-payment_methods"' in text and "settings: Payment methods" in text

    dutch = anna.get(f"/records/w/{mine.pk}/records/{Activity.objects.get(key=payment.key).pk}/",  # type: ignore[attr-defined]
                     HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert f"{settings}#q-payment_methods" in dutch and "Betaalwijzen" in dutch

    cost = parked_by(world, shipping_article="VERZEND-ONBEKEND")  # a cost article AccountView doesn't have
    assert "VERZEND-ONBEKEND" in cost.reason and "shipping_article" not in cost.reason
    text = record_page(shop, cost, anna)
    assert f'href="{settings}#q-shipping_article"' in text
