"""Records a settings change freed, against both sandboxes with the database: orders skipped for status 2 are
offered once 2 is among the statuses to send, and only they (parked orders whose cause is not fixed stay
parked, with their reasons; an order in AccountView already is no candidate); the offer's retry sends each
exactly once, and taking it again sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from koppel.core.activity.models import Activity, RecordAction, RetryOffer
from koppel.core.integrations.models import Integration
from koppel.demo import INTEGRATION, DemoWorld, prepare
from koppel.sync import record_actions, retry_offers
from koppel.sync.clients import integration_clients
from koppel.sync.links import EngineLinks
from koppel.sync.runner import InProcess, Tally, find, run

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoWorld]:
    world = prepare(tmp_path, orders=30, articles=30)
    yield world
    world.sandboxes.stop()


def run_orders(integration_id: int, keys: list[str] | None = None) -> dict:
    """A run of the orders flow in this process (a person's retry when `keys`), on the database's links."""
    flow = find("orders")
    wiring = integration_clients(integration_id)
    links = EngineLinks(integration_id)
    recipe = flow.open(wiring, flow.settings.model_validate(wiring.flows["orders"]), links)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return run(flow, InProcess(flow, recipe, links, 2, 0.01, pool, Tally(None)), full=keys is None, keys=keys)


@pytest.fixture
def in_place(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Checks and retries run in this process at once (the web starts them on threads and processes)."""
    retried: list[list[str]] = []

    def retry_here(flow: str, integration: str, keys: list[str]) -> None:
        retried.append(sorted(keys))
        run_orders(Integration.objects.get(name=integration).pk, keys)

    monkeypatch.setattr(retry_offers, "starter", retry_offers.check)
    monkeypatch.setattr(record_actions, "starter", retry_here)
    return retried


def test_orders_skipped_for_a_status_are_offered_once_it_is_sent_and_go_exactly_once(
        demo: DemoWorld, in_place: list[list[str]]) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    shop, books = demo.sandboxes.shop, demo.sandboxes.books
    status_2 = sorted(str(o["number"]) for o in shop.state.orders.values() if o["status"] == 2)
    assert len(status_2) >= 3
    first = run_orders(integration.pk)  # statuses 3 and 6: sent, or parked (the demo's problem orders)
    parked = {r["key"] for r in first["records"] if r["outcome"] == "needs_attention"}
    sent = {r["key"] for r in first["records"] if r["outcome"] == "sent"}
    assert len(parked) >= 3 and sent
    run_orders(integration.pk, status_2)  # tried by hand: skipped for their status
    skipped = Activity.objects.filter(integration=integration, key__in=status_2)
    assert {a.reason.split(" is not")[0] for a in skipped} == {"status 2"} and len(skipped) == len(status_2)

    nothing_changed = retry_offers.settings_changed(integration, "orders", "anna")
    assert nothing_changed is not None and nothing_changed.candidates == len(status_2) + len(parked)
    nothing_changed.refresh_from_db()
    assert nothing_changed.would_send == []  # the same settings free nothing

    integration.flows = {**integration.flows, "orders": {**integration.flows["orders"], "statuses": [2, 3, 6]}}
    integration.save()
    offer = retry_offers.settings_changed(integration, "orders", "anna")
    assert offer is not None
    offer.refresh_from_db()
    assert offer.status == "ready" and offer.error == ""
    assert sorted(offer.would_send) == status_2  # exactly the orders the status held back
    still = {entry["key"]: entry["reason"] for entry in offer.still_parked}
    assert set(still) == parked and all(still.values())  # the rest would still park, each with its reason
    assert not set(offer.would_send) & sent  # in AccountView already: no candidate
    assert all(books.sales_orders_for(number) == 0 for number in status_2)  # the check wrote nothing

    assert retry_offers.take(offer, "anna") == len(status_2)
    assert in_place == [status_2]
    assert all(books.sales_orders_for(number) == 1 for number in status_2)  # each sent exactly once
    assert {a.outcome for a in Activity.objects.filter(integration=integration, key__in=status_2)} == {"sent"}
    assert {a.outcome for a in Activity.objects.filter(integration=integration, key__in=parked)} == {
        "needs_attention"}  # the others untouched: not retried, not written
    assert all(books.sales_orders_for(number) == 0 for number in parked)
    assert sorted(RecordAction.objects.filter(kind="retry").values_list("key", flat=True)) == status_2

    offer = RetryOffer.objects.get(pk=offer.pk)
    assert offer.retried_by == "anna" and retry_offers.waiting(offer) == []
    assert retry_offers.take(offer, "anna") == 0 and len(in_place) == 1  # taken once
    assert all(books.sales_orders_for(number) == 1 for number in status_2)


def test_a_flow_without_candidates_has_no_offer_and_loses_an_old_one(demo: DemoWorld, in_place: list) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    RetryOffer.objects.create(integration=integration, flow="orders", started_at="2026-11-30T10:00Z",
                              status="ready", would_send=["1"])
    assert retry_offers.settings_changed(integration, "orders", "anna") is None
    assert not RetryOffer.objects.exists()


def test_integration_apply_names_what_the_new_settings_free_and_how_to_retry_it(demo: DemoWorld) -> None:
    from tests.cli_runner import invoke

    integration = Integration.objects.get(name=INTEGRATION)
    status_2 = sorted(str(o["number"]) for o in demo.sandboxes.shop.state.orders.values() if o["status"] == 2)
    first = run_orders(integration.pk)
    parked = [r["key"] for r in first["records"] if r["outcome"] == "needs_attention"]
    run_orders(integration.pk, status_2)
    path = demo.integration_file
    text = path.read_text()
    assert "statuses = [3, 6]" in text
    path.write_text(text.replace("statuses = [3, 6]", "statuses = [2, 3, 6]"))

    result = invoke("integration", "apply", str(path))
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert (f"orders: of {len(status_2) + len(parked)} parked or skipped records, {len(status_2)} would now go "
            f"through, {len(parked)} would still park") in out
    offer = RetryOffer.objects.get(integration=integration, flow="orders")
    assert f"koppel retry orders {' '.join(offer.would_send)} --integration {INTEGRATION}" in out
    assert sorted(offer.would_send) == status_2
    assert all(demo.sandboxes.books.sales_orders_for(number) == 0 for number in status_2)  # nothing sent
    again = invoke("integration", "apply", str(path))  # the same file again: nothing changed, nothing checked
    assert "would now go through" not in again.stdout


def test_the_check_runs_on_a_thread_of_its_own_and_the_offer_follows(demo: DemoWorld) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    first = run_orders(integration.pk)
    parked = sorted(r["key"] for r in first["records"] if r["outcome"] == "needs_attention")
    offer = retry_offers.settings_changed(integration, "orders", "anna")  # the web's way: a thread
    assert offer is not None and offer.status == "checking"
    offer = retry_offers.wait(offer, 120)
    assert offer.status == "ready", offer.error
    assert sorted(entry["key"] for entry in offer.still_parked) == parked and offer.would_send == []


def test_retention_deletes_an_offer_older_than_the_workspaces_retention() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from koppel.sync.retention import purge
    from tests.sync.scenarios import integration as made

    integration = Integration.objects.get(pk=made("offers-retention", retention_days=7))
    now = timezone.now()
    old = RetryOffer.objects.create(integration=integration, flow="orders", status="ready",
                                    started_at=now - timedelta(days=integration.workspace.retention_days + 1))
    new = RetryOffer.objects.create(integration=integration, flow="products", status="ready", started_at=now)
    purge(now, workflows=False)
    assert list(RetryOffer.objects.values_list("pk", flat=True)) == [new.pk] and old.pk != new.pk


def test_orders_a_status_left_out_of_the_shops_listing_are_found_offered_and_sent_once(
        demo: DemoWorld, in_place: list[list[str]]) -> None:
    """The issue's example: orders in status 2 exist before the integration ever ran; the first run, with
    statuses [3], never lists them (no activity, and the cursor moves past them). Adding status 2 finds them in
    the shop (reading only), offers exactly them, and one retry sends each exactly once; saving again without a
    change offers nothing new."""
    integration = Integration.objects.get(name=INTEGRATION)
    shop, books = demo.sandboxes.shop, demo.sandboxes.books
    orders = [o for o in shop.state.orders.values() if not str(o["number"]).upper().startswith("T")]
    status_2 = sorted(str(o["number"]) for o in orders if o["status"] == 2)
    paid = {str(o["number"]) for o in orders if o["status"] == 3}
    assert len(status_2) >= 3 and paid
    integration.flows = {**integration.flows, "orders": {**integration.flows["orders"], "statuses": [3]}}
    integration.save()
    first = run_orders(integration.pk)
    assert {r["key"] for r in first["records"]} <= paid and any(r["outcome"] == "sent" for r in first["records"])
    assert not Activity.objects.filter(integration=integration, key__in=status_2).exists()  # never looked at

    before = integration.flows["orders"]
    integration.flows = {**integration.flows, "orders": {**before, "statuses": [2, 3]}}
    integration.save()
    assert retry_offers.changed_flows({**integration.flows, "orders": before}, integration.flows) == ["orders"]
    offer = retry_offers.settings_changed(integration, "orders", "anna", before=before)
    assert offer is not None
    offer.refresh_from_db()
    assert offer.status == "ready" and offer.error == ""
    assert sorted(offer.would_send) == status_2  # exactly the orders the old selection left out
    assert all(books.sales_orders_for(number) == 0 for number in status_2)  # the check wrote nothing
    left_out = Activity.objects.filter(integration=integration, key__in=status_2)
    assert {a.outcome for a in left_out} == {"skipped"} and len(left_out) == len(status_2)
    assert all(a.reason.startswith("left out by the settings before the change") and a.reason_args
               for a in left_out)
    assert sorted(a.key for a in retry_offers.waiting(offer)) == status_2

    assert retry_offers.take(offer, "anna") == len(status_2)
    assert in_place == [status_2]
    assert all(books.sales_orders_for(number) == 1 for number in status_2)  # each exactly once
    assert {a.outcome for a in Activity.objects.filter(integration=integration, key__in=status_2)} == {"sent"}

    assert retry_offers.changed_flows(dict(integration.flows), integration.flows) == []  # saved again unchanged
    again = retry_offers.settings_changed(integration, "orders", "anna", before=integration.flows["orders"])
    if again is not None and RetryOffer.objects.filter(pk=again.pk).exists():
        again.refresh_from_db()
        assert again.would_send == []
    assert retry_offers.take(offer, "anna") == 0 and len(in_place) == 1
    assert all(books.sales_orders_for(number) == 1 for number in status_2)
    assert Activity.objects.filter(integration=integration, key__in=status_2).count() == len(status_2)


def test_the_offer_leaves_out_what_no_setting_could_free() -> None:
    from koppel.reasons import fixed_in, reason
    from koppel.sync.dry_run import DryResult

    could = retry_offers._a_setting_could_free
    summary = reason("this cycle: {n} articles unchanged", n="12")
    shop_only = reason("shop article {article} ({named}): no AccountView article is linked to it or has its SKU; "
                       "its stock is left as the shop has it", article="77", named="Taart")
    assert not could("stock", DryResult("@summary", "skipped", summary))
    assert not could("stock", DryResult("shop-only:77", "skipped", shop_only))
    assert could("stock", DryResult("A-1", "needs_attention", reason("article {code} has no stock", code="A-1")))
    status = fixed_in("statuses", reason("status {status} is not one of the statuses to send ({statuses})",
                                         status=2, statuses="[3]"))
    assert could("orders", DryResult("1001", "skipped", status))
    assert not could("orders", DryResult("1002", "skipped", reason("already in AccountView as {kind} {target}",
                                                                    kind="sales order", target="SO-1")))


def test_a_stock_offer_lists_only_what_a_setting_could_free_and_goes_when_that_is_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import timezone

    from koppel.reasons import reason
    from koppel.sync.dry_run import DryResult, DryRunReport
    from tests.sync.scenarios import integration as made

    integration = Integration.objects.get(pk=made("offers-stock"))
    summary = DryResult("@summary", "skipped", reason("this cycle: {n} articles unchanged", n="12"))
    shop_only = DryResult("shop-only:77", "skipped", reason("no AccountView article"))
    parked = DryResult("A-1", "needs_attention", reason("article {code} has no stock figure", code="A-1"))
    answers = [DryRunReport("stock", results=[summary, shop_only, parked]), DryRunReport("stock", results=[summary])]
    monkeypatch.setattr(retry_offers, "dry_run", lambda *args, **kwargs: answers.pop(0))
    keys = ["@summary", "shop-only:77", "A-1"]

    started = timezone.now()
    offer = RetryOffer.objects.create(integration=integration, flow="stock", status="checking", started_at=started)
    retry_offers.check(offer.pk, started, keys)
    offer.refresh_from_db()
    assert offer.status == "ready" and [entry["key"] for entry in offer.still_parked] == ["A-1"]  # no noise

    RetryOffer.objects.filter(pk=offer.pk).update(status="checking")
    retry_offers.check(offer.pk, started, keys[:1])
    assert not RetryOffer.objects.filter(pk=offer.pk).exists()  # nothing a setting could free: no offer
