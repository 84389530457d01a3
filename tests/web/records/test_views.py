"""The records pages: the list filtered and searched (the reason in full), one record's fields side by side,
the actions (members act, read-only members look, another workspace's records are 404), bulk retry of a
filtered selection, the privacy settings, erasure by e-mail reported as counts, and the JSON export."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from koppel.alerts import raising
from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity, RecordAction, RetryOffer, Skip
from koppel.core.activity.models import Link as LinkRow
from koppel.core.alerts.models import Alert, Kind, Notice
from koppel.core.integrations.models import Integration
from koppel.sync import record_actions
from tests.web.alerts.test_views import user_in

pytestmark = pytest.mark.django_db
LONG_REASON = ("Order 1001: VAT code 21 is not in the VAT-code table of the integration's settings (vat_codes); "
               "add it under Settings → Orders → VAT codes, then retry the order. " + "More detail. " * 20)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, list[str]]]:
    calls: list[tuple[str, str, list[str]]] = []
    monkeypatch.setattr(record_actions, "starter", lambda flow, name, keys: calls.append((flow, name, keys)))
    return calls


def integration_of(workspace: Workspace, name: str) -> Integration:
    from tests.sync.scenarios import integration

    found = Integration.objects.get(pk=integration(name))
    Integration.objects.filter(pk=found.pk).update(workspace=workspace)
    found.refresh_from_db()
    return found


def record(integration: Integration, key: str, outcome: str = "needs_attention", reason: str = "", *,
           entity: str = "order", email: str = "", days_ago: int = 0, **fields: Any) -> Activity:
    moment = timezone.now() - timedelta(days=days_ago)
    payload = {"number": key, "customer": {"name": "J. Jansen", "email": email}, "lines": [{"sku": "A-1"}]}
    return Activity.objects.create(integration=integration, entity=entity, key=key, outcome=outcome, reason=reason,
                                   payload_in=payload if email else None, created_at=moment, updated_at=moment,
                                   **fields)


@pytest.fixture
def mine() -> Workspace:
    return Workspace.objects.create(name="bakkerij")


@pytest.fixture
def shop(mine: Workspace) -> Integration:
    return integration_of(mine, "bakkerij-shop")


@pytest.fixture
def foreign() -> Activity:
    other = Workspace.objects.create(name="slagerij")
    return record(integration_of(other, "slagerij-shop"), "9001", email="klant@example.nl")


def page(client: Client, url: str) -> str:
    """The page's HTML, without the places a long value may wrap (`<wbr>`, tested in a browser)."""
    answer = client.get(url)
    assert answer.status_code == 200, url
    return str(answer.content.decode()).replace("<wbr>", "")


def test_the_list_searches_filters_and_shows_the_reason_in_full(mine: Workspace, shop: Integration,
                                                                foreign: Activity) -> None:
    anna = user_in(mine, "anna", role="read_only")
    record(shop, "1001", reason=LONG_REASON, email="Piet@Example.nl")
    record(shop, "1002", "sent", "sales order 5 for debtor 7", target_key="SO-5", days_ago=3)
    record(shop, "A-77", "skipped", entity="product")
    url = f"/records/w/{mine.pk}/integrations/{shop.pk}/records/"

    everything = page(anna, url)
    assert escape(LONG_REASON.strip()) in everything  # in full, wrapped in its cell (no off-screen column)
    assert "Piet@Example.nl" in everything and "9001" not in everything
    assert "1001" in page(anna, url + "?q=piet@example") and "1002" not in page(anna, url + "?q=piet@example")
    assert "1002" in page(anna, url + "?q=SO-5")
    parked = page(anna, url + "?outcome=parked")
    assert "1001" in parked and "1002" not in parked and "A-77" not in parked
    assert "A-77" in page(anna, url + "?entity=product") and "1001" not in page(anna, url + "?entity=product")
    today = timezone.localdate().isoformat()
    recent = page(anna, url + f"?since={today}")
    assert "1001" in recent and "1002" not in recent
    assert "Retry the" not in everything  # read-only: no bulk action offered
    other = foreign.integration
    assert anna.get(f"/records/w/{mine.pk}/integrations/{other.pk}/records/").status_code == 404
    assert anna.get(f"/records/w/{other.workspace_id}/integrations/{other.pk}/records/").status_code == 404


