"""The AccountView side of the products flow: the articles changed since the cursor, page by page; the
articles of the products about to be synced, read ahead in batches (one read for the next hundred, so a
catalogue costs a read per hundred products, not one per product); and a variant group's members.

Only a window of articles is held at a time: memory does not grow with the catalogue.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

from koppel.connectors.accountview import records
from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Article
from koppel.connectors.accountview.wire import Filter
from koppel.flows.product_grouping import Grouper

BATCH = 100  # articles read ahead in one read (AccountView's list filter takes this many codes)


class BooksArticles:
    """Reads of AccountView articles for one run; `columns` are the extra ARTICLE columns the maps name."""

    def __init__(self, books: AccountViewClient, grouper: Grouper, columns: list[str], *, images: bool) -> None:
        self.books = books
        self.grouper = grouper
        self.images = images
        profile = books.profile
        self.fields = list(dict.fromkeys([*records.product_fields(profile), *grouper.fields(), *columns]))
        self._order: list[str] = []  # product keys in the order their units start
        self._position: dict[str, int] = {}
        self._read_upto = 0
        self._ahead: dict[str, Article | None] = {}
        self._lock = threading.Lock()

    def changed(self, since: datetime | None) -> Iterator[Article]:
        """Every article changed since `since` (all when None), in pages of AccountView's largest size (the
        profile's max_page_size); small pages when the image data is read with them (it makes pages heavy)."""
        size = 25 if self.images else self.books.profile.max_page_size
        return self.books.iter_articles(since, fields=self.fields, with_images=self.images, page_size=size)

    def expect(self, keys: list[str]) -> None:
        """The product keys the run's units will ask for, in order: what to read ahead."""
        with self._lock:
            self._order = keys
            self._position = {key: i for i, key in enumerate(keys)}
            self._read_upto = 0
            self._ahead.clear()

    def expected(self, key: str) -> bool:
        """Whether `key` is one of the run's product keys (fetch placed it)."""
        return key in self._position

    def article(self, code: str) -> Article | None:
        """The article with this code (None when AccountView has none), read with the next ones."""
        with self._lock:
            if code in self._ahead:
                return self._ahead.pop(code)
            start = self._position.get(code)
            batch = [code]
            if start is not None:
                begin = max(start + 1, self._read_upto)
                batch += [k for k in self._order[begin : begin + BATCH - 1] if k not in self._ahead]
                self._read_upto = max(self._read_upto, begin + BATCH - 1)
            found = self.books.get_articles(batch)
            for key in batch[1:]:
                self._ahead[key] = found.get(key)
            return found.get(code)

    def members(self, parent: str) -> list[Article]:
        """The variant articles of `parent` by the grouping rule, by code (one read)."""
        profile = self.books.profile
        codes = self.grouper.member_codes(parent)
        if codes is not None:
            found = self.books.get_articles(codes) if codes else {}
            return [found[c] for c in sorted(found)]
        rule = self.grouper.grouping
        if rule.rule == "parent_field" and rule.parent_field:
            wanted = Filter(rule.parent_field, parent)
        else:  # the code pattern starts with the parent: its members' codes do too
            wanted = Filter("ART_CODE", parent, "StartsWith")
        rows = self.books.read(profile.article_bo, filters=[wanted], page_size=profile.max_page_size)
        articles = (records.article_from_row(row, profile) for row in rows)
        return sorted((a for a in articles if self.grouper.parent_of(a.row) == parent), key=lambda a: a.code)
