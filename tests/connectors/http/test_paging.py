"""Paginators against tiny fake servers: a server capping pages below the page size loses nothing, a count
that the listing does not reach is retryable, and a server ignoring the paging parameter ends the listing."""

from __future__ import annotations

import pytest

from koppel.connectors.http import LastKeyPaginator, OffsetPaginator, PageNumberPaginator
from koppel.errors import RetryableError

ITEMS = [{"id": n} for n in range(1, 121)]


def capped_at_50(offset: int, asked: int = 100) -> list[dict[str, int]]:
    return ITEMS[offset : offset + min(asked, 50)]


def test_offset_paging_through_a_server_capping_pages_loses_nothing() -> None:
    offsets: list[int] = []

    def fetch(offset: int) -> list[dict[str, int]]:
        offsets.append(offset)
        return capped_at_50(offset)

    assert list(OffsetPaginator(100).items(fetch)) == ITEMS
    assert offsets == [0, 50, 100, 120]  # the short pages go on; only the empty one ends it


def test_the_count_ends_the_listing_without_an_empty_page() -> None:
    offsets: list[int] = []

    def fetch(offset: int) -> list[dict[str, int]]:
        offsets.append(offset)
        return capped_at_50(offset)

    assert list(OffsetPaginator(100).items(fetch, expected=len(ITEMS))) == ITEMS
    assert offsets == [0, 50, 100]


def test_fewer_items_than_counted_is_retryable() -> None:
    items = OffsetPaginator(100).items(capped_at_50, expected=130, what="orders", system="mijnwebwinkel")
    read: list[dict[str, int]] = []
    with pytest.raises(RetryableError) as caught:
        read.extend(items)
    assert read == ITEMS and caught.value.system == "mijnwebwinkel"
    assert "120 orders" in str(caught.value) and "130" in str(caught.value)


def test_a_server_ignoring_the_offset_ends_the_listing_instead_of_looping() -> None:
    calls = []

    def fetch(offset: int) -> list[dict[str, int]]:
        calls.append(offset)
        return ITEMS[:10]

    assert list(OffsetPaginator(10).items(fetch)) == ITEMS[:10]
    assert len(calls) == 2


def test_page_numbers_stop_on_a_short_page_when_the_server_fills_every_other() -> None:
    pages: list[int] = []

    def fetch(page: int) -> list[dict[str, int]]:
        pages.append(page)
        return ITEMS[(page - 1) * 50 : page * 50]

    assert list(PageNumberPaginator(50, short_page_ends=True).items(fetch)) == ITEMS
    assert pages == [1, 2, 3]


def test_last_key_paging_asks_after_the_last_key() -> None:
    keys: list[str | None] = []

    def fetch(after: str | None) -> list[dict[str, int]]:
        keys.append(after)
        start = 0 if after is None else int(after)
        return ITEMS[start : start + 40]

    paginator = LastKeyPaginator(40, key=lambda item: str(item["id"]))
    assert list(paginator.items(fetch)) == ITEMS
    assert keys == [None, "40", "80", "120"]
