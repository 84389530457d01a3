"""A link dropped only while it still points where it did (`forget_if`): in the database one DELETE with the
target in its WHERE (nothing read first that a concurrent relink could slip past), the same rule in memory and
in a dry run's draft."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from koppel.sync.dry_run import DraftLinks
from koppel.sync.links import EngineLinks, MemoryLinks
from tests.flows.scenarios import spawn
from tests.flows.test_engine import environment
from tests.sync.test_links_by_target_prefix import engine_links


@pytest.mark.django_db
@pytest.mark.parametrize("store", ["database", "memory", "draft"])
def test_a_link_relinked_elsewhere_stands_and_one_still_pointing_there_goes(store: str) -> None:
    links: EngineLinks | MemoryLinks | DraftLinks = {
        "database": engine_links, "memory": MemoryLinks, "draft": lambda: DraftLinks(engine_links())}[store]()
    links.write("variant", "SHIRT-ROOD-M", "12/701", "h1")
    links.write("variant", "SHIRT-ROOD-L", "12/702")
    links.write("product", "SHIRT-ROOD-M", "12/701")  # another entity, the same keys

    # another worker moved SHIRT-ROOD-M to article 13 after we read "12/701"
    links.forget("variant", "SHIRT-ROOD-M")
    links.write("variant", "SHIRT-ROOD-M", "13/901")
    assert links.forget_if("variant", "SHIRT-ROOD-M", target_key="12/701") is False
    found = links.find("variant", "SHIRT-ROOD-M")
    assert found is not None and found.target_key == "13/901"

    assert links.forget_if("variant", "SHIRT-ROOD-L", target_key="12/702") is True
    assert links.find("variant", "SHIRT-ROOD-L") is None
    assert links.forget_if("variant", "SHIRT-ROOD-L", target_key="12/702") is False  # gone already
    assert links.forget_if("variant", "NOWHERE", target_key="12/702") is False
    kept = links.find("product", "SHIRT-ROOD-M")
    assert kept is not None and kept.target_key == "12/701"


@pytest.mark.django_db
def test_the_database_drops_a_link_in_one_conditional_delete_without_reading_it_first() -> None:
    links = engine_links()
    links.write("variant", "SHIRT-ROOD-M", "12/701")
    with CaptureQueriesContext(connection) as queries:
        assert links.forget_if("variant", "SHIRT-ROOD-M", target_key="12/701") is True
    statements = [q["sql"].lstrip().upper() for q in queries.captured_queries
                  if not q["sql"].lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    assert len(statements) == 1 and statements[0].startswith("DELETE"), statements
    assert "TARGET_KEY" in statements[0]
    assert links.find("variant", "SHIRT-ROOD-M") is None


@pytest.mark.postgres
def test_postgresql_drops_a_link_only_while_it_points_where_it_was_read(tmp_path: Path,
                                                                        postgres_database: str) -> None:
    seen = spawn(environment(tmp_path, postgres_database), tmp_path, "forget_if_on_the_database",
                 scenarios="tests.flows.products_scenarios").wait()
    assert seen["vendor"] == "postgresql"
    assert (seen["stale"], seen["kept"], seen["current"], seen["after"]) == (False, "13/901", True, False), seen
    statements = [sql.lstrip().upper() for sql in seen["sql"]
                  if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))]
    assert len(statements) == 1 and statements[0].startswith("DELETE") and "TARGET_KEY" in statements[0], seen
