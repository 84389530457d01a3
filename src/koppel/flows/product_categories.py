"""Categories: AccountView article groups (AG_CODE → AG_DESC) as shop categories, created once and then
found by their link, never by title again (a renamed group renames its category); a parent from the
settings' table (another group, or a shop category by id). The first time, a category the shop already has
with the same title under the same parent is linked instead of made twice.

Used by the category units of a run (before its products) and by a product whose category is not there yet.
"""

from __future__ import annotations

import threading
from typing import Any, cast

from koppel.connectors.accountview.models import ArticleGroup
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.models import Category, CategoryInput
from koppel.errors import NeedsAttention, Outcome
from koppel.flows.links import Link, Links, Record
from koppel.flows.product_mapping import ProductMaps, body, payload_hash
from koppel.flows.products_settings import ProductsSettings
from koppel.reasons import reason
from koppel.sync.links import BulkLinks

CATEGORY = "category"


def links_by_key(links: Links, entity: str, keys: list[str]) -> dict[str, Link]:
    """The links of these source records of one entity, by source key, in one read per thousand keys."""
    return {link.source_key: link for link in cast(BulkLinks, links).find_many([entity], keys)}


class Categories:
    """The article groups of one run and their shop categories."""

    def __init__(self, shop: MijnWebwinkelClient, links: Links, settings: ProductsSettings, maps: ProductMaps,
                 groups: list[ArticleGroup]) -> None:
        self.shop = shop
        self.links = links
        self.settings = settings
        self.maps = maps
        self.groups = {g.code.strip().upper(): g for g in groups}
        self._shop_tree: list[Category] | None = None
        self._made: dict[str, str] = {}  # group code → how its category was made in this run (as a dependency)
        self._lock = threading.RLock()  # a category and its parent are made one at a time

    def in_order(self) -> list[str]:
        """Every group code, parents before their children."""
        ordered: list[str] = []

        def visit(code: str) -> None:
            if code in ordered:
                return
            parent = self.settings.category_parents.get(code)
            if parent and parent in self.groups:
                visit(parent)
            ordered.append(code)

        for code in sorted(self.groups):
            visit(code)
        return ordered

    def fingerprint(self, code: str) -> str:
        """The hash of what the category should be: compared with what was last sent."""
        group = self._group(code)
        mapped = self.maps.category(group.code, group.description, mode="create")
        return payload_hash({"category": mapped.row, "parent": self.settings.category_parents.get(code)})

    def changed(self) -> list[str]:
        """The groups (parents first) whose category is missing or differs from what was last sent."""
        codes = self.in_order()
        links = links_by_key(self.links, CATEGORY, codes)
        return [c for c in codes if c not in links or links[c].payload_hash != self._safe_fingerprint(c)]

    def _safe_fingerprint(self, code: str) -> str:
        try:
            return self.fingerprint(code)
        except NeedsAttention:
            return ""  # the unit parks it, naming why

    def category_id(self, code: str) -> int:
        """The shop category of an article group, made now when it has none yet (a product needs it)."""
        link = self.links.find(CATEGORY, code)
        if link is not None:
            return int(link.target_key)
        with self._lock:
            link = self.links.find(CATEGORY, code)
            if link is not None:
                return int(link.target_key)
            category, _ = self._make(code)
            return category

    def sync(self, code: str) -> Record:
        """One category unit: create, update, or leave it when it is as last sent."""
        payload_in = self._group(code).model_dump(mode="json")
        try:
            with self._lock:
                return self._sync(code, payload_in)
        except NeedsAttention as error:
            return Record(CATEGORY, code, error.outcome, str(error), payload_in=payload_in)

    def _sync(self, code: str, payload_in: dict[str, Any]) -> Record:
        fingerprint = self.fingerprint(code)
        link = self.links.find(CATEGORY, code)
        if link is None:
            category_id, how = self._make(code)
            return Record(CATEGORY, code, Outcome.SENT,
                          reason("{how} shop category {category}", how=how, category=category_id), str(category_id),
                          payload_in=payload_in, payload_out=self._create_body(code), link=True)
        if link.payload_hash == fingerprint:
            if code in self._made:  # made earlier in this run, for a child category or a product
                return Record(CATEGORY, code, Outcome.SENT,
                              reason("{how} shop category {category}", how=self._made[code], category=link.target_key),
                              link.target_key, payload_in=payload_in, link=True)
            return Record(CATEGORY, code, Outcome.SKIPPED, reason("up to date"), link.target_key,
                          payload_in=payload_in)
        group = self._group(code)
        changes = body(self.maps.category(group.code, group.description, mode="update"))
        parent = self._parent_id(code)
        if parent is not None:
            changes["parent_category_id"] = parent
        self.shop.update_category(int(link.target_key), CategoryInput.model_validate(changes))
        self.links.remember_sent(CATEGORY, code, fingerprint)
        return Record(CATEGORY, code, Outcome.SENT,
                      reason("updated shop category {category}", category=link.target_key), link.target_key,
                      payload_in=payload_in, payload_out=changes, link=True)

    def _make(self, code: str) -> tuple[int, str]:
        """Create the category (or link the shop's own of the same title and parent); link it."""
        wanted = self._create_body(code)
        existing = self._same_in_shop(wanted["title"], wanted.get("parent_category_id"))
        if existing is not None:
            category_id, how = existing.id, reason("linked the existing")
        else:
            category_id, how = self.shop.create_category(CategoryInput.model_validate(wanted)).id, reason("created")
        self.links.write(CATEGORY, code, str(category_id), self.fingerprint(code))
        self._made[code] = how
        return category_id, how

    def _create_body(self, code: str) -> dict[str, Any]:
        group = self._group(code)
        wanted = body(self.maps.category(group.code, group.description, mode="create"))
        parent = self._parent_id(code)
        if parent is not None:
            wanted["parent_category_id"] = parent
        return wanted

    def _parent_id(self, code: str) -> int | None:
        parent = self.settings.category_parents.get(code)
        if not parent:
            return None
        if parent.isdigit():
            return int(parent)
        if parent not in self.groups:
            raise NeedsAttention(
                reason("Article group {group}: its parent {parent} (category_parents) is not an AccountView article "
                       "group. Correct the category parents in the products settings.", group=code, parent=parent),
                field="category_parents",
                value=parent,
            )
        return self.category_id(parent)

    def _same_in_shop(self, title: str, parent: int | None) -> Category | None:
        if self._shop_tree is None:
            self._shop_tree = list(_flatten(self.shop.category_tree()))
        folded = title.strip().casefold()
        same = [c for c in self._shop_tree if c.title.strip().casefold() == folded and c.parent_category_id == parent]
        return same[0] if len(same) == 1 else None

    def _group(self, code: str) -> ArticleGroup:
        group = self.groups.get(code)
        if group is None:
            raise NeedsAttention(
                reason("Article group {group} is not in AccountView (AG1). Give the article an existing group.",
                       group=code),
                field="ARTICLE.AG_CODE",
                value=code,
            )
        return group


def _flatten(categories: list[Category], parent: int | None = None) -> list[Category]:
    found: list[Category] = []
    for category in categories:
        own = category.parent_category_id if category.parent_category_id is not None else parent
        found.append(category.model_copy(update={"parent_category_id": own, "leafs": []}))
        found += _flatten(category.leafs, category.id)
    return found
