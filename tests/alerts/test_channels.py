"""E-mail over a real SMTP server (plain, and STARTTLS with a login) and webhooks whose signature the
receiving server checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from koppel.alerts.channels import ChannelError, send_email, send_webhook, signature
from koppel.alerts.messages import Message
from koppel.alerts.settings import SmtpSettings
from tests.alerts.servers import SmtpServer, WebhookReceiver, certificate, free_port

MESSAGE = Message("AccountView-koppeling verbroken: boeken", "Wat te doen: koppel opnieuw.\n", "http://x/")


def test_an_email_reaches_a_real_smtp_server_with_every_recipient() -> None:
    with SmtpServer() as server:
        smtp = SmtpSettings(host="127.0.0.1", port=server.port, security="none", sender="Koppel <k@example.nl>")
        send_email(smtp, ["a@example.nl", "b@example.nl"], MESSAGE, message_id="notice-1-channel-2")
        [mail] = server.mailbox.wait_for(1)
    assert mail["Subject"] == MESSAGE.subject
    assert mail["To"] == "a@example.nl, b@example.nl"
    assert mail["Message-ID"] == "<notice-1-channel-2@koppel>"
    assert "koppel opnieuw" in mail.get_payload(decode=True).decode()


def test_starttls_with_a_login(tmp_path: Path) -> None:
    cert, key = certificate(tmp_path)
    with SmtpServer(tls_files=(cert, key)) as server:
        smtp = SmtpSettings(host="127.0.0.1", port=server.port, security="starttls", ca_file=str(cert),
                            username=SmtpServer.USER, password=SecretStr(SmtpServer.PASSWORD))
        send_email(smtp, ["a@example.nl"], MESSAGE, message_id="m1")
        assert len(server.mailbox.wait_for(1)) == 1
        wrong = smtp.model_copy(update={"password": SecretStr("wrong"), "timeout": 2})
        with pytest.raises(ChannelError, match="127.0.0.1"):
            send_email(wrong, ["a@example.nl"], MESSAGE, message_id="m2")
        untrusted = smtp.model_copy(update={"ca_file": ""})  # a certificate nobody vouches for is refused
        with pytest.raises(ChannelError):
            send_email(untrusted, ["a@example.nl"], MESSAGE, message_id="m3")
        assert len(server.mailbox.received()) == 1


def test_no_server_is_a_channel_error_naming_it() -> None:
    with pytest.raises(ChannelError, match="KOPPEL_SMTP_HOST"):
        send_email(SmtpSettings(host=""), ["a@example.nl"], MESSAGE, message_id="m")
    port = free_port()  # nothing listens there
    with pytest.raises(ChannelError, match=str(port)):
        send_email(SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=2), ["a@x.nl"], MESSAGE,
                   message_id="m")


def test_the_receiver_verifies_the_webhook_signature() -> None:
    with WebhookReceiver("geheim") as receiver:
        send_webhook(receiver.url, "geheim", {"text": "hallo", "kind": "parked"}, delivery_id="7", timeout=5)
        [hook] = receiver.hooks
    assert hook.signed
    assert hook.body == {"text": "hallo", "kind": "parked"}
    assert hook.headers["X-Koppel-Delivery"] == "7"


def test_a_webhook_signed_with_another_secret_is_refused_and_that_is_an_error() -> None:
    with WebhookReceiver("geheim") as receiver:
        with pytest.raises(ChannelError, match="401"):
            send_webhook(receiver.url, "anders", {"text": "x"}, delivery_id="8", timeout=5)
        assert [h.signed for h in receiver.hooks] == [False]


def test_the_signature_covers_timestamp_and_body() -> None:
    assert signature("s", "1", b"{}") != signature("s", "2", b"{}")
    assert signature("s", "1", b"{}") != signature("s", "1", b"{ }")
