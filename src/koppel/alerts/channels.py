"""The two ways an alert leaves Koppel: an e-mail over SMTP (STARTTLS, implicit TLS or plain, with login
when configured) and a webhook (a JSON POST signed with HMAC-SHA256, for Slack/Teams-style endpoints or
the merchant's own).

A webhook's receiver checks `X-Koppel-Signature: sha256=<hex>`, the HMAC of `<timestamp>.<body>` under the
channel's secret, with the timestamp from `X-Koppel-Timestamp` (refuse old ones against replays), and may
drop repeats by `X-Koppel-Delivery`. Both raise on failure; the delivery workflow retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx

from koppel.alerts.messages import Message
from koppel.alerts.settings import SmtpSettings


class ChannelError(Exception):
    """A channel refused or could not take a message."""


def send_email(smtp: SmtpSettings, recipients: list[str], message: Message, *, message_id: str) -> None:
    """One mail to all recipients. `message_id` is the same on every try, so a mail client shows a mail
    sent twice (a crash right after the server took it) as one."""
    if not smtp.host:
        raise ChannelError("no mail server is configured (KOPPEL_SMTP_HOST)")
    if not recipients:
        raise ChannelError("the channel has no recipients")
    mail = EmailMessage()
    mail["From"] = smtp.sender
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{message_id}@koppel>"
    mail.set_content(message.text)
    context = ssl.create_default_context(cafile=smtp.ca_file or None)
    try:
        if smtp.security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with server:
            if smtp.security == "starttls":
                server.starttls(context=context)
            if smtp.username:
                server.login(smtp.username, smtp.password.get_secret_value())
            server.send_message(mail)
    except (smtplib.SMTPException, OSError) as error:
        raise ChannelError(f"mail server {smtp.host}:{smtp.port}: {error}") from error


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of X-Koppel-Signature for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def send_webhook(url: str, secret: str, payload: dict[str, Any], *, delivery_id: str, timeout: float) -> None:
    """POST the payload as JSON, signed; any answer but 2xx is a failure."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Koppel-Alerts",
               "X-Koppel-Timestamp": timestamp, "X-Koppel-Delivery": delivery_id}
    if secret:
        headers["X-Koppel-Signature"] = signature(secret, timestamp, body)
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        raise ChannelError(f"webhook {url}: {type(error).__name__}: {error}") from error
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"webhook {url} answered {response.status_code}: {response.text[:200]}")
