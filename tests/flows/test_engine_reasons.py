"""Reasons on the durable engine (`koppel sync` in a child process, DBOS storing each unit's result as
JSON): a parked order's activity keeps its translatable form next to the English, a reason inside a
reason included, and the run's summary gives it back for every record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.flows.scenarios import activity, make_integration, spawn, sync_command
from tests.flows.test_engine import environment, integrate
from tests.flows.test_orders import eligible
from tests.flows.world import start_world

pytestmark = pytest.mark.usefixtures("_fork_server")  # children fork from a server that imported the scenarios


def stored_reasons(integration_id: int) -> dict[str, Any]:
    """Each order's reason and its form, as the activity table keeps them."""
    from koppel.core.activity.models import Activity

    return {row.key: [row.reason, row.reason_args]
            for row in Activity.objects.filter(integration_id=integration_id, entity="order")}


SCENARIOS = {"make_integration": make_integration, "sync_command": sync_command, "activity": activity,
             "stored_reasons": stored_reasons}


@pytest.mark.slow  # real koppel processes
def test_a_durable_run_stores_and_returns_each_reasons_form(tmp_path: Path) -> None:
    world = start_world(orders=8, articles=12)
    try:
        bad = dict(eligible(world)[0], number=9402)
        bad["orderlines"] = [
            dict(line, articles=[dict(line["articles"][0], sku="ONBEKEND-7")]) if line["type"] == "article" else line
            for line in bad["orderlines"]
        ]
        world.shop_sandbox.add_order(bad)
        env = environment(tmp_path)
        iid = integrate(world, env, tmp_path, "durable")
        summary = spawn(env, tmp_path, "sync_command", "durable", scenarios=__name__).wait()
        stored = spawn(env, tmp_path, "stored_reasons", iid, scenarios=__name__).wait()
    finally:
        world.stop()

    text, form = stored["9402"]
    assert "ONBEKEND-7" in text and text.endswith("and retry the order.")
    assert form["template"].startswith("{problems}. Create the articles in AccountView")
    (missing,) = form["params"]["problems"]["params"].values()
    assert missing["template"] == "AccountView has no article with {how} {codes}"
    assert missing["params"]["codes"] == "ONBEKEND-7" and missing["params"]["how"]["template"] == "SKU (article code)"
    sent = [(key, reason) for key, (reason, form) in stored.items() if key != "9402"]
    assert sent and all(stored[key][1]["template"] == "{kind} {target} for debtor {debtor} ({how})" for key, _ in sent)
    returned = {r["key"]: r for r in summary["records"]}
    assert returned["9402"]["reason"] == text and returned["9402"]["reason_args"] == form