def test_the_list_is_paginated(mine: Workspace, shop: Integration) -> None:
    anna = user_in(mine, "anna")
    for number in range(60):
        record(shop, f"N{number:03d}", "sent")
    url = f"/records/w/{mine.pk}/integrations/{shop.pk}/records/?outcome=sent"
    first, second = page(anna, url), page(anna, url + "&page=2")
    assert first.count("/records/w/") - second.count("/records/w/") >= 40
    shown = {n for n in range(60) if f">N{n:03d}<" in first} | {n for n in range(60) if f">N{n:03d}<" in second}
    assert shown == set(range(60))


def test_a_records_page_shows_fields_side_by_side_not_json(mine: Workspace, shop: Integration,
                                                          foreign: Activity) -> None:
    anna = user_in(mine, "anna", role="read_only")
    sent = record(shop, "1003", "sent", "sales order 9", target_key="SO-9", email="an@example.nl",
                  payload_out={"SalesOrderIn": {"SUB_NR": "D-12", "lines": [{"ART_CODE": "A-1", "QTY": 2}]}},
                  changes={"since": "2026-11-29T09:30:00+00:00", "fields": [
                      {"path": "SalesOrderIn.SUB_NR", "kind": "changed", "old": "D-11", "new": "D-12"},
                      {"path": "SalesOrderIn.lines.2", "kind": "removed", "old": {"ART_CODE": "B-2"}, "new": None}]})
    text = page(anna, f"/records/w/{mine.pk}/records/{sent.pk}/")
    assert "customer.email" in text and "an@example.nl" in text
    assert "SalesOrderIn.lines.1.ART_CODE" in text and "SO-9" in text
    content = text.split("<main", 1)[1]
    assert '{"' not in content and "{&quot;" not in content and "{&#x27;" not in content  # fields, not JSON
    changed = text.split("What changed", 1)[1].split("</section>", 1)[0]
    assert "SalesOrderIn.SUB_NR</td>" in changed and "<td>D-11</td>" in changed and "<td>D-12</td>" in changed
    assert "ART_CODE: B-2" in changed and "not sent this time" in changed  # a nested value as fields
    assert "Retry now" not in text and "Skip" not in text  # read-only: look, don't act
    assert anna.get(f"/records/w/{mine.pk}/records/{foreign.pk}/").status_code == 404


def test_actions_need_a_member_of_the_records_workspace(mine: Workspace, shop: Integration, foreign: Activity,
                                                        started: list) -> None:
    reader, member = user_in(mine, "rita", role="read_only"), user_in(mine, "anna")
    parked = record(shop, "1004", reason="VAT code 21 unknown")
    for action in ("retry", "skip", "unskip", "resync"):
        assert reader.post(f"/records/w/{mine.pk}/records/{parked.pk}/{action}/").status_code == 403
        assert member.post(f"/records/w/{mine.pk}/records/{foreign.pk}/{action}/").status_code == 404
        assert member.get(f"/records/w/{mine.pk}/records/{parked.pk}/{action}/").status_code == 405
    assert reader.post(f"/records/w/{mine.pk}/integrations/{shop.pk}/records/retry/").status_code == 403
    assert started == [] and not Skip.objects.exists() and not RecordAction.objects.exists()


