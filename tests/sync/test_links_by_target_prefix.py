"""Links found by the start of their target key (the products flow: the variants linked to one shop article),
the same in the database, in memory and in a dry run's draft."""

from __future__ import annotations

import pytest

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection, Integration
from koppel.sync.dry_run import DraftLinks
from koppel.sync.links import EngineLinks, MemoryLinks

pytestmark = pytest.mark.django_db


def fill(links: EngineLinks | MemoryLinks) -> None:
    links.write("variant", "SHIRT-ROOD-M", "12/701", "h1")
    links.write("variant", "SHIRT-ROOD-L", "12/702")
    links.write("variant", "JAS-ROOD-M", "120/801")  # starts with "12" too, but not with "12/"
    links.write("product", "SHIRT", "12/x")  # another entity


def engine_links() -> EngineLinks:
    workspace = Workspace.objects.create(name="prefix")
    shop = Connection.objects.create(workspace=workspace, name="winkel", system="mijnwebwinkel")
    books = Connection.objects.create(workspace=workspace, name="boeken", system="accountview",
                                      settings={"base_url": "http://127.0.0.1:9", "company_id": "1"})
    return EngineLinks(Integration.objects.create(workspace=workspace, name="prefix-shop", shop=shop, books=books).pk)


def test_the_database_and_memory_find_the_links_under_a_target_prefix() -> None:
    for links in (engine_links(), MemoryLinks()):
        fill(links)
        found = sorted((link.source_key, link.target_key, link.payload_hash)
                       for link in links.find_by_target_prefix("variant", "12/"))
        assert found == [("SHIRT-ROOD-L", "12/702", ""), ("SHIRT-ROOD-M", "12/701", "h1")], type(links)


def test_a_dry_runs_draft_sees_its_own_links_and_not_the_ones_it_forgot_or_moved() -> None:
    stored = engine_links()
    fill(stored)
    draft = DraftLinks(stored)
    draft.forget("variant", "SHIRT-ROOD-L")
    draft.write("variant", "SHIRT-BLAUW-M", "12/703")
    draft.forget("variant", "SHIRT-ROOD-M")
    draft.write("variant", "SHIRT-ROOD-M", "13/901")  # moved to another article in the draft
    assert [link.source_key for link in draft.find_by_target_prefix("variant", "12/")] == ["SHIRT-BLAUW-M"]
    assert stored.find("variant", "SHIRT-ROOD-L") is not None  # the database untouched
