"""Fifty orders parked in one run against the sandboxes are one message, grouped by reason, not fifty."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alerts.scenarios import spawn
from tests.alerts.servers import SmtpServer
from tests.alerts.test_connections import environment, new_order, set_up
from tests.flows.world import World

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("_fork_server")]  # real engine processes


def test_fifty_parked_orders_in_one_run_are_one_grouped_message(world: World, smtp: SmtpServer,
                                                                tmp_path: Path) -> None:
    env = environment(tmp_path, smtp)
    iid = set_up(world, env, tmp_path, kinds=("parked",))["integration_id"]
    for number in range(9600, 9650):
        new_order(world, number, sku="ONBEKEND-9")
    state = spawn(env, tmp_path, "steps", "w1", iid, "tick", "monitor").wait()
    assert state["parked"] >= 50
    [mail] = smtp.mailbox.wait_for(1)
    assert mail["Subject"] == f"{state['parked']} bestellingen geparkeerd in bakkerij"
    body = mail.get_payload(decode=True).decode()
    [group] = [line for line in body.splitlines() if "ONBEKEND-9" in line]
    assert group.startswith("- 50 × ")
    again = spawn(env, tmp_path, "steps", "w2", iid, "monitor").wait()  # nothing new: nothing told
    assert len(smtp.mailbox.received()) == 1 and len(again["notices"]) == 1
