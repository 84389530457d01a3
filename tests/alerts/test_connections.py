"""A broken connection on the real engine, against the sandboxes and a real SMTP server: the AccountView
grant revoked → exactly one alert mail naming the cause, the integration paused, nothing parked while it
is; reconnected → resumed on its own, the waiting order sent, a recovery mail. The AccountView.net relay
offline: a blip is no alert, beyond the workspace's threshold it is (and it recovers by the probe)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from koppel.connectors.sandboxkit.faults import Fault
from tests.alerts.scenarios import spawn
from tests.alerts.servers import SmtpServer
from tests.flows.test_orders import eligible
from tests.flows.world import SETTINGS, World

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("_fork_server")]  # real engine processes


def environment(tmp_path: Path, smtp: SmtpServer) -> dict[str, str]:
    return {"KOPPEL_DATA_DIR": str(tmp_path / "var"), "KOPPEL_LOG_LEVEL": "WARNING",
            "KOPPEL_SMTP_HOST": "127.0.0.1", "KOPPEL_SMTP_PORT": str(smtp.port), "KOPPEL_SMTP_SECURITY": "none",
            "KOPPEL_ALERTS_BASE_URL": "https://koppel.example", "KOPPEL_ALERTS_DELIVERY_INTERVAL": "0.1"}


def set_up(world: World, env: dict[str, str], tmp_path: Path, kinds: tuple[str, ...] = (),
           **policy: Any) -> dict[str, Any]:
    tokens = world.books.token_store.load()
    assert tokens is not None
    books = {"url": world.books_sandbox.url, "company_id": world.books_sandbox.company_id,
             "client_id": world.books_sandbox.info.client_id, "client_secret": world.books_sandbox.info.client_secret,
             "tokens": tokens.model_dump(mode="json")}
    info = world.shop_sandbox.info
    shop = {"url": info.url, "token": info.token, "partner_token": info.partner_token}
    channels = [{"via": "email", "target": "eigenaar@bakkerij.nl", "kinds": list(kinds)}]
    return spawn(env, tmp_path, "set_up", shop, books, SETTINGS, channels, {"language": "nl", **policy}).wait()


def broken(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [alert for alert in state["alerts"] if alert["kind"] == "broken_connection"]


def new_order(world: World, number: int, sku: str = "") -> None:
    """A paid order placed just now (its status-change moment after the flow's cursor), its articles
    replaced by `sku` when given."""
    now = datetime.now(ZoneInfo("Europe/Amsterdam"))
    stamp = {"date": f"{now:%Y-%m-%d}", "time": f"{now:%H:%M:%S}", "status_changed_date": f"{now:%Y-%m-%d}",
             "status_changed_time": f"{now:%H:%M:%S}", "archived": False}
    order = dict(eligible(world)[0], number=number, **stamp)
    if sku:
        order["orderlines"] = [dict(line, articles=[dict(line["articles"][0], sku=sku)])
                               if line["type"] == "article" else line for line in order["orderlines"]]
    world.shop_sandbox.add_order(order)


def test_a_revoked_grant_alerts_once_pauses_and_recovers_by_itself(world: World, smtp: SmtpServer,
                                                                   tmp_path: Path) -> None:
    env = environment(tmp_path, smtp)
    made = set_up(world, env, tmp_path)
    iid = made["integration_id"]
    first = spawn(env, tmp_path, "steps", "w1", iid, "tick").wait()
    assert first["runs"] == ["succeeded"] and first["sent"]

    httpx.post(f"{world.books_sandbox.url}/_sandbox/tokens/revoke").raise_for_status()
    new_order(world, 9501)
    broken = spawn(env, tmp_path, "steps", "w2", iid, "tick").wait()
    assert broken["runs"] == ["succeeded", "failed"]
    assert broken["paused_reason"].startswith("Paused by Koppel: the AccountView connection books is broken")
    assert "invalid_grant" in broken["broken_reason"]
    [mail] = smtp.mailbox.wait_for(1)
    assert mail["Subject"] == "AccountView-koppeling verbroken: books"
    body = mail.get_payload(decode=True).decode()
    assert "AccountView accepteert de toestemming van Koppel niet meer" in body
    assert "Gepauzeerd tot het weer werkt: bakkerij." in body
    assert f"https://koppel.example/w/{made['workspace_id']}/connections/{made['books_id']}/" in body

    calls_before = dict(world.books_sandbox.calls)
    paused = spawn(env, tmp_path, "steps", "w3", iid, "tick", "tick", "monitor").wait()
    assert paused["started"] == []  # no runs while paused …
    assert paused["parked"] == 0    # … so nothing parked (the failed run stopped before any order)
    assert dict(world.books_sandbox.calls) == calls_before  # and no call: the probe waits its interval
    assert len(smtp.mailbox.received()) == 1
    assert [a["kind"] for a in paused["alerts"]] == ["broken_connection"]

    back = spawn(env, tmp_path, "steps", "w4", iid, "reconnect", "monitor", "tick").wait()
    assert back["paused_reason"] == "" and back["broken_reason"] == ""
    assert "9501" in back["sent"] and world.sales_orders("9501") == 1
    assert back["parked"] == 0
    assert back["alerts"][0]["resolved_at"]
    mails = smtp.mailbox.wait_for(2)
    assert [m["Subject"] for m in mails] == ["AccountView-koppeling verbroken: books",
                                             "Opgelost: AccountView-koppeling werkt weer: books"]


def test_a_relay_blip_is_no_alert_but_offline_beyond_the_threshold_is(world: World, smtp: SmtpServer,
                                                                      tmp_path: Path) -> None:
    env = environment(tmp_path, smtp)
    # the clock jumps ahead by the hour here: the silence that makes is not this test's business
    iid = set_up(world, env, tmp_path, kinds=("broken_connection",), offline_minutes=30)["integration_id"]
    offline = world.books_sandbox.relay_offline()
    blip = spawn(env, tmp_path, "steps", "w1", iid, "tick").wait()
    assert blip["runs"] == ["failed"] and blip["paused_reason"] == ""
    world.books_sandbox.faults.clear()
    after = spawn(env, tmp_path, "steps", "w2", iid, "tick", "monitor+60").wait()
    assert after["runs"][0] == "failed" and after["runs"][1] != "failed"  # completed (some orders may park)
    assert broken(after) == [] and after["paused_reason"] == ""  # the run that worked cleared the blip

    world.books_sandbox.faults.add(offline)
    down = spawn(env, tmp_path, "steps", "w3", iid, "tick", "monitor+29").wait()
    assert broken(down) == [] and smtp.mailbox.received() == []  # offline, not yet for long
    long = spawn(env, tmp_path, "steps", "w4", iid, "monitor+31").wait()
    [alert] = broken(long)
    assert alert["facts"]["cause"] == "offline"
    assert long["paused_reason"].startswith("Paused by Koppel")
    [mail] = smtp.mailbox.wait_for(1)
    assert "AccountView is niet bereikbaar" in mail.get_payload(decode=True).decode()

    world.books_sandbox.faults.clear()
    up = spawn(env, tmp_path, "steps", "w5", iid, "monitor+40").wait()  # the probe is due: it works again
    assert up["paused_reason"] == "" and broken(up)[0]["resolved_at"]
    assert len(smtp.mailbox.wait_for(2)) == 2


def test_a_connection_that_breaks_during_a_run_is_not_hammered(world: World, smtp: SmtpServer,
                                                               tmp_path: Path) -> None:
    env = environment(tmp_path, smtp)
    iid = set_up(world, env, tmp_path, kinds=("broken_connection",))["integration_id"]
    for number in range(9700, 9730):
        new_order(world, number)
    refused = world.books_sandbox.faults.add(Fault(kind="http_status", status=403, method="POST",
                                                   path="/api/v3/accountviewdata*"))  # reads work, writes refused
    state = spawn(env, tmp_path, "steps", "w1", iid, "tick").wait()
    assert state["runs"] == ["partial"]
    assert 1 <= refused.fired <= 8  # the units already under way (4 at a time here), not all thirty
    assert state["parked"] <= 8     # the rest were not tried, nor parked: they go again after the repair
    assert state["paused_reason"].startswith("Paused by Koppel: the AccountView connection books is broken")
    [mail] = smtp.mailbox.wait_for(1)
    assert "AccountView weigert de toegang" in mail.get_payload(decode=True).decode()

    world.books_sandbox.faults.clear()  # the rights are given in AccountView …
    waiting = spawn(env, tmp_path, "steps", "w2", iid, "monitor+60", "tick").wait()
    assert waiting["paused_reason"] and waiting["started"] == []  # … but reads could never tell it was gone
    back = spawn(env, tmp_path, "steps", "w3", iid, "touch", "monitor", "tick").wait()  # … the connection saved
    assert back["paused_reason"] == "" and back["runs"][-1] != "failed"
    booked = [world.sales_orders(str(n)) for n in range(9700, 9730)]
    assert max(booked) == 1 and booked.count(1) >= 25  # never twice (a loaded machine may park one or two)
    assert len(smtp.mailbox.wait_for(2)) == 2
