"""Reads that filter on a text field (an article's code, a variant's parent, a group) find their rows in that
field's index instead of testing every row (a database answers them by an index; a scan made the products
benchmark quadratic), and answer exactly what testing every row answers."""

from __future__ import annotations

import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.sandbox import AccountViewSandbox, query
from koppel.connectors.accountview.wire import Filter


@pytest.fixture
def tested(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The codes of the rows a read tested against its filters (the sandbox answers in this process)."""
    seen: list[str] = []
    matches = query.Condition.matches

    def counting(self: query.Condition, row: dict[str, object]) -> bool:
        seen.append(str(row.get("ART_CODE")))
        return matches(self, row)

    monkeypatch.setattr(query.Condition, "matches", counting)
    return seen


def codes(client: AccountViewClient, *filters: Filter, match_any: bool = False) -> list[str]:
    return [r["ART_CODE"] for r in client.read("AK1", fields=["ART_CODE"], filters=list(filters),
                                               match_any=match_any, page_size=1000)]


def test_codes_are_found_without_testing_the_other_rows(client: AccountViewClient, sandbox: AccountViewSandbox,
                                                         tested: list[str]) -> None:
    every = sorted(r["ART_CODE"] for r in sandbox.rows("ARTICLE"))
    wanted = [every[5], every[0], "NOT-THERE", every[5]]
    assert codes(client, Filter("ART_CODE", wanted)) == [every[0], every[5]]
    assert sorted(set(tested)) == [every[0], every[5]]  # not the table's other rows


def test_a_prefix_finds_every_code_that_starts_with_it_and_no_other(client: AccountViewClient,
                                                                     sandbox: AccountViewSandbox,
                                                                     tested: list[str]) -> None:
    every = sorted(r["ART_CODE"] for r in sandbox.rows("ARTICLE"))
    for prefix in {every[3][:n] for n in range(1, len(every[3]) + 1)} | {"", "ZZZ", every[-1] + "X"}:
        tested.clear()
        expected = [c for c in every if c.startswith(prefix)]
        assert codes(client, Filter("ART_CODE", prefix, "StartsWith")) == expected, prefix
        assert len(tested) == len(expected)
        # the same filter as one of "any": every row tested, the same answer
        assert codes(client, Filter("ART_CODE", prefix, "StartsWith"), match_any=True) == expected


def test_the_other_filters_still_apply_to_the_rows_found(client: AccountViewClient,
                                                         sandbox: AccountViewSandbox) -> None:
    rows = sorted(sandbox.rows("ARTICLE"), key=lambda r: r["ART_CODE"])[:10]
    cheap = sorted(r["ART_CODE"] for r in rows if float(r["PX_SELL"] or 0) < 50)
    assert 0 < len(cheap) < 10, "the seed should give both cheap and dear articles"
    found = codes(client, Filter("ART_CODE", [r["ART_CODE"] for r in rows]), Filter("PX_SELL", 50, "LessThan"))
    assert found == cheap


def test_an_article_added_after_a_read_is_found_by_the_next(client: AccountViewClient,
                                                            sandbox: AccountViewSandbox) -> None:
    rows = sorted(sandbox.rows("ARTICLE"), key=lambda r: r["ART_CODE"])
    first = rows[0]["ART_CODE"]
    assert codes(client, Filter("ART_CODE", [first, "AAA-NEW"])) == [first]
    sandbox.add_article({"ART_CODE": "AAA-NEW", "ART_DESC1": "New", "AG_CODE": rows[0]["AG_CODE"],
                         "PX_SELL": 10, "VAT_CODE": rows[0]["VAT_CODE"]})
    assert codes(client, Filter("ART_CODE", [first, "AAA-NEW"])) == ["AAA-NEW", first]
    assert codes(client, Filter("ART_CODE", "AAA", "StartsWith")) == ["AAA-NEW"]


def test_a_filter_on_another_field_is_answered_from_its_index(client: AccountViewClient,
                                                              sandbox: AccountViewSandbox,
                                                              tested: list[str]) -> None:
    rows = sandbox.rows("ARTICLE")
    group = sorted(r["AG_CODE"] for r in rows)[len(rows) // 2]
    expected = sorted(r["ART_CODE"] for r in rows if r["AG_CODE"] == group)
    assert 0 < len(expected) < len(rows)
    assert codes(client, Filter("AG_CODE", group)) == expected
    assert sorted(tested) == expected  # only the group's rows were tested
    tested.clear()
    assert codes(client, Filter("AG_CODE", group), match_any=True) == expected  # a scan agrees
    assert len(tested) == len(rows)
