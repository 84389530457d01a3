"""Fixing a setting frees what it held back, in a real browser against both sandboxes: orders the shop marks
status 2 existed before the first run, which (statuses 3 and 6) never listed them; the owner adds status 2 on
the orders settings page, the banner after saving says how many orders would now go through, its link leads to
the offer on the records page, one click retries them, and AccountView holds each of them exactly once (the
parked ones stay parked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from koppel.core.accounts.models import Membership, Workspace
from koppel.core.activity.models import Activity
from koppel.core.integrations.models import Integration
from koppel.demo import INTEGRATION, DemoWorld, prepare
from tests.sync.test_retry_offers import in_place, run_orders  # noqa: F401  (a fixture)
from tests.web.browser_thread import BrowserThread
from tests.web.scenarios import PASSWORD, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoWorld]:
    world = prepare(tmp_path, orders=30, articles=30)
    yield world
    world.sandboxes.stop()


def test_adding_a_status_offers_the_orders_it_held_back_and_one_click_sends_them_once(
        live_server: Any, driver: BrowserThread, demo: DemoWorld, in_place: list[list[str]]) -> None:  # noqa: F811
    integration = Integration.objects.get(name=INTEGRATION)
    books = demo.sandboxes.books
    status_2 = sorted(str(o["number"]) for o in demo.sandboxes.shop.state.orders.values() if o["status"] == 2)
    first = run_orders(integration.pk)
    parked = [r["key"] for r in first["records"] if r["outcome"] == "needs_attention"]
    # The shop's listing in statuses 3 and 6 never named them: no activity, and the cursor moved past them.
    assert not Activity.objects.filter(key__in=status_2).exists()
    user = get_user_model().objects.create_user("olga", "olga@example.nl", PASSWORD)
    Membership.objects.create(workspace=Workspace.objects.get(name="demo"), user=user, role="owner")
    site = live_server.url

    def add_status_2(page: Any) -> str:
        page.set_viewport_size({"width": 1280, "height": 800})
        sign_in(page, site, "olga")
        page.goto(f"{site}/setup/w/{integration.workspace_id}/i/{integration.pk}/flows/orders/")
        page.check("input[name=statuses][value='2']")
        page.click("form.settings button[type=submit]")
        page.wait_for_selector("ul.messages")
        return str(page.inner_text("ul.messages"))

    banner = driver(add_status_2)
    assert f"{len(status_2)} records would now go through." in banner, banner

    def take_the_offer(page: Any) -> str:
        page.click("ul.messages >> text=Retry them")
        page.wait_for_selector("#offer-orders")
        offer = str(page.inner_text("#offer-orders"))
        page.click("#offer-orders button[type=submit]")
        page.wait_for_selector("text=records are being sent again")
        return offer

    offer = driver(take_the_offer)
    assert all(number in offer.split("The rest would still park")[0] for number in status_2), offer
    assert all(number in offer.split("The rest would still park")[1] for number in parked), offer
    assert in_place == [status_2]
    assert all(books.sales_orders_for(number) == 1 for number in status_2)  # each exactly once
    assert all(books.sales_orders_for(number) == 0 for number in parked)
    assert {a.outcome for a in Activity.objects.filter(key__in=parked)} == {"needs_attention"}
