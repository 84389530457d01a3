"""The records pages in a real browser at 1280 px: the reason of a parked order is readable in full (no
column off-screen, no sideways scrolling), and on its page a member skips it, sees it skipped, and
unskips it (which starts its retry). Long e-mail addresses and field names wrap only after @ . _ / (never
"jan@exam|ple.nl" or "ARTI|CLE"), and the pages still fit 1280 px. The privacy page says at once that an erasure
was requested and follows it by itself until the worker has done it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from koppel.core.accounts.models import Membership, Workspace
from koppel.core.activity.models import Activity, RecordAction, Skip
from koppel.core.integrations.models import Integration
from koppel.sync import record_actions
from tests.web.browser_thread import BrowserThread
from tests.web.records.test_views import LONG_REASON, integration_of, record
from tests.web.scenarios import PASSWORD, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]
LONG_EMAIL = "johannes.van.den.bergh-vermeulen@bakkerij-van-den-bergh-voorbeeld.nl"
LONG_FIELD = "SalesOrderIn.DeliveryAddress.ContactPerson.MAIL_BUS_SECONDARY_CONTACT"
# Where each line of an element's text ends: the last character before every line break (read from the
# rectangles of the characters, as the browser laid them out), and the text itself.
LINE_ENDS = """(selector) => {
    const element = document.querySelector(selector);
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    const chars = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const box = range.getClientRects()[0];
            if (box) chars.push([node.data[i], box.top]);
        }
    }
    const ends = [];
    for (let i = 1; i < chars.length; i++) if (chars[i][1] > chars[i - 1][1] + 2) ends.push(chars[i - 1][0]);
    return {text: chars.map(c => c[0]).join(''), ends: ends};
}"""


def test_the_reason_fits_at_1280_px_and_a_member_skips_and_unskips(
        live_server: Any, driver: BrowserThread, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(record_actions, "starter", lambda flow, name, keys: started.append(keys))
    workspace = Workspace.objects.create(name="bakkerij")
    user = get_user_model().objects.create_user("anna", "anna@example.nl", PASSWORD)
    Membership.objects.create(workspace=workspace, user=user, role="member")
    shop = integration_of(workspace, "bakkerij-shop")
    parked = record(shop, "1001", reason=LONG_REASON, email="piet@example.nl")
    record(shop, "1002", "sent", "sales order 5", target_key="SO-5")
    site = live_server.url

    def sign_in_and_read_the_list(page: Any) -> dict[str, float]:
        page.set_viewport_size({"width": 1280, "height": 800})
        sign_in(page, site, "anna")
        page.goto(f"{site}/records/w/{workspace.pk}/integrations/{shop.pk}/records/?q=VAT+code+21")
        cell = page.locator("table.records tbody tr td").nth(4)
        assert "then retry the order" in cell.inner_text()
        return dict(page.evaluate("""() => {
            const cell = document.querySelectorAll('table.records tbody tr td')[4].getBoundingClientRect();
            return {right: cell.right, width: window.innerWidth,
                    scroll: document.documentElement.scrollWidth};
        }"""))

    measured = driver(sign_in_and_read_the_list)
    assert measured["right"] <= measured["width"] and measured["scroll"] <= measured["width"], measured

    def skip_it(page: Any) -> str:
        page.click(f"a[href='/records/w/{workspace.pk}/records/{parked.pk}/']")
        page.click("text=Skip: never send")
        page.wait_for_selector("text=Unskip and send")
        return str(page.inner_text("main"))

    skipped = driver(skip_it)
    assert "skipped by anna" in skipped and Skip.objects.filter(key="1001").exists()

    def unskip_it(page: Any) -> str:
        page.click("text=Unskip and send")
        page.wait_for_selector("text=Skip: never send")
        return str(page.inner_text("main"))

    unskipped = driver(unskip_it)
    assert "no longer skipped" in unskipped and started == [["1001"]]
    assert Activity.objects.get(pk=parked.pk).outcome == "needs_attention"
    assert list(RecordAction.objects.values_list("kind", flat=True).order_by("pk")) == ["skip", "unskip"]



def test_the_fix_link_opens_more_settings_on_the_setting(live_server: Any, driver: BrowserThread,
                                                         tmp_path: Path) -> None:
    from koppel.demo import INTEGRATION, prepare
    from koppel.reasons import fixed_in, reason

    demo = prepare(tmp_path, orders=12, articles=10)  # the settings page reads AccountView's codes: real systems
    try:
        workspace = Workspace.objects.get(name="demo")
        user = get_user_model().objects.create_user("anna", "anna@example.nl", PASSWORD)
        Membership.objects.create(workspace=workspace, user=user, role="member")
        why = fixed_in("credit_orders", reason("Order {order} is a credit order.", order="7001"))
        parked = record(Integration.objects.get(name=INTEGRATION), "7001", reason=why, reason_args=why.as_args())
        site = live_server.url

        def follow_the_fix_link(page: Any) -> dict[str, Any]:
            sign_in(page, site, "anna")
            page.goto(f"{site}/records/w/{workspace.pk}/records/{parked.pk}/")
            link = str(page.inner_text("a.fix"))
            page.click("a.fix")
            page.locator("#q-credit_orders").wait_for(state="visible")  # no click on "More settings": it opened
            return {"link": link, "url": page.url, "folded_in": page.evaluate(
                "() => { const d = document.getElementById('q-credit_orders').closest('details');"
                " return d ? d.open : null; }")}

        followed = driver(follow_the_fix_link)
    finally:
        demo.sandboxes.stop()
    assert followed["link"] == "Fix it in the settings: Credit orders", followed
    assert followed["url"].endswith("/flows/orders/#q-credit_orders") and followed["folded_in"] is True, followed


def test_long_addresses_and_field_names_wrap_only_after_at_dot_underscore_and_fit_1280_px(
        live_server: Any, driver: BrowserThread) -> None:
    workspace = Workspace.objects.create(name="bakkerij")
    user = get_user_model().objects.create_user("anna", "anna@example.nl", PASSWORD)
    Membership.objects.create(workspace=workspace, user=user, role="member")
    shop = integration_of(workspace, "bakkerij-shop")
    parked = record(shop, "1001", reason=LONG_REASON, email=LONG_EMAIL,
                    payload_out={"SalesOrderIn": {"DeliveryAddress": {
                        "ContactPerson": {"MAIL_BUS_SECONDARY_CONTACT": LONG_EMAIL}, "ARTICLE.X": "KOFFIE-1"}}})
    site = live_server.url

    def measure(page: Any) -> dict[str, Any]:
        page.set_viewport_size({"width": 1280, "height": 800})
        sign_in(page, site, "anna")
        page.goto(f"{site}/records/w/{workspace.pk}/integrations/{shop.pk}/records/")
        measured = {"list": page.evaluate(LINE_ENDS, "table.records tbody td.key small"),
                    "list_width": page.evaluate("() => document.documentElement.scrollWidth")}
        page.goto(f"{site}/records/w/{workspace.pk}/records/{parked.pk}/")
        cells = page.locator(".side-by-side .fields th")
        field = next(i for i in range(cells.count()) if "ContactPerson" in cells.nth(i).inner_text())
        page.evaluate("(i) => document.querySelectorAll('.side-by-side .fields th')[i].id = 'long-field'", field)
        page.evaluate("(i) => document.querySelectorAll('.side-by-side .fields th')[i]"
                      ".nextElementSibling.id = 'long-value'", field)
        measured |= {"field": page.evaluate(LINE_ENDS, "#long-field"), "value": page.evaluate(LINE_ENDS, "#long-value"),
                     "email": page.evaluate(LINE_ENDS, "dd.email"),
                     "record_width": page.evaluate("() => document.documentElement.scrollWidth")}
        return measured

    measured = driver(measure)
    assert measured["list_width"] <= 1280 and measured["record_width"] <= 1280, measured
    assert measured["list"]["text"] == LONG_EMAIL and measured["list"]["ends"], measured  # it had to wrap
    for shown in ("list", "field", "value", "email"):
        assert set(measured[shown]["ends"]) <= {"@", ".", "_", "/", "-"}, (shown, measured[shown])
    assert measured["value"]["text"] == LONG_EMAIL, measured
    assert measured["field"]["text"] == LONG_FIELD and measured["field"]["ends"], measured


def test_the_privacy_page_follows_an_erasure_until_a_worker_has_done_it(
        live_server: Any, driver: BrowserThread, koppel_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from koppel.sync import erasure

    workspace = Workspace.objects.create(name="bakkerij")
    user = get_user_model().objects.create_user("anna", "anna@example.nl", PASSWORD)
    Membership.objects.create(workspace=workspace, user=user, role="owner")
    integration_of(workspace, "bakkerij-shop")
    site = live_server.url
    worker_done = False  # no worker runs here: once this says so, the state reads as a worker's finished one
    read = erasure.state_of

    def state_of(workspace_id: int, erasure_id: str) -> erasure.ErasureState | None:
        found = read(workspace_id, erasure_id)
        if found is None or not worker_done:
            return found
        return erasure.ErasureState(found.erasure, "done", found.requested_at, found.by, counts={
            "records": 3, "payloads": 2, "reasons": 1, "runs": 0, "alerts": 1, "workflows": 4, "values": 9})

    monkeypatch.setattr(erasure, "state_of", state_of)

    def ask(page: Any) -> dict[str, Any]:
        page.set_viewport_size({"width": 1280, "height": 800})
        sign_in(page, site, "anna")
        page.goto(f"{site}/records/w/{workspace.pk}/privacy/")
        page.fill("input[name=email]", LONG_EMAIL)
        page.click("#erase button[type=submit]")
        page.wait_for_selector(".erasure[data-state=queued]")
        return {"text": page.inner_text("#requested"),
                "width": page.evaluate("() => document.documentElement.scrollWidth")}

    asked = driver(ask)
    assert f"Erasure of {LONG_EMAIL} requested." in asked["text"] and "No worker is running" in asked["text"]
    assert asked["width"] <= 1280, asked
    worker_done = True

    def follow(page: Any) -> dict[str, Any]:
        page.wait_for_selector(".erasure[data-state=done]", timeout=15_000)  # the page polls by itself
        return {"text": page.inner_text("#requested"), "polling": page.locator("#requested [hx-get]").count()}

    followed = driver(follow)
    assert "Erased: 3 records, 2 with data, 1 reasons, 0 run errors, 1 alerts." in followed["text"], followed
    assert followed["polling"] == 0  # done: it stops asking
