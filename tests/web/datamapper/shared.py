"""What the datamapper's tests share: an integration, and a real order of the sandbox read into its activity log
(the `world` fixture, both sandboxes, is in conftest.py)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity
from koppel.core.integrations.models import Connection, Integration
from koppel.flows.order_mapping import order_source
from tests.flows.world import SETTINGS, World


def integration_of(workspace: Workspace, name: str) -> Integration:
    shop = Connection.objects.create(workspace=workspace, name=f"{name}-winkel", system="mijnwebwinkel")
    books = Connection.objects.create(workspace=workspace, name=f"{name}-boeken", system="accountview",
                                     settings={"base_url": "http://127.0.0.1:9", "company_id": "1"})
    return Integration.objects.create(workspace=workspace, name=name, shop=shop, books=books,
                                      flows={"orders": SETTINGS})


def read_order(integration: Integration, world: World, number: Any) -> dict[str, Any]:
    """The order as the activity log keeps it after the flow read it."""
    payload = order_source(world.shop.get_order(number))
    now = timezone.now()
    Activity.objects.create(integration=integration, entity="order", key=str(number), outcome="sent",
                            payload_in=payload, created_at=now, updated_at=now)
    return payload


def an_order(world: World) -> dict[str, Any]:
    return next(o for o in world.shop_sandbox.state.orders.values()
                if o["status"] in (3, 6) and not str(o["number"]).startswith("T"))