def test_retry_skip_and_resync_are_written_down_with_who_did_them(
        mine: Workspace, shop: Integration, started: list,
        django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    member = user_in(mine, "anna")
    parked = record(shop, "1005", reason="VAT code 21 unknown")
    base = f"/records/w/{mine.pk}/records/{parked.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        assert member.post(base + "retry/").status_code == 302
    assert started == [("orders", shop.name, ["1005"])]

    member.post(base + "skip/")
    parked.refresh_from_db()
    assert parked.outcome == "skipped" and "skipped by anna" in parked.reason
    with django_capture_on_commit_callbacks(execute=True):
        member.post(base + "retry/")  # refused while skipped
    assert len(started) == 1 and "can&#x27;t be sent again" in page(member, base)
    with django_capture_on_commit_callbacks(execute=True):
        member.post(base + "unskip/")
    assert started[-1] == ("orders", shop.name, ["1005"]) and not Skip.objects.exists()

    LinkRow.objects.create(integration=shop, entity="order", source_key="1005", target_key="SO-3")
    with django_capture_on_commit_callbacks(execute=True):
        member.post(base + "resync/")
    assert not LinkRow.objects.filter(source_key="1005").exists() and len(started) == 3
    history = page(member, base)
    assert [a.kind for a in RecordAction.objects.order_by("pk")] == ["retry", "skip", "unskip", "resync"]
    assert "forgot the link to SO-3" in history and history.count("anna") >= 4


def test_bulk_retry_touches_only_the_filtered_parked_records(
        mine: Workspace, shop: Integration, foreign: Activity, started: list,
        django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    member = user_in(mine, "anna")
    record(shop, "2001", reason="VAT code 21 is not in the VAT-code table")
    record(shop, "2002", "retry", reason="AccountView answered 503; VAT code 21")
    record(shop, "2003", reason="VAT code 9 is not in the VAT-code table")
    record(shop, "2004", "sent", reason="sales order for VAT code 21")
    skipped = record(shop, "2005", reason="VAT code 21 is not in the VAT-code table")
    record_actions.skip(skipped, "bert")
    Activity.objects.filter(key="9001").update(reason="VAT code 21 is not in the VAT-code table")
    url = f"/records/w/{mine.pk}/integrations/{shop.pk}/records/"
    assert "Retry the 2 parked records of this selection" in page(member, url + "?q=VAT+code+21&outcome=parked")

    with django_capture_on_commit_callbacks(execute=True):
        answer = member.post(url + "retry/", {"q": "VAT code 21", "outcome": "parked"})
    assert answer.status_code == 302 and "q=VAT+code+21" in answer["Location"]
    assert [(flow, name, sorted(keys)) for flow, name, keys in started] == [("orders", shop.name, ["2001", "2002"])]
    assert sorted(RecordAction.objects.filter(kind="retry").values_list("key", flat=True)) == ["2001", "2002"]


def test_owners_change_retention_and_metadata_only_members_read_them(mine: Workspace, shop: Integration,
                                                                     foreign: Activity) -> None:
    owner, member = user_in(mine, "olga", role="owner"), user_in(mine, "anna")
    kept = record(shop, "7001", "sent", "sales order 1", email="an@example.nl",
                  payload_out={"SalesOrderIn": {"SUB_NR": "D-1"}})
    url = f"/records/w/{mine.pk}/privacy/"
    assert "14" in page(member, url) and "Erase" not in page(member, url)
    assert member.post(url, {"retention_days": 3, "metadata_only": "on"}).status_code == 403
    assert owner.post(url, {"retention_days": 0}).status_code == 200  # refused, with the form again
    assert owner.post(url, {"retention_days": 30}).status_code == 302
    kept.refresh_from_db()
    assert kept.payload_in is not None  # only switching metadata-only on deletes the data kept
    answer = owner.post(url, {"retention_days": 30, "metadata_only": "on"}, follow=True)
    assert "The data of 1 records kept so far is deleted." in answer.content.decode()
    mine.refresh_from_db()
    kept.refresh_from_db()
    foreign.refresh_from_db()
    assert (mine.retention_days, mine.metadata_only) == (30, True)
    assert kept.payload_in is None and kept.payload_out is None and kept.reason == "sales order 1"
    assert foreign.payload_in is not None  # another workspace keeps its own
    assert "yes: no data is stored" in page(member, url)


def parked_alert(workspace: Workspace, integration: Integration, said: str) -> Alert:
    """A parked-records alert of the workspace quoting a reason, told once (a notice), as the monitor raises it."""
    facts = {"integration": integration.name, "count": 1, "groups": [[said, 1, {"text": said}]]}
    raising.raise_alert(Kind.PARKED, f"parked:{integration.pk}", workspace_id=workspace.pk,
                        integration_id=integration.pk, facts=facts, update=True)
    return Alert.objects.get(key=f"parked:{integration.pk}")


def test_erasure_removes_the_address_everywhere_and_reports_counts(mine: Workspace, shop: Integration,
                                                                  foreign: Activity, koppel_data_dir: Any) -> None:
    second = integration_of(mine, "bakkerij-tweede")
    record(shop, "3001", email="Klant@Example.nl", reason="debtor for klant@example.nl is blocked")
    record(second, "3002", "sent", email="klant@example.nl",
           payload_out={"debtor": {"sent": {"MAIL_BUS": "KLANT@EXAMPLE.NL"}}},
           changes={"since": "2026-11-29T09:30:00+00:00", "fields": [
               {"path": "debtor.sent.MAIL_BUS", "kind": "changed", "old": "klant@example.nl",
                "new": "KLANT@EXAMPLE.NL"}]})
    kept = record(shop, "3003", "sent", email="ander@example.nl")
    offer = RetryOffer.objects.create(integration=shop, flow="orders", started_at=timezone.now(), status="ready",
                                      still_parked=[{"key": "3001", "outcome": "needs_attention",
                                                     "reason": "debtor for KLANT@example.nl is blocked"}])
    alert = parked_alert(mine, shop, "debtor for Klant@example.nl is blocked")
    other_alert = parked_alert(foreign.integration.workspace, foreign.integration, "debtor for klant@example.nl")

    erased = record_actions.erase_customer(mine, " klant@example.nl ", "olga")
    assert (erased.records, erased.payloads, erased.reasons, erased.runs, erased.alerts) == (2, 2, 1, 0, 2)
    everything = json.dumps(list(Activity.objects.filter(integration__workspace=mine).values(
        "payload_in", "payload_out", "changes", "reason")))
    assert "klant@example.nl" not in everything.lower()
    assert Activity.objects.get(key="3001").reason == "debtor for [erased] is blocked"
    assert RetryOffer.objects.get(pk=offer.pk).still_parked[0]["reason"] == "debtor for [erased] is blocked"
    told = json.dumps([Alert.objects.get(pk=alert.pk).facts, *Notice.objects.filter(alert=alert).values_list(
        "facts", flat=True)])
    assert "klant@example.nl" not in told.lower() and "debtor for [erased] is blocked" in told
    assert "klant@example.nl" in json.dumps(Alert.objects.get(pk=other_alert.pk).facts)  # another workspace's
    assert Activity.objects.get(pk=kept.pk).payload_in is not None  # another customer's data stays
    foreign.refresh_from_db()
    assert foreign.payload_in is not None  # another workspace is not touched
    assert not RecordAction.objects.filter(detail__icontains="klant").exists()
    with pytest.raises(ValueError):
        record_actions.erase_customer(mine, "ander", "olga")
    assert Activity.objects.get(pk=kept.pk).payload_in is not None


FOLLOWED = re.compile(r'hx-get="([^"]+/privacy/erasures/[^"]+/)"')


def system_database_text(data_dir: Any) -> str:
    """Every byte of the engine's SQLite system database (its file and write-ahead log), as text."""
    return "".join(path.read_bytes().decode("latin-1") for path in sorted(data_dir.glob("dbos.sqlite*")))


def test_erasure_is_queued_for_a_worker_and_the_page_follows_it(mine: Workspace, shop: Integration,
                                                                 foreign: Activity, koppel_data_dir: Any) -> None:
    owner, member = user_in(mine, "olga", role="owner"), user_in(mine, "anna")
    waiting = record(shop, "3001", email="klant@example.nl", reason="debtor for klant@example.nl is blocked")
    url = f"/records/w/{mine.pk}/privacy/erase/"
    assert member.post(url, {"email": "klant@example.nl"}).status_code == 403

    answer = owner.post(url, {"email": " Klant@Example.nl "}).content.decode()  # answers at once: queued
    assert "Erasure of Klant@Example.nl requested." in answer
    assert 'data-state="queued"' in answer and "No worker is running" in answer
    waiting.refresh_from_db()
    assert waiting.payload_in is not None  # the request erased nothing itself: a worker does
    assert "klant@example.nl" not in system_database_text(koppel_data_dir).lower()  # not kept in clear
    followed = FOLLOWED.search(answer)
    assert followed is not None
    fragment = owner.get(followed[1], headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and 'data-state="queued"' in fragment.content.decode()
    assert "<html" not in fragment.content.decode() and "klant@" not in fragment.content.decode().lower()
    direct = owner.get(followed[1])  # opened by itself: the privacy page, which lists it
    assert direct.status_code == 302 and direct["Location"].startswith(f"/records/w/{mine.pk}/privacy/#erasure-")
    listed = page(owner, f"/records/w/{mine.pk}/privacy/")
    assert "Earlier erasures" in listed and followed[1] in listed and "klant@" not in listed.lower()

    again = owner.post(url, {"email": "klant@example.nl"}).content.decode()  # the same address again: followed
    assert "you follow that one" in again and FOLLOWED.search(again)[1] == followed[1]  # type: ignore[index]
    other = owner.post(url, {"email": "ander@example.nl"}).content.decode()
    assert FOLLOWED.search(other)[1] != followed[1]  # type: ignore[index]
    refused = owner.post(url, {"email": "ander"}).content.decode()  # not an address: the form says so
    assert "valid email" in refused and "requested." not in refused

    assert member.get(followed[1], headers={"HX-Request": "true"}).status_code == 403
    erasure_id = followed[1].rstrip("/").rsplit("/", 1)[1]
    stranger_workspace = foreign.integration.workspace
    stranger = user_in(stranger_workspace, "sam", role="owner")
    assert stranger.get(f"/records/w/{stranger_workspace.pk}/privacy/erasures/{erasure_id}/",
                        headers={"HX-Request": "true"}).status_code == 404  # another workspace's erasure
    assert stranger.get(followed[1], headers={"HX-Request": "true"}).status_code == 404
    assert owner.get(f"/records/w/{mine.pk}/privacy/erasures/20261130T000000.000000Z-abcdef/",
                     headers={"HX-Request": "true"}).status_code == 404


def test_the_export_is_one_records_activity_as_json_and_scoped(mine: Workspace, shop: Integration,
                                                              foreign: Activity) -> None:
    reader = user_in(mine, "rita", role="read_only")
    sent = record(shop, "4001", "sent", "sales order 4", target_key="SO-4", email="an@example.nl")
    answer = reader.post(f"/records/w/{mine.pk}/records/{sent.pk}/export/")
    assert answer.status_code == 200 and "attachment" in answer["Content-Disposition"]
    data = json.loads(answer.content)
    assert data["key"] == "4001" and data["target_key"] == "SO-4"
    assert data["payload_in"]["customer"]["email"] == "an@example.nl"
    assert data["actions"] == [{"kind": "export", "by": "rita", "at": data["actions"][0]["at"], "detail": ""}]
    assert reader.post(f"/records/w/{mine.pk}/records/{foreign.pk}/export/").status_code == 404
    assert reader.post(f"/records/w/{foreign.integration.workspace_id}/records/{foreign.pk}/export/").status_code == 404


def test_the_pages_speak_dutch_and_german(mine: Workspace, shop: Integration) -> None:
    member = user_in(mine, "anna")
    parked = record(shop, "5001", reason="VAT code 21 unknown")
    url = f"/records/w/{mine.pk}/integrations/{shop.pk}/records/?outcome=parked"
    dutch = member.get(url, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Records van bakkerij-shop" in dutch and "De 1 geparkeerde record van deze selectie" in dutch
    german = member.get(f"/records/w/{mine.pk}/records/{parked.pk}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Jetzt erneut versuchen" in german and "Was ankam" in german


def test_what_a_record_is_is_said_in_the_users_language(mine: Workspace, shop: Integration) -> None:
    """The kind column, the kind filter and a record's heading name an order as the language does, not by
    the flows' entity name."""
    member = user_in(mine, "anna")
    parked = record(shop, "5002", reason="VAT code 21 unknown")
    url = f"/records/w/{mine.pk}/integrations/{shop.pk}/records/"
    dutch = member.get(url, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert '<td class="kind">bestelling</td>' in dutch and '<option value="order">bestelling</option>' in dutch
    german = member.get(f"/records/w/{mine.pk}/records/{parked.pk}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "<h1>Bestellung 5002</h1>" in german
    english = member.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<td class="kind">order</td>' in english


def test_a_parked_reason_that_names_a_setting_links_to_it(mine: Workspace, shop: Integration) -> None:
    member = user_in(mine, "anna")
    reason = ("Order 6001 is a credit order (for order 5999). Book the credit in AccountView, or set credit orders "
              "to 'book' in the integration's settings (credit_orders) to have them booked.")
    parked = record(shop, "6001", reason=reason)
    text = page(member, f"/records/w/{mine.pk}/records/{parked.pk}/")
    assert f'href="/setup/w/{mine.pk}/i/{shop.pk}/flows/orders/#q-credit_orders"' in text  # older: by its text
    assert "settings: Credit orders" in text
    sent = record(shop, "6002", "sent", reason="booked; credit_orders was 'book'")
    assert "/flows/orders/" not in page(member, f"/records/w/{mine.pk}/records/{sent.pk}/")
    unnamed = record(shop, "6003", reason="AccountView answered 503")
    assert "/flows/orders/" not in page(member, f"/records/w/{mine.pk}/records/{unnamed.pk}/")


def test_an_offer_with_records_waiting_stays_and_one_with_none_goes_after_a_week(mine: Workspace,
                                                                               shop: Integration) -> None:
    anna = user_in(mine, "anna")
    record(shop, "8001", "skipped", "status 2 is not one of the statuses to send ([3, 6])")
    record(shop, "8002", reason="VAT code 21 is not in the VAT-code table (vat_codes)")
    long_ago = timezone.now() - timedelta(days=10)
    offer = RetryOffer.objects.create(
        integration=shop, flow="orders", status="ready", started_at=long_ago, by="olga", candidates=2, checked=2,
        would_send=["8001"], still_parked=[{"key": "8002", "outcome": "needs_attention",
                                            "reason": "VAT code 21 is not in the VAT-code table (vat_codes)"}])
    url = f"/records/w/{mine.pk}/integrations/{shop.pk}/records/"
    shown = page(anna, url)
    assert "1 record would now go through." in shown and ">8001</a>" in shown  # still waiting: still offered
    assert "The rest would still park" in shown and "VAT code 21" in shown
    assert f'action="{url}offers/orders/retry/"' in shown

    Activity.objects.filter(key="8001").update(outcome="sent")  # sent since (a run, a retry by hand)
    assert 'id="offer-orders"' not in page(anna, url)  # nothing left to retry, and the change is old
    RetryOffer.objects.filter(pk=offer.pk).update(started_at=timezone.now())
    recent = page(anna, url)
    assert 'id="offer-orders"' in recent and "The records that would go through were sent meanwhile." in recent


def test_an_offer_looking_up_the_shop_says_so_in_three_languages(mine: Workspace, shop: Integration) -> None:
    anna = user_in(mine, "anna")
    RetryOffer.objects.create(integration=shop, flow="orders", status="checking", started_at=timezone.now(),
                              by="olga", candidates=0)  # no activity to check: only the shop's left-out orders
    url = f"/records/w/{mine.pk}/integrations/{shop.pk}/records/"
    shown = page(anna, url)
    assert "Looking for the records the new settings take in and the old ones left out." in shown
    assert "Checking 0" not in shown and "left out of the shop's listing altogether" in shown
    assert "Bezig met zoeken naar de records" in anna.get(url, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Suche nach den Datensätzen" in anna.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()


def test_the_offers_fragment_opened_by_itself_is_the_records_page_and_by_htmx_a_fragment(
        mine: Workspace, shop: Integration, foreign: Activity) -> None:
    reader = user_in(mine, "rita", role="read_only")
    RetryOffer.objects.create(integration=shop, flow="orders", started_at=timezone.now(), status="ready",
                              still_parked=[{"key": "5001", "outcome": "needs_attention", "reason": "VAT code 9"}])
    url = f"/records/w/{mine.pk}/integrations/{shop.pk}/records/offers/"
    direct = reader.get(url)  # a link or the address bar: no HX-Request
    assert direct.status_code == 302
    assert direct["Location"] == f"/records/w/{mine.pk}/integrations/{shop.pk}/records/#offers"
    shown = page(reader, direct["Location"])
    assert "<html" in shown and 'id="offers"' in shown and "VAT code 9" in shown
    fragment = reader.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert text.startswith('<div id="offers"') and "<html" not in text and "VAT code 9" in text
    foreign_url = f"/records/w/{mine.pk}/integrations/{foreign.integration_id}/records/offers/"
    assert reader.get(foreign_url).status_code == 404
    assert reader.get(foreign_url, headers={"HX-Request": "true"}).status_code == 404


def test_the_dutch_texts_address_the_merchant_with_je_never_u() -> None:
    import gettext
    from pathlib import Path

    import koppel.web.records

    catalog = Path(koppel.web.records.__file__).parent / "locale" / "nl" / "LC_MESSAGES" / "django.mo"
    with catalog.open("rb") as compiled:
        texts = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    formal = {text for text in texts.values() if re.search(r"\b(?:[Uu]|[Uu]w|[Uu]we)\b", str(text))}
    assert formal == set()
    assert any(re.search(r"\bje\b", str(text)) for text in texts.values())  # and it does address them
