"""A record parked or skipped for another flow's setting links to that flow's settings page: the stock flow's
article blocked in AccountView is fixed in the products settings (`blocked`), labelled in the reader's
language; the flow's own settings still link to its own page."""

from __future__ import annotations

import pytest

from koppel.core.accounts.models import Workspace
from koppel.flows.stock import BLOCKED_SETTING
from koppel.reasons import as_args, fixed_in, reason
from tests.web.alerts.test_views import user_in
from tests.web.records.test_views import integration_of, page, record

pytestmark = pytest.mark.django_db


def test_a_blocked_articles_stock_links_to_the_products_setting_and_an_unmanaged_one_to_stock() -> None:
    mine = Workspace.objects.create(name="bakkerij")
    shop = integration_of(mine, "bakkerij-shop")
    anna = user_in(mine, "anna")
    setup = f"/setup/w/{mine.pk}/i/{shop.pk}/flows"
    blocked = fixed_in(BLOCKED_SETTING, reason(
        "AccountView article {code} is blocked: no stock sent; {done} (products setting blocked: {rule})",
        code="SHIRT-0001", done="left alone in the shop", rule="leave"))
    skipped = record(shop, "SHIRT-0001", "skipped", blocked, entity="stock", reason_args=as_args(blocked))
    text = page(anna, f"/records/w/{mine.pk}/records/{skipped.pk}/")
    assert f'href="{setup}/products/#q-blocked"' in text and "settings: Blocked articles" in text
    assert f"{setup}/stock/" not in text
    dutch = anna.get(f"/records/w/{mine.pk}/records/{skipped.pk}/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert f'href="{setup}/products/#q-blocked"' in dutch and "Geblokkeerde artikelen" in dutch

    unmanaged = fixed_in("managed", reason("AccountView article {code}'s stock is not managed", code="SHIRT-0002"))
    own = record(shop, "SHIRT-0002", "skipped", unmanaged, entity="stock", reason_args=as_args(unmanaged))
    text = page(anna, f"/records/w/{mine.pk}/records/{own.pk}/")
    assert f'href="{setup}/stock/#q-managed"' in text and "settings: Stock kept by the shop" in text
