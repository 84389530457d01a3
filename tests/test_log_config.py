"""Whatever Koppel logs, tokens never appear: httpx's request lines with MijnWebwinkel's tokens in the query
string (a real call to the sandbox), uvicorn's access line of an OAuth callback with its code, a traceback
whose message carries a URL, and our own structlog events."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from uvicorn.logging import AccessFormatter

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox
from koppel.log_config import configure_logging


@pytest.fixture(autouse=True)
def logging_at_info() -> Iterator[None]:
    """INFO for this test; afterwards the logging as it was (a test after it in the same process counts the
    events it logs: tests/connectors/sandboxkit/test_faults.py)."""
    saved, root = structlog.get_config(), logging.getLogger()
    level = root.level
    configure_logging("INFO")
    yield
    structlog.configure(**saved)
    root.setLevel(level)


def test_a_real_request_line_keeps_the_tokens_out(caplog: pytest.LogCaptureFixture) -> None:
    from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient

    caplog.set_level(logging.INFO)
    with MijnWebwinkelSandbox(seed=1) as sandbox:
        info = sandbox.info
        client = MijnWebwinkelClient(info.url, info.token, info.partner_token)
        assert client.get_order(next(iter(sandbox.state.orders.values()))["number"])
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines and all("token=***" in line for line in lines)  # the request was logged, scrubbed
    assert info.token not in caplog.text and info.partner_token not in caplog.text


def test_an_oauth_callback_in_the_access_log_keeps_its_code_out(caplog: pytest.LogCaptureFixture) -> None:
    access = logging.getLogger("uvicorn.access")  # uvicorn's own handlers; it does not propagate
    access.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:50312", "GET",
                "/setup/accountview/callback?code=Zk3-code-Vq&state=s1", "1.1", 302)
    access.removeHandler(caplog.handler)
    assert "Zk3-code-Vq" not in caplog.text and "code=***&state=s1" in caplog.text
    # uvicorn's access formatter reads the arguments themselves: they are redacted, and still five.
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(caplog.records[-1])
    assert line == '127.0.0.1:50312 - "GET /setup/accountview/callback?code=***&state=s1 HTTP/1.1" 302 Found'


def test_a_secret_split_between_message_and_argument_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("koppel.test").warning("calling /v1/orders?partner_token=%s&limit=%d", "pt_Secret3", 2)
    assert "pt_Secret3" not in caplog.text and "partner_token=***" in caplog.text


def test_a_traceback_keeps_the_tokens_out(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError("no answer from https://api.example/v1/orders?token=st_Secret9&limit=2")
    except ValueError:
        logging.getLogger("koppel.sync").exception("run failed")
    assert "ValueError" in caplog.text and "st_Secret9" not in caplog.text


def test_our_own_events_keep_the_tokens_out(capsys: pytest.CaptureFixture[str]) -> None:
    log = structlog.get_logger("koppel.test")
    log.info("callback", url="http://127.0.0.1:8766/koppel/oauth/accountview?code=Av-code-77&state=x")
    try:
        raise RuntimeError("refresh_token=rt_Secret5 refused")
    except RuntimeError:
        log.exception("refresh failed")
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "callback" in printed and "RuntimeError" in printed
    assert "Av-code-77" not in printed and "rt_Secret5" not in printed
