"""Tokens travel in query strings: no token may appear in any captured log line (stdlib logging, structlog,
stdout/stderr) or exception text, through successes and every kind of failure."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest
import structlog

from koppel.connectors.http.redaction import Redactor, redact_url, structlog_processor
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox
from koppel.connectors.sandboxkit import Fault
from koppel.connectors.sandboxkit.serve import free_port

from .conftest import PARTNER_TOKEN, TOKEN, make_client


def _exception_texts(exc: BaseException) -> list[str]:
    return [
        str(exc),
        repr(exc),
        "".join(traceback.format_exception(exc)),
        str(getattr(exc, "message", "")),
        repr(getattr(exc, "value", "")),
    ]


def test_no_token_in_logs_or_exceptions(
    sandbox: MijnWebwinkelSandbox, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with make_client(sandbox.info, retry_attempts=2) as client:
        scenarios: list[Callable[[], object]] = [
            client.store,
            lambda: list(client.iter_orders(include_test=True)),
            lambda: client.get_order(31337),
            lambda: client.update_order(next(client.iter_orders()).number, status=777),
        ]
        sandbox.add_fault(Fault("http_status", path="/v1/articles/count", status=503))
        sandbox.add_fault(Fault("malformed", path="/v1/categories/count"))
        sandbox.add_fault(Fault("timeout", path="/v1/shipping/methods", seconds=0.5))
        sandbox.add_fault(Fault("drop_after_commit", path="/v1/orders/*", method="PATCH"))
        scenarios += [
            client.count_articles,
            client.count_categories,
            client.shipping_methods,
            lambda: client.update_order(next(client.iter_orders()).number, archived=False),
        ]
        with structlog.testing.capture_logs() as structured:
            for scenario in scenarios:
                try:
                    scenario()
                except Exception as exc:  # noqa: BLE001 - every failure's text is checked below
                    texts += _exception_texts(exc)
    with MijnWebwinkelClient(sandbox.info.url, TOKEN + "x", PARTNER_TOKEN, rate_per_second=None) as wrong:
        try:
            wrong.store()
        except Exception as exc:  # noqa: BLE001
            texts += _exception_texts(exc)
    with MijnWebwinkelClient(
        f"http://127.0.0.1:{free_port()}", TOKEN, PARTNER_TOKEN, rate_per_second=None, retry_attempts=1
    ) as offline:
        try:
            offline.store()
        except Exception as exc:  # noqa: BLE001
            texts += _exception_texts(exc)
        texts.append(repr(offline))
    captured = capsys.readouterr()
    texts += [r.getMessage() for r in caplog.records] + [str(r.__dict__) for r in caplog.records]
    texts += [str(event) for event in structured] + [captured.out, captured.err]
    assert len(texts) > 20 and any("***" in t for t in texts)
    for text in texts:
        assert TOKEN not in text and PARTNER_TOKEN not in text, text[:500]


@pytest.mark.parametrize(
    "url",
    [
        f"https://api.myonlinestore.com/v1/orders?token={TOKEN}&partner_token={PARTNER_TOKEN}&limit=1",
        f"/v1/orders?partner_token={PARTNER_TOKEN}&token={TOKEN}",
        f"GET https://x/v1/store?format=json&token={TOKEN} 200",
    ],
)
def test_redact_url(url: str) -> None:
    redacted = redact_url(url)
    assert TOKEN not in redacted and PARTNER_TOKEN not in redacted and "token=***" in redacted


def test_client_redacts_payloads_for_the_activity_log() -> None:
    with MijnWebwinkelClient("https://api.myonlinestore.com", TOKEN, PARTNER_TOKEN) as client:
        payload = client.redact({"request": f"GET /v1/orders?token={TOKEN}", "note": f"pt {PARTNER_TOKEN}"})
    assert payload == {"request": "GET /v1/orders?token=***", "note": "pt ***"}
    assert TOKEN not in repr(client)


def test_redactor_scrubs_literal_tokens_and_payloads() -> None:
    redactor = Redactor([TOKEN, PARTNER_TOKEN])
    assert redactor.text(f"failed for {TOKEN}") == "failed for ***"
    payload = {"token": TOKEN, "nested": [{"url": f"/x?partner_token={PARTNER_TOKEN}"}], "n": 3}
    assert redactor.data(payload) == {"token": "***", "nested": [{"url": "/x?partner_token=***"}], "n": 3}
    process = structlog_processor(redactor)
    assert process(None, "info", {"event": f"url ?token={TOKEN}"}) == {"event": "url ?token=***"}
