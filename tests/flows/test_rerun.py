"""A run over orders that are all linked already asks AccountView nothing about them: the link is the
answer, so a --full re-run costs the shop's listing and AccountView's reference data only."""

from __future__ import annotations

from tests.flows.world import World, sync_orders


def test_a_full_rerun_of_linked_orders_reads_no_order_customer_or_article(world: World) -> None:
    first = sync_orders(world.flow())
    assert any(r.outcome == "sent" for r in first)
    world.books_sandbox.calls.clear()
    again = sync_orders(world.flow(), full=True)
    assert {r.key for r in again} >= {r.key for r in first if r.outcome == "sent"}
    assert all(r.outcome != "sent" for r in again)
    reads = {kind for kind, n in world.books_sandbox.calls.items() if n and kind.startswith("read:")}
    # SO1 (our reference), AR1 (e-mail) and AK1 (articles) were asked once per run before; VAT codes
    # and payment tables are the run's reference data and may be read.
    assert not reads & {"read:SO1", "read:AR1", "read:AK1"}, world.books_sandbox.calls


def test_a_parked_order_is_still_looked_up_on_the_next_run(world: World) -> None:
    """Only linked orders are spared: an order without a link is asked about as before."""
    results = sync_orders(world.flow(payment_methods={"force": True, "default": "BITCOIN"}))
    assert {r.outcome for r in results} == {"needs_attention"}
    world.books_sandbox.calls.clear()
    sync_orders(world.flow(), full=True)
    assert world.books_sandbox.calls["read:SO1"] >= 1
