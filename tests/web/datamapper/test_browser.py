"""The datamapper in a real browser (Debian's Chromium): change a field to an expression, watch the live
preview (HTMX) show the value a recent order maps to, save, and the next sync carries it to AccountView; in
Dutch and German at 1280 px, no English description, and the company-debtor map previewed on a company's
order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from koppel.connectors.mijnwebwinkel.models import Order
from koppel.core.accounts.models import Membership, Profile, Workspace
from koppel.core.activity.models import Activity
from koppel.flows.order_mapping import DEBTOR_COMPANY, SALES_ORDER, order_source
from koppel.flows.orders import OrdersFlow
from koppel.flows.settings import OrdersSettings
from tests.flows.world import SETTINGS, World, sync_orders
from tests.mapping.test_defaults import B2B_NL, B2C
from tests.web.browser_thread import BrowserThread
from tests.web.datamapper.shared import an_order, integration_of, read_order
from tests.web.datamapper.test_words import descriptions
from tests.web.scenarios import PASSWORD, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]


def test_an_override_previewed_and_saved_in_the_browser_reaches_the_wire(
    live_server: Any, driver: BrowserThread, world: World, koppel_data_dir: Path
) -> None:
    mine = integration_of(Workspace.objects.create(name="bakkerij"), "bakkerij-shop")
    order = an_order(world)
    read_order(mine, world, order["number"])
    user = get_user_model().objects.create_user("anna", "anna@example.nl", PASSWORD)
    Membership.objects.create(workspace=mine.workspace, user=user, role="member")
    site = live_server.url
    expression = '"Koppel " & order.number'

    def change_and_preview(page: Any) -> str:
        sign_in(page, site, "anna")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{site}/datamapper/w/{mine.workspace_id}/integrations/{mine.pk}/")
        # every map fits the screen: long expressions wrap in their cells (the tables were 1394 px wide)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        page.click(f"#{SALES_ORDER} tr:has-text('COMMENT2') a")
        page.check("input[name=origin][value=expr]")
        page.fill("#value", expression)
        page.wait_for_selector(f"#preview tr.overridden:has-text('Koppel {order['number']}')")
        return str(page.inner_text("#preview"))

    def save(page: Any) -> str:
        page.click("#mapping-form button[type=submit]")
        page.wait_for_selector(".messages")
        return str(page.inner_text("main"))

    assert f"Koppel {order['number']}" in driver(change_and_preview)
    assert "The mapping of COMMENT2 is saved." in driver(save)
    mine.refresh_from_db()
    assert mine.mapping_overrides[SALES_ORDER]["fields"]["COMMENT2"]["expr"] == expression

    flow = OrdersFlow(world.shop, world.books, OrdersSettings.model_validate(SETTINGS), world.links,
                      mapping_overrides=mine.mapping_overrides)
    assert [r for r in sync_orders(flow) if r.outcome == "sent"]
    assert f"Koppel {order['number']}" in {row.get("COMMENT2") for row in world.books_sandbox.rows("SO_HDR")}


@pytest.mark.parametrize(("language", "company_hint"), [
    ("nl", "Voor een bestelling met een bedrijfsnaam."),
    ("de", "Für eine Bestellung mit Firmennamen."),
])
def test_the_datamapper_in_dutch_and_german_fits_1280_px_and_says_no_english(
    live_server: Any, driver: BrowserThread, language: str, company_hint: str
) -> None:
    mine = integration_of(Workspace.objects.create(name="bakkerij"), "bakkerij-shop")
    company = order_source(Order.model_validate(B2B_NL))
    consumer = order_source(Order.model_validate(B2C))
    for minutes, order in ((30, company), (1, consumer)):  # the newest order is a consumer's
        at = timezone.now() - timedelta(minutes=minutes)
        Activity.objects.create(integration=mine, entity="order", key=str(order["number"]), outcome="sent",
                                payload_in=order, created_at=at, updated_at=at)
    user = get_user_model().objects.create_user("anna", "anna@example.nl", PASSWORD)
    Membership.objects.create(workspace=mine.workspace, user=user, role="member")
    Profile.objects.create(user=user, language=language)
    site = live_server.url
    english = descriptions()

    def look(page: Any) -> tuple[str, int, str, int]:
        page.set_viewport_size({"width": 1280, "height": 800})
        sign_in(page, site, "anna")
        page.goto(f"{site}/datamapper/w/{mine.workspace_id}/integrations/{mine.pk}/")
        index = (str(page.inner_text("main")), int(page.evaluate("document.documentElement.scrollWidth")))
        page.click(f"#{DEBTOR_COMPANY} tr:has-text('ACCT_NAME') a")
        page.wait_for_selector("#preview table.mapped")
        return (*index, str(page.inner_text("main")), int(page.evaluate("document.documentElement.scrollWidth")))

    index, index_width, edit, edit_width = driver(look)
    assert index_width <= 1280 and edit_width <= 1280
    assert [text for text in english if text in index or text in edit] == []
    assert company_hint in index
    # the company-debtor map's preview is the company's order, not the newest (a consumer's)
    assert "Voorbeeldig BV" in edit and "Jan Jansen" not in edit
