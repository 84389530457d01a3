"""The records pages in a real browser at 1280 px: the reason of a parked order is readable in full (no
column off-screen, no sideways scrolling), and on its page a member skips it, sees it skipped, and
unskips it (which starts its retry)."""

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

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]
PASSWORD = "a long enough passphrase 7"


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
        page.goto(f"{site}/login/")
        page.fill("input[name=username]", "anna")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site}/")
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
            page.goto(f"{site}/login/")
            page.fill("input[name=username]", "anna")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{site}/")
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
