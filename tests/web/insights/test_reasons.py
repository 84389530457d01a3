"""Insights in the user's language: parked records grouped by their reason's template (orders that differ
only in their numbers are one group, headed by the template in Dutch or German, one example shown in full
with its numbers), and the last run's error translated from its stored form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from koppel.core.accounts.models import Membership
from koppel.core.activity.models import Activity, Run
from koppel.reasons import as_args, reason
from tests.web.insights.test_views import BACKEND, integration_of

pytestmark = pytest.mark.django_db

CREDIT = ("Order {order} is a credit order (for order {original}). Book the credit in AccountView, or set credit "
          "orders to 'book' in the integration's settings (credit_orders) to have them booked as a credit of the "
          "original.")


def park(integration, key: str, why: str) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    Activity.objects.create(integration=integration, entity="order", key=key, outcome="needs_attention",
                            reason=why, reason_args=as_args(why), created_at=now, updated_at=now)


def page(integration, language: str) -> str:  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_user(f"anna-{language}", f"anna-{language}@example.nl", "pw")
    Membership.objects.create(workspace=integration.workspace, user=user, role="read_only")
    client = Client()
    client.force_login(user, backend=BACKEND)
    answer = client.get(f"/insights/w/{integration.workspace_id}/integrations/{integration.pk}/",
                        HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 200
    return answer.content.decode()


@pytest.mark.parametrize(("language", "heading", "example", "offline"), [
    ("nl", "Order … is een creditorder (voor order …)", "Order 100234 is een creditorder (voor order 100198)",
     "de AccountView-koppeling met de administratie is offline"),
    ("de", "Bestellung … ist eine Gutschriftsbestellung (für Bestellung …)",
     "Bestellung 100234 ist eine Gutschriftsbestellung (für Bestellung 100198)",
     "die AccountView-Verbindung zur Administration ist offline"),
])
def test_parked_records_are_grouped_by_their_reason_in_the_users_language(
        language: str, heading: str, example: str, offline: str) -> None:
    shop = integration_of("bakkerij")
    # three credit orders: their numbers differ, even in length, which split them into groups before
    for order, original in (("100234", "100198"), ("100235", "99870"), ("7", "3")):
        park(shop, order, reason(CREDIT, order=order, original=original))
    park(shop, "100240", reason("the AccountView link to the administration is offline"))
    park(shop, "100241", "order 100241: a reason recorded before reasons had a form")  # grouped by its text

    text = page(shop, language)
    parked = text[text.index('id="parked"'):text.index("</table>", text.index('id="parked"'))]
    rows = parked.split("<tr>")[1:]
    assert len(rows) == 3
    assert heading in rows[0] and example in rows[0] and '<td class="count">3</td>' in rows[0]
    assert offline in parked
    assert "order …: a reason recorded before reasons had a form" in parked
    assert "is a credit order" not in parked  # nothing of the English template left


@pytest.mark.parametrize(("language", "shown"), [
    ("nl", "De instellingen van orders zijn ongeldig: vat_codes.9: Input should be a valid string (waarde 12)."),
    ("de", "Die Einstellungen von orders sind ungültig: vat_codes.9: Input should be a valid string (Wert 12)."),
])
def test_the_last_runs_error_is_shown_in_the_users_language(language: str, shown: str) -> None:
    shop = integration_of("bakkerij")
    error = reason("The {flow} settings are invalid: {problems}. Correct them in the integration's settings.",
                   flow="orders", problems=reason("{setting}: {problem} (value {value})", setting="vat_codes.9",
                                                  problem="Input should be a valid string", value="12"))
    now = timezone.now()
    Run.objects.create(integration=shop, flow="orders", status="failed", started_at=now - timedelta(minutes=2),
                       finished_at=now, error=error, error_args=error.as_args())
    text = page(shop, language)
    runs = text[text.index('id="runs"'):]
    assert shown in runs
    assert "settings are invalid" not in runs  # pydantic's own message stays as pydantic says it
