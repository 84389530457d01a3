"""Paginators: a listing read lazily, page by page, without losing items.

Three styles the remote APIs use: offset + limit (MijnWebwinkel), page number and last key (AccountView).
Every paginator stops on an empty page. A page shorter than asked ends the listing only when the caller
vouches that the server fills every page but the last (`short_page_ends`); the listing also ends once the
items read reach the `expected` total the API's count endpoint gave. A server capping pages below our page
size would otherwise lose the rest silently. A page that starts with the previous page's first item means the server
ignores the paging parameter: the listing stops there instead of looping.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog

from koppel.errors import RetryableError
from koppel.reasons import reason

T = TypeVar("T")
C = TypeVar("C")
log = structlog.get_logger("koppel.connectors.http")


def item_identity(item: Any) -> Hashable:
    """What tells two items apart when the caller names no key: the item itself, as canonical JSON."""
    return json.dumps(item, sort_keys=True, default=str)


@dataclass(frozen=True)
class _Paginator(Generic[C]):
    page_size: int
    short_page_ends: bool = False

    def first(self) -> C:
        raise NotImplementedError

    def after(self, cursor: C, page: Sequence[Any]) -> C:
        raise NotImplementedError

    def items(
        self,
        fetch: Callable[[C], Sequence[T]],
        *,
        identity: Callable[[T], Hashable] = item_identity,
        expected: int | None = None,
        what: str = "items",
        system: str | None = None,
    ) -> Iterator[T]:
        """Items of every page `fetch(cursor)` returns. With `expected`, fewer items than that at the end
        raise RetryableError: the listing changed under us (or the server dropped some), so read it again."""
        cursor, read, previous_first = self.first(), 0, None
        while True:
            page = fetch(cursor)
            if not page:
                break
            first = identity(page[0])
            if first == previous_first:
                log.warning("paging.ignored", what=what, cursor=str(cursor))
                return
            yield from page
            read += len(page)
            if (expected is not None and read >= expected) or (self.short_page_ends and len(page) < self.page_size):
                return
            previous_first, cursor = first, self.after(cursor, page)
        if expected is not None and read < expected:
            raise RetryableError(
                reason("listed {read} {what} where the server counted {expected}: the listing changed while it "
                       "was read, so it is read again", read=read, what=what, expected=expected),
                system=system,
            )


@dataclass(frozen=True)
class OffsetPaginator(_Paginator[int]):
    """`offset` advances by the items actually received (not by the page size asked for)."""

    def first(self) -> int:
        return 0

    def after(self, cursor: int, page: Sequence[Any]) -> int:
        return cursor + len(page)


@dataclass(frozen=True)
class PageNumberPaginator(_Paginator[int]):
    """Pages numbered from 1."""

    def first(self) -> int:
        return 1

    def after(self, cursor: int, page: Sequence[Any]) -> int:
        return cursor + 1


@dataclass(frozen=True)
class LastKeyPaginator(_Paginator["str | None"]):
    """Keyset paging: the next page starts after the key of the last item (None asks for the first page)."""

    key: Callable[[Any], str] = str

    def first(self) -> str | None:
        return None

    def after(self, cursor: str | None, page: Sequence[Any]) -> str | None:
        return self.key(page[-1])
