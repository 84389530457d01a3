"""Settings saved through the operators' admin go through the same settings models as `koppel integration
apply`: a bad flow setting or AccountView profile setting is refused on the form, naming the setting, and
nothing is stored; the same form with good values is saved (so the refusals are the settings' doing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from koppel.core.integrations.apply import apply_file
from koppel.core.integrations.models import Connection, Integration
from tests.core.integrations.test_apply import GOOD

pytestmark = pytest.mark.django_db
BOOKS = {"base_url": "http://127.0.0.1:9", "company_id": "ACME"}


@pytest.fixture
def integration(koppel_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Integration:
    monkeypatch.setenv("ACME_MWW_TOKEN", "store-token")
    path = tmp_path / "integration.toml"
    path.write_text(GOOD)
    apply_file(path)
    return Integration.objects.get(name="acme-shop")


def post_flows(client: Client, integration: Integration, change: dict[str, Any]) -> tuple[int, str]:
    flows = json.loads(json.dumps(integration.flows))
    flows["orders"].update(change)
    schedules = list(integration.schedules.order_by("pk"))
    form: dict[str, Any] = {
        "workspace": integration.workspace_id, "name": integration.name, "shop": integration.shop_id,
        "books": integration.books_id, "flows": json.dumps(flows), "mapping_overrides": "{}", "enabled": "on",
        "paused_reason": "", "schedules-TOTAL_FORMS": len(schedules), "schedules-INITIAL_FORMS": len(schedules),
        "schedules-MIN_NUM_FORMS": 0, "schedules-MAX_NUM_FORMS": 1000,
    }
    for n, schedule in enumerate(schedules):
        form |= {f"schedules-{n}-id": schedule.pk, f"schedules-{n}-integration": integration.pk,
                 f"schedules-{n}-flow": schedule.flow, f"schedules-{n}-interval_seconds": schedule.interval_seconds,
                 f"schedules-{n}-enabled": "on"}
    answer = client.post(f"/admin/integrations/integration/{integration.pk}/change/", form)
    return answer.status_code, answer.content.decode()


def post_books(client: Client, books: Connection, settings: dict[str, Any]) -> tuple[int, str]:
    form = {"workspace": books.workspace_id, "name": books.name, "system": books.system,
            "settings": json.dumps(settings), "broken_reason": ""}
    answer = client.post(f"/admin/integrations/connection/{books.pk}/change/", form)
    return answer.status_code, answer.content.decode()


@pytest.mark.parametrize(
    ("change", "named", "why"),
    [
        ({"statuses": []}, "orders.statuses", "choose at least one order status"),
        ({"write_as": "quotation"}, "orders.write_as", "sales_order"),
        ({"total_tolerance": "lots"}, "orders.total_tolerance", "decimal"),
    ],
)
def test_bad_flow_settings_are_refused_on_the_form(
    admin_client: Client, integration: Integration, change: dict[str, Any], named: str, why: str
) -> None:
    status, page = post_flows(admin_client, integration, change)
    assert status == 200 and named in page and why in page
    assert Integration.objects.get(pk=integration.pk).flows == integration.flows


def test_good_flow_settings_are_saved(admin_client: Client, integration: Integration) -> None:
    assert post_flows(admin_client, integration, {"statuses": [3]})[0] == 302
    assert Integration.objects.get(pk=integration.pk).flows["orders"]["statuses"] == [3]


def test_a_bad_profile_setting_is_refused_on_the_form(admin_client: Client, integration: Integration) -> None:
    books = integration.books
    status, page = post_books(admin_client, books, {**BOOKS, "profile": {"list_filter": "sometimes"}})
    assert status == 200 and "profile.list_filter" in page and "match_any" in page
    assert "profile" not in Connection.objects.get(pk=books.pk).settings

    assert post_books(admin_client, books, {**BOOKS, "profile": {"list_filter": "match_any"}})[0] == 302
    assert Connection.objects.get(pk=books.pk).settings["profile"] == {"list_filter": "match_any"}


def test_saving_in_code_is_refused_too(integration: Integration) -> None:
    from django.core.exceptions import ValidationError

    integration.flows = {**integration.flows, "orders": {**integration.flows["orders"], "statuses": []}}
    with pytest.raises(ValidationError, match="orders.statuses"):
        integration.save()
    # Settings stored before they were checked stay readable, and a save that leaves them alone (the
    # engine pausing the integration) still works.
    Integration.objects.filter(pk=integration.pk).update(flows=integration.flows)
    integration.refresh_from_db()
    integration.paused_reason = "paused by a test"
    integration.save(update_fields=["paused_reason"])
    assert Integration.objects.get(pk=integration.pk).paused_reason == "paused by a test"


def test_the_connection_page_shows_every_profile_setting_with_its_evidence(
    admin_client: Client, integration: Integration
) -> None:
    books = integration.books
    assert post_books(admin_client, books, {**BOOKS, "profile": {"list_filter": "match_any"}})[0] == 302
    page = admin_client.get(f"/admin/integrations/connection/{books.pk}/change/").content.decode()
    assert "<td><code>list_filter</code></td><td><code>match_any</code></td><td>set</td>" in page
    assert "<td><code>equal_case_sensitive</code></td><td><code>True</code></td><td>default</td>" in page
    assert "[assumed NOTES §11, §15.13: unknown]" in page and "[confirmed NOTES §3.5]" in page
