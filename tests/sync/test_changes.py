"""What changed between two sends of a record: field-level differences with their paths, and what the activity
keeps between sends (the last send's payload while a park or skip stands; nothing without payloads)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from koppel.sync.changes import diff, kept_with

NOW = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
EARLIER = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)


def row(outcome: str, payload_out: Any = None, changes: Any = None) -> dict[str, Any]:
    return {"outcome": outcome, "payload_out": payload_out, "changes": changes, "updated_at": EARLIER}


def test_changed_added_and_removed_fields_are_named_by_their_path() -> None:
    before = {"name": "Mok", "price": "9.95", "lines": [{"sku": "A", "qty": 1}], "extra": {"weight": 2}}
    after = {"name": "Mok", "price": "10.95", "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}],
             "ean": "8712345678906"}
    assert diff(before, after) == [
        {"path": "price", "kind": "changed", "old": "9.95", "new": "10.95"},
        {"path": "lines.1.qty", "kind": "changed", "old": 1, "new": 2},
        {"path": "lines.2.sku", "kind": "added", "old": None, "new": "B"},
        {"path": "lines.2.qty", "kind": "added", "old": None, "new": 1},
        {"path": "extra.weight", "kind": "removed", "old": 2, "new": None},
        {"path": "ean", "kind": "added", "old": None, "new": "8712345678906"},
    ]


def test_equal_payloads_have_no_differences_but_a_type_change_is_one() -> None:
    same = {"a": [1, {"b": None}], "c": {}}
    assert diff(same, {"a": [1, {"b": None}], "c": {}}) == []
    assert diff({"qty": 1}, {"qty": "1"}) == [{"path": "qty", "kind": "changed", "old": 1, "new": "1"}]
    assert diff({"flag": 1}, {"flag": True}) == [{"path": "flag", "kind": "changed", "old": 1, "new": True}]
    assert diff({"x": {"y": 1}}, {"x": 5}) == [{"path": "x", "kind": "changed", "old": {"y": 1}, "new": 5}]


def test_a_wholly_different_payload_is_cut_short_saying_how_much_was_left_out() -> None:
    found = diff({f"f{i}": i for i in range(300)}, {}, most=10)
    assert len(found) == 11 and found[-1] == {"path": "", "kind": "more", "old": None, "new": 290}


def test_a_send_after_a_send_keeps_the_differences_since_then() -> None:
    kept = kept_with(row("sent", {"price": "9.95"}), True, {"price": "10.95"}, NOW)
    assert kept == {"since": EARLIER.isoformat(),
                    "fields": [{"path": "price", "kind": "changed", "old": "9.95", "new": "10.95"}]}
    assert kept_with(row("sent", {"price": "9.95"}), True, {"price": "9.95"}, NOW) == {
        "since": EARLIER.isoformat(), "fields": []}  # sent again unchanged: no differences


def test_nothing_is_kept_for_a_first_send_or_without_payloads() -> None:
    assert kept_with(None, True, {"price": "1"}, NOW) is None
    assert kept_with(row("needs_attention"), True, {"price": "1"}, NOW) is None  # never sent before
    assert kept_with(row("sent", None), True, None, NOW) is None  # metadata only
    assert kept_with(row("sent", None), False, None, NOW) is None


def test_a_park_between_two_sends_keeps_the_first_send_to_compare_the_second_with() -> None:
    parked = kept_with(row("sent", {"price": "9.95"}), False, None, NOW)
    assert parked == {"base": {"at": EARLIER.isoformat(), "payload": {"price": "9.95"}}}
    still = kept_with(row("needs_attention", None, parked), False, None, NOW)
    assert still == parked  # parked again: still kept
    after = kept_with(row("needs_attention", None, still), True, {"price": "12.50"}, NOW)
    assert after is not None and after["fields"] == [{"path": "price", "kind": "changed", "old": "9.95",
                                                      "new": "12.50"}]


@pytest.mark.django_db
def test_the_ledger_keeps_what_changed_with_the_activity() -> None:
    from koppel.core.activity.models import Activity
    from koppel.sync import units
    from tests.sync.scenarios import integration

    shop, bare = integration("changes"), integration("changes-bare", metadata_only=True)
    for iid in (shop, bare):
        units.record_outcome(iid, "product", "MOK", "sent", payload_out={"price": "9.95", "name": "Mok"})
        units.record_outcome(iid, "product", "MOK", "sent", payload_out={"price": "10.95", "name": "Mok"})
    changes = Activity.objects.get(integration_id=shop, key="MOK").changes
    assert changes["fields"] == [{"path": "price", "kind": "changed", "old": "9.95", "new": "10.95"}]
    assert Activity.objects.get(integration_id=bare, key="MOK").changes is None  # metadata only: nothing kept
    units.record_outcome(shop, "product", "MOK", "sent", payload_out={"price": "10.95", "name": "Mok"})
    assert Activity.objects.get(integration_id=shop, key="MOK").changes["fields"] == []
