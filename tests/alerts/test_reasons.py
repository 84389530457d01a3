"""The reasons an alert quotes are in the alert policy's language: a parked-records alert in German quotes
why each group of orders was parked in German (its order numbers as they were), in its e-mail text and in
the webhook a program receives; a broken connection's details too. A reason stored without its form is
quoted as it was recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koppel.alerts import delivery, messages, watch
from koppel.alerts.connections import mark_broken
from koppel.core.activity.models import Activity
from koppel.core.alerts.models import Channel, Delivery, Notice
from koppel.reasons import as_args, reason
from tests.alerts.conftest import Shop
from tests.alerts.servers import WebhookReceiver

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CREDIT = ("Order {order} is a credit order (for order {original}). Book the credit in AccountView, or set credit "
          "orders to 'book' in the integration's settings (credit_orders) to have them booked as a credit of the "
          "original.")
GERMAN = "Bestellung 100234 ist eine Gutschriftsbestellung (für Bestellung 100198)"
DUTCH = "Order 100234 is een creditorder (voor order 100198)"


def park(merchant: Shop, key: str, why: str, at: datetime) -> None:
    Activity.objects.create(integration=merchant.integration, entity="order", key=key, outcome="needs_attention",
                            reason=why, reason_args=as_args(why), created_at=at, updated_at=at)


def parked_notice(merchant: Shop, language: str) -> Notice:
    merchant.policy.language = language
    merchant.policy.save()
    merchant.integration.created_at = T0 - timedelta(days=1)
    merchant.integration.save()
    park(merchant, "100234", reason(CREDIT, order="100234", original="100198"), T0)
    park(merchant, "100240", reason("the AccountView link to the administration is offline"), T0)
    park(merchant, "100241", "VAT code for 9 % not set", T0)  # recorded before reasons had a form
    [notice] = watch.parked(T0 + timedelta(minutes=1))
    return Notice.objects.get(pk=notice)


@pytest.mark.parametrize(("language", "credit", "offline"), [
    ("de", GERMAN, "die AccountView-Verbindung zur Administration ist offline"),
    ("nl", DUTCH, "de AccountView-koppeling met de administratie is offline"),
])
def test_a_parked_records_alert_quotes_the_reasons_in_the_policys_language(
        merchant: Shop, language: str, credit: str, offline: str) -> None:
    notice = parked_notice(merchant, language)
    text = messages.render("parked", notice.event, notice.facts, language=language).text
    lines = text.splitlines()
    assert any(line.startswith("- 1 × " + credit) for line in lines), text
    assert f"- 1 × {offline}" in lines
    assert "- 1 × VAT code for 9 % not set" in lines  # no form: as recorded
    assert "credit order" not in text


def test_the_webhook_of_a_german_policy_quotes_the_german_reason(merchant: Shop) -> None:
    notice = parked_notice(merchant, "de")
    with WebhookReceiver("geheim") as receiver:
        channel = Channel(workspace=merchant.workspace, via="webhook", target=receiver.url)
        channel.secret = "geheim"
        channel.save()
        delivery.deliver(Delivery.objects.create(notice=notice, channel=channel))
        [hook] = receiver.hooks
    assert hook.signed and GERMAN in hook.body["text"]
    assert hook.body["subject"] == "3 Bestellungen geparkt in bakkerij-shop"


def test_a_broken_connections_details_in_german(merchant: Shop) -> None:
    merchant.policy.language = "de"
    merchant.policy.save()
    error = reason("AccountView refused the authorisation ({error}); reconnect the administration",
                   error="invalid_grant")
    [notice_id] = mark_broken(merchant.books, error, T0)
    facts = Notice.objects.get(pk=notice_id).facts
    text = messages.render("broken_connection", "opened", facts, language="de").text
    assert ("Details: AccountView hat die Autorisierung verweigert (invalid_grant); verbinden Sie die "
            "Administration neu") in text
    assert "Details: AccountView refused the authorisation (invalid_grant)" in messages.render(
        "broken_connection", "opened", facts, language="en").text
