"""Categories: AccountView article groups (AG_CODE → AG_DESC) as shop categories, created once and then
found by their link, never by title again (a renamed group renames its category); a parent from the
settings' table (another group, or a shop category by id). The first time, a category the shop already has
with the same title under the same parent is linked instead of made twice.

Used by the category units of a run (before its products) and by a product whose category is not there yet.

Made once across workers, on any machine: the shop can't delete a category (the API has no DELETE), so two
made for one group could never be undone. Before creating, a worker claims the group with a link only one
can write (the links' unique source key); the others wait for its category link and use it. A claim left by a
worker that stopped is taken over after a while, by one worker only, which first looks in the shop for the
category the stopped one may have made; a claim left by an earlier try of the same unit of work (its worker
stopped, the engine resumed the unit) is taken back at once, as the orders flow's debtor claims are.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from koppel.connectors.accountview.models import ArticleGroup
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.models import Category, CategoryInput
from koppel.errors import NeedsAttention, Outcome, RetryableError
from koppel.flows.links import Link, Links, Record
from koppel.flows.product_mapping import ProductMaps, body, payload_hash
from koppel.flows.products_settings import ProductsSettings
from koppel.reasons import reason
from koppel.sync.links import BulkLinks

CATEGORY = "category"
CLAIM = "category-claim"  # source: group code; target: "<token> <moment>" of the worker making its category now
STALE = timedelta(minutes=10)  # a claim this old was left by a worker that stopped (a POST takes seconds)
WAIT_SECONDS = 30.0  # how long a worker waits for another's category before its unit is tried again later


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
        self._unit = threading.local()  # the unit of work this thread runs: `claimer`, its id

    @contextmanager
    def claiming_as(self, claimer: str) -> Iterator[None]:
        """Claims this thread makes until the end name `claimer`, the id of the unit of work it runs (the same
        for every try of the unit): a claim an earlier try left when its worker stopped is taken back at once,
        instead of holding the group's products back until it goes stale."""
        self._unit.claimer = claimer
        try:
            yield
        finally:
            self._unit.claimer = ""

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
        """Create the category (or link the shop's own of the same title and parent) and link it, once across
        workers: under this worker's claim, or by waiting for the link of the worker that holds it."""
        wanted = self._create_body(code)  # its parent first (made now when it has none yet)
        claim = self._claim(code)
        try:
            link = self.links.find(CATEGORY, code)  # made by another worker between our look and our claim
            if link is not None:
                self._made[code] = reason("linked the one another worker made")
                return int(link.target_key), self._made[code]
            existing = self._same_in_shop(wanted["title"], wanted.get("parent_category_id"), fresh=claim.took_over)
            if existing is not None:
                category_id, how = existing.id, reason("linked the existing")
            else:
                category_id = self.shop.create_category(CategoryInput.model_validate(wanted)).id
                how = reason("created")
            self.links.write(CATEGORY, code, str(category_id), self.fingerprint(code))
        finally:
            if claim.held:  # ours only: a worker that took it over as stale meanwhile keeps its own
                self.links.forget_if(CLAIM, code, target_key=claim.value)
        self._made[code] = how
        return category_id, how

    def _claim(self, code: str) -> _Claim:
        """Claim the making of this group's category; when another worker holds the claim, wait for its link
        (a claim comes back not held: the link is there), or take a stale claim over."""
        claimer = getattr(self._unit, "claimer", "")
        token = claimer.replace(" ", "_") or uuid.uuid4().hex
        mine = f"{token} {datetime.now(UTC).isoformat()}"
        deadline = time.monotonic() + WAIT_SECONDS
        pause = 0.05
        while True:
            held = self.links.write(CLAIM, code, mine)
            if held.target_key == mine:
                return _Claim(held=True, value=mine)
            if self.links.find(CATEGORY, code) is not None:
                return _Claim(held=False)
            ours = bool(claimer) and held.target_key.split(" ", 1)[0] == token  # left by a stopped try of this unit
            if ours and self._replace(code, held.target_key, mine):
                return _Claim(held=True, value=mine, took_over=True)
            if _stale(held.target_key) and self._take_over(code, held.target_key, mine):
                return _Claim(held=True, value=mine, took_over=True)
            if time.monotonic() > deadline:
                raise RetryableError(reason("another worker is making the shop category of article group {group}; "
                                            "tried again later", group=code))
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _take_over(self, code: str, stale: str, mine: str) -> bool:
        """Take a stale claim over: of the workers that find it stale, the one that writes the link named
        after it first. (That link stays: a later worker that read the same stale claim must lose too.)"""
        token = stale.split(" ", 1)[0]
        if self.links.write(CLAIM, f"{code}/{token}", mine).target_key != mine:
            return False
        return self._replace(code, stale, mine)

    def _replace(self, code: str, old: str, mine: str) -> bool:
        """Our claim instead of `old`; only that one: a claim its worker released since, and another worker
        claimed afresh, stands."""
        self.links.forget_if(CLAIM, code, target_key=old)
        return self.links.write(CLAIM, code, mine).target_key == mine

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

    def _same_in_shop(self, title: str, parent: int | None, *, fresh: bool = False) -> Category | None:
        if self._shop_tree is None or fresh:
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


@dataclass(frozen=True)
class _Claim:
    """A claim on making one category: `held` by this worker (to release; `value`: what it wrote), `took_over`
    from a stopped one."""

    held: bool
    value: str = ""
    took_over: bool = False


def _stale(claim: str) -> bool:
    """Whether a claim ("<token> <moment>") is older than STALE (or unreadable: nothing can finish it)."""
    try:
        made = datetime.fromisoformat(claim.split(" ", 1)[1])
    except (IndexError, ValueError):
        return True
    return datetime.now(UTC) - made > STALE


def _flatten(categories: list[Category], parent: int | None = None) -> list[Category]:
    found: list[Category] = []
    for category in categories:
        own = category.parent_category_id if category.parent_category_id is not None else parent
        found.append(category.model_copy(update={"parent_category_id": own, "leafs": []}))
        found += _flatten(category.leafs, category.id)
    return found
