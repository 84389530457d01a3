"""Alerts are durable work: a process killed between deciding an alert and sending it neither loses nor
doubles the mail; a webhook that fails is tried again with backoff; a channel that keeps failing is
marked failing and said so on the workspace's other channels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.alerts.scenarios import spawn
from tests.alerts.servers import SmtpServer, WebhookReceiver, free_port

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("_fork_server")]  # real engine processes

NOWHERE = "http://127.0.0.1:9"  # nothing is called: the connections are only rows here


def environment(tmp_path: Path, smtp: SmtpServer, attempts: int = 6) -> dict[str, str]:
    return {"KOPPEL_DATA_DIR": str(tmp_path / "var"), "KOPPEL_LOG_LEVEL": "WARNING",
            "KOPPEL_SMTP_HOST": "127.0.0.1", "KOPPEL_SMTP_PORT": str(smtp.port), "KOPPEL_SMTP_SECURITY": "none",
            "KOPPEL_ALERTS_DELIVERY_INTERVAL": "0.1", "KOPPEL_ALERTS_DELIVERY_ATTEMPTS": str(attempts)}


def set_up(env: dict[str, str], tmp_path: Path, channels: list[dict[str, Any]]) -> int:
    shop = {"url": NOWHERE, "token": "t", "partner_token": "p"}
    books = {"url": NOWHERE, "company_id": "1", "client_id": "c", "client_secret": "s", "tokens": {}}
    made = spawn(env, tmp_path, "set_up", shop, books, {}, channels, {"language": "en"}).wait()
    return int(made["integration_id"])


EMAIL = {"via": "email", "target": "owner@bakery.example"}


@pytest.mark.parametrize("killed", ["after deciding", "after starting the delivery"])
def test_a_crash_between_deciding_and_sending_neither_loses_nor_doubles_the_alert(
        killed: str, smtp: SmtpServer, tmp_path: Path) -> None:
    env = environment(tmp_path, smtp)
    iid = set_up(env, tmp_path, [EMAIL])
    doomed = spawn(env, tmp_path, "decide_and_die", iid, killed != "after deciding")
    doomed.process.join(60)
    assert doomed.process.exitcode == -9  # SIGKILL
    after = spawn(env, tmp_path, "steps", "survivor", iid, "monitor").wait()
    assert [event for event, _ in after["notices"]] == ["opened"]
    assert all(done for _, done in after["notices"])
    mails = smtp.mailbox.wait_for(1)
    again = spawn(env, tmp_path, "steps", "survivor-2", iid, "monitor", "break").wait()  # told once
    assert len(again["notices"]) == 1
    assert [m["Subject"] for m in smtp.mailbox.received()] == ["AccountView connection broken: books"] == [
        m["Subject"] for m in mails]


def test_a_webhook_is_tried_again_until_it_is_taken(smtp: SmtpServer, tmp_path: Path) -> None:
    with WebhookReceiver("geheim", fail_first=2) as receiver:
        env = environment(tmp_path, smtp)
        iid = set_up(env, tmp_path, [{"via": "webhook", "target": receiver.url, "secret": "geheim"}])
        state = spawn(env, tmp_path, "steps", "w1", iid, "break").wait()
        [hook] = receiver.hooks
    assert receiver.attempts == 3
    assert hook.signed
    assert hook.body["kind"] == "broken_connection" and hook.body["event"] == "opened"
    assert hook.body["subject"] == "AccountView connection broken: books"
    assert state["deliveries"] == [["sent", 3, ""]]


def test_a_channel_that_keeps_failing_is_marked_and_told_on_the_others(smtp: SmtpServer, tmp_path: Path) -> None:
    env = environment(tmp_path, smtp, attempts=3)
    dead = f"http://127.0.0.1:{free_port()}/hook"
    iid = set_up(env, tmp_path, [{"via": "webhook", "target": dead, "secret": "s"}, EMAIL])
    state = spawn(env, tmp_path, "steps", "w1", iid, "break").wait()
    subjects = sorted(m["Subject"] for m in smtp.mailbox.wait_for(2))
    assert subjects == ["AccountView connection broken: books", f"Alerts cannot be sent to webhook: {dead}"]
    statuses = [status for status, _, _ in state["deliveries"]]
    assert statuses == ["failed", "sent", "sent"]  # the webhook's try, the mail, the channel alert by mail
    assert state["deliveries"][0][1] == 3 and "ConnectError" in state["deliveries"][0][2]
    assert sorted(a["kind"] for a in state["alerts"]) == ["broken_connection", "channel_failing"]
