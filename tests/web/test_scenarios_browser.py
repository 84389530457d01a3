"""A merchant's path through the dashboard in a real browser (Debian's Chromium), against both sandboxes over
real HTTP: a run of the orders flow parks an order for a reason a setting fixes; the merchant finds it among
the integration's records, reads why, follows the hint to the setting, changes it, comes back and retries,
and sees it sent. AccountView then holds it exactly once, however often it is retried after that. And an order
someone deleted in AccountView is sent again once the merchant has the link forgotten."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from koppel.core.activity.models import Activity, RecordAction
from koppel.demo import PAID
from tests.flows.test_credit_orders import CREDITED, credit, original_order
from tests.flows.world import World, start_world
from tests.web.browser_thread import BrowserThread
from tests.web.records.test_record_actions import delete_sales_order
from tests.web.scenarios import merchant_on, retries_worked_by_the_test, run_orders, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def world() -> Iterator[World]:
    started = start_world(orders=4, articles=20)
    yield started
    started.stop()


def outcome_on_the_page(page: Any) -> str:
    return str(page.inner_text("dd[class^=outcome-]"))


def test_a_parked_order_fixed_in_the_settings_and_retried_is_sent_exactly_once(
        live_server: Any, driver: BrowserThread, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    retries = retries_worked_by_the_test(monkeypatch)
    # Credit orders are parked until the settings say to book them (the shop's credit status is sent); their
    # reason names the setting (credit_orders), which the record's page links.
    merchant = merchant_on(world, "bakkerij", statuses=[*PAID, CREDITED])
    iid = merchant.integration.pk
    first = run_orders(iid, full=True)
    original = original_order(world, sent=[r["key"] for r in first["records"] if r["outcome"] == "sent"])
    number = credit(world, original)
    parked = {r["key"]: r for r in run_orders(iid, full=True)["records"]}[number]
    assert parked["outcome"] == "needs_attention" and world.sales_orders(number) == 0
    site, name = live_server.url, merchant.integration.name

    def find_it_and_read_why(page: Any) -> dict[str, str]:
        sign_in(page, site, merchant.username)
        page.click(f"main a:text-is('{name}')")
        page.click("main a:text-is('Records')")
        page.select_option("select[name=outcome]", "parked")
        page.click("form.filters button[type=submit]")
        page.click(f"table.records a:text-is('{number}')")
        return {"url": page.url, "reason": page.inner_text("dt:text-is('Reason') + dd"),
                "outcome": outcome_on_the_page(page)}

    found = driver(find_it_and_read_why)
    assert "credit_orders" in found["reason"] and str(original["number"]) in found["reason"], found
    assert "Fix it in the settings: Credit orders" in found["reason"] and found["outcome"] == "parked: needs attention"

    def fix_the_setting_and_retry(page: Any) -> str:
        page.click("a.fix")
        question = page.locator("#q-credit_orders")
        question.wait_for(state="attached")
        if not question.is_visible():  # among the settings folded under "More settings": unfold them
            page.click("details.more > summary")
        question.locator("select").select_option("book")
        page.click("form.settings button[type=submit]")
        page.wait_for_selector("text=Saved.")
        page.goto(found["url"])
        page.click("button:text-is('Retry now')")
        page.wait_for_selector(f"text={number} is being sent again.")
        return outcome_on_the_page(page)

    driver(fix_the_setting_and_retry)
    merchant.integration.refresh_from_db()
    assert merchant.integration.flows["orders"]["credit_orders"] == "book"
    assert [(r["key"], r["outcome"]) for r in retries.work()] == [(number, "sent")]

    def see_it_sent(page: Any) -> str:
        page.reload()
        return outcome_on_the_page(page)

    assert driver(see_it_sent) == "sent"
    assert world.sales_orders(number) == 1

    def retry_again(page: Any) -> str:
        page.click("button:text-is('Retry now')")
        page.wait_for_selector(f"text={number} is being sent again.")
        return outcome_on_the_page(page)

    for _ in range(2):
        driver(retry_again)
        assert [(r["key"], r["outcome"]) for r in retries.work()] == [(number, "skipped")]
        assert driver(see_it_sent) == "sent"
    assert world.sales_orders(number) == 1
    sent = Activity.objects.get(integration_id=iid, entity="order", key=number)
    assert sent.outcome == "sent" and sent.target_key
    assert list(RecordAction.objects.filter(key=number).values_list("kind", "by")) == [("retry", "anna")] * 3


def test_an_order_deleted_in_accountview_is_sent_again_once_its_link_is_forgotten(
        live_server: Any, driver: BrowserThread, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    retries = retries_worked_by_the_test(monkeypatch)
    merchant = merchant_on(world, "bakkerij")
    iid = merchant.integration.pk
    sent = next(r for r in run_orders(iid, full=True)["records"] if r["outcome"] == "sent")
    number = sent["key"]
    delete_sales_order(world, number)  # someone deleted it in AccountView
    site = live_server.url

    def search_it_and_forget_its_link(page: Any) -> str:
        sign_in(page, site, merchant.username)
        page.goto(f"{site}/records/w/{merchant.workspace.pk}/integrations/{iid}/records/")
        page.fill("input[name=q]", number)
        page.click("form.filters button[type=submit]")
        page.click(f"table.records a:text-is('{number}')")
        page.click("button:text-is('Forget the link and resync')")
        page.wait_for_selector(f"text=The link of {number} is forgotten; it is being sent again.")
        return outcome_on_the_page(page)

    driver(search_it_and_forget_its_link)
    assert [(r["key"], r["outcome"]) for r in retries.work()] == [(number, "sent")]

    def see_it_sent(page: Any) -> dict[str, str]:
        page.reload()
        return {"outcome": outcome_on_the_page(page),
                "target": page.inner_text("dt:text-is('Key in the target') + dd")}

    shown = driver(see_it_sent)
    assert world.sales_orders(number) == 1
    assert shown["outcome"] == "sent" and shown["target"] not in ("", "—", sent["target_key"]), shown
    assert list(RecordAction.objects.filter(key=number).values_list("kind", "by")) == [("resync", "anna")]
