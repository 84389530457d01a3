"""The links the stock flow reads and writes many at a time (`BulkLinks`), in the database and in memory:
the same answers from both."""

from __future__ import annotations

import pytest

from koppel.sync.links import EngineLinks, Link, MemoryLinks
from tests.sync.scenarios import integration


@pytest.mark.django_db
def test_links_in_bulk_in_the_database_and_in_memory() -> None:
    for links in (EngineLinks(integration("stock-links")), MemoryLinks()):
        links.write("product", "A1", "11")
        links.write("stock", "A1", "11", "5")
        many = [Link("stock", f"B{n}", f"{n}/1", str(n)) for n in range(2500)]  # three batches of 1000
        links.remember_many([*many, Link("stock", "A1", "12", "7")])  # replaces A1's target and hash

        found = {(link.entity, link.source_key): link
                 for link in links.find_many(["stock", "product"], ["A1", "B0", "B2499", "nope"])}
        assert found == {("stock", "A1"): Link("stock", "A1", "12", "7"), ("stock", "B0"): many[0],
                         ("stock", "B2499"): many[2499], ("product", "A1"): Link("product", "A1", "11")}
        assert links.find_many(["variant"], ["A1", "B0"]) == []
        assert len(links.find_many(["stock"], [f"B{n}" for n in range(2500)])) == 2500
        assert links.find("stock", "B7") == many[7]
