"""What changed, on a record's page, from real runs of the products flow against both sandboxes with the
database's links and activity: a first send shows no differences, an unchanged re-sync none either, and a
price changed in AccountView shows as the price's old → new value once the article is sent again."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity
from koppel.core.integrations.models import Integration
from koppel.sync.links import EngineLinks
from tests.flows.products_world import ProductsWorld, start_products_world
from tests.web.alerts.test_views import user_in
from tests.web.records.test_views import integration_of, page

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CODE = "KP-001-00002"


@pytest.fixture
def world() -> Iterator[ProductsWorld]:
    world = start_products_world(articles=8)
    yield world
    world.stop()


def what_changed(text: str) -> str:
    """The "What changed" card's HTML, without the places a long value may wrap (`<wbr>`)."""
    shown = text.split("What changed", 1)[1].split("</section>", 1)[0] if "What changed" in text else ""
    return shown.replace("<wbr>", "")


def test_a_price_changed_in_accountview_shows_as_old_and_new_on_the_records_page(world: ProductsWorld) -> None:
    workspace = Workspace.objects.create(name="kaaswinkel")
    shop: Integration = integration_of(workspace, "kaaswinkel-shop")
    world.links = EngineLinks(shop.pk)  # type: ignore[assignment]  # the database's links and activity (one thread: SQLite)
    anna = user_in(workspace, "anna", role="read_only")

    first = world.sync(workers=1)
    assert {r.key: r.outcome for r in first.results}[CODE] == "sent"
    sent = Activity.objects.get(integration=shop, entity="product", key=CODE)
    url = f"/records/w/{workspace.pk}/records/{sent.pk}/"
    assert sent.changes is None and what_changed(page(anna, url)) == ""  # a first send: nothing to compare

    again = world.sync(full=True, workers=1)  # nothing changed in AccountView: no unit, the page stays as it was
    assert CODE not in {r.key for r in again.results}
    assert what_changed(page(anna, url)) == ""

    price_before = sent.payload_out["price"]
    world.change(CODE, PX_SELL=Decimal("50.00"))
    changed = world.sync(workers=1)
    assert {r.key: r.outcome for r in changed.results}[CODE] == "sent"
    sent.refresh_from_db()
    assert sent.changes is not None
    fields = {c["path"]: c for c in sent.changes["fields"]}
    price = fields["price.default"]
    assert price["kind"] == "changed" and price["new"] == "60.50"  # 50.00 + 21 % VAT
    assert price["old"] == str(price_before["default"]) != "60.50"
    # The update leaves out what the shop owns (update product information is off): not sent, not deleted.
    assert fields["name"]["kind"] == "removed"
    shown = what_changed(page(anna, url))
    assert "<td>price.default</td>" in shown and f"<td>{price['old']}</td>" in shown and "<td>60.50</td>" in shown
    assert "not sent this time" in shown
