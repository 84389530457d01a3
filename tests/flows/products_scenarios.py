"""The products flow in child processes (tests/flows/scenarios.py's `spawn`), on the database's links: the
sandboxes keep running in the test process, each child is a worker on its own machine."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def make_category(integration_id: int, key: str, barrier: str) -> dict[str, Any]:
    """Read the catalogue, say so and wait for the go (files in `barrier`), then sync one unit, as a worker
    would."""
    from koppel.flows.products import ProductsFlow
    from koppel.flows.products_settings import ProductsSettings
    from koppel.sync.clients import integration_clients
    from koppel.sync.links import EngineLinks

    wiring = integration_clients(integration_id)
    flow = ProductsFlow(wiring.shop, wiring.books, ProductsSettings(), EngineLinks(integration_id))
    flow.fetch(None)
    (Path(barrier) / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while not (Path(barrier) / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    record = flow.sync(key)
    return {"outcome": record.outcome.value, "reason": str(record.reason), "target": record.target_key}



def forget_if_on_the_database() -> dict[str, Any]:
    """A variant link relinked elsewhere, then dropped conditionally, on this process's database: what each
    call did, and the SQL of the drop."""
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from koppel.core.accounts.models import Workspace
    from koppel.core.integrations.models import Connection, Integration
    from koppel.sync.links import EngineLinks

    call_command("migrate", interactive=False, verbosity=0)
    workspace = Workspace.objects.create(name="forget-if")
    shop = Connection.objects.create(workspace=workspace, name="winkel", system="mijnwebwinkel")
    books = Connection.objects.create(workspace=workspace, name="boeken", system="accountview",
                                      settings={"base_url": "http://127.0.0.1:9", "company_id": "1"})
    links = EngineLinks(Integration.objects.create(workspace=workspace, name="forget-if", shop=shop, books=books).pk)
    links.write("variant", "SHIRT-ROOD-M", "12/701")
    links.forget("variant", "SHIRT-ROOD-M")  # another worker relinks it after we read "12/701"
    links.write("variant", "SHIRT-ROOD-M", "13/901")
    stale = links.forget_if("variant", "SHIRT-ROOD-M", target_key="12/701")
    kept = links.find("variant", "SHIRT-ROOD-M")
    with CaptureQueriesContext(connection) as queries:
        current = links.forget_if("variant", "SHIRT-ROOD-M", target_key="13/901")
    return {"vendor": connection.vendor, "stale": stale, "kept": kept.target_key if kept else None,
            "current": current, "after": links.find("variant", "SHIRT-ROOD-M") is not None,
            "sql": [q["sql"] for q in queries.captured_queries]}



def products_integration(name: str, shop: dict[str, str], books: dict[str, Any], settings: dict[str, Any]
                         ) -> dict[str, Any]:
    """Migrate, store the connections and an integration whose products flow has these settings."""
    from koppel.core.integrations.models import Integration
    from tests.flows.scenarios import make_integration

    made = make_integration(name, shop, books, {})
    Integration.objects.filter(pk=made["integration_id"]).update(flows={"products": settings})
    return made


def products_worker(executor_id: str, integration_id: int, run_id: str, full: bool = False) -> dict[str, Any]:
    """A worker that starts (or, restarted, resumes) the products run `run_id` and waits for it."""
    from koppel.sync import engine, units
    from tests.flows.scenarios import FAST, OUTCOMES

    engine.launch(executor_id=executor_id, options=FAST)
    prefix = units.run_id_prefix("products", integration_id)
    outcome = units.start_flow_run("products", integration_id, full=full, workflow_id=prefix + run_id).get_result()
    engine.shutdown()
    records = outcome.get("records", [])
    counts = {o: sum(1 for r in records if r["outcome"] == o) for o in OUTCOMES}
    return {"counts": counts, "records": records, "error": outcome.get("error", "")}


def variant_links(integration_id: int) -> dict[str, str]:
    """The integration's variant links in the database: AccountView code → "<article id>/<variant id>"."""
    from koppel.core.activity.models import Link

    return dict(Link.objects.filter(integration_id=integration_id, entity="variant")
                .values_list("source_key", "target_key"))


SCENARIOS = {"make_category": make_category, "variant_links": variant_links,
             "forget_if_on_the_database": forget_if_on_the_database, "products_integration": products_integration,
             "products_worker": products_worker}
