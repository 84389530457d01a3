"""The alert list: only the user's workspaces' alerts (never another's, never the operators'), open ones
first, in the page's language; acknowledging one (members, with HTMX or without), 404 for another
workspace's alert and 403 for a read-only user; failing channels shown above the list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from koppel.alerts import raising
from koppel.core.accounts.models import Membership, Workspace
from koppel.core.alerts.models import Alert, Channel, Kind, Notice

pytestmark = pytest.mark.django_db
BACKEND = "django.contrib.auth.backends.ModelBackend"


def user_in(workspace: Workspace, name: str, role: str = "member") -> Client:
    user = get_user_model().objects.create_user(name, f"{name}@example.nl", "pw")
    Membership.objects.create(workspace=workspace, user=user, role=role)
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def broken(workspace: Workspace, key: str, connection: str) -> Alert:
    raising.raise_alert(Kind.BROKEN_CONNECTION, key, workspace_id=workspace.pk,
                        facts={"system": "accountview", "connection": connection, "cause": "revoked",
                               "since": timezone.now().isoformat(), "link": "https://koppel.example/fix"})
    return Alert.objects.get(key=key)


@pytest.fixture
def mine() -> Workspace:
    return Workspace.objects.create(name="bakkerij")


@pytest.fixture
def other() -> Workspace:
    return Workspace.objects.create(name="slagerij")


def test_the_list_shows_the_users_alerts_open_first_in_their_language(mine: Workspace, other: Workspace) -> None:
    member = user_in(mine, "anna")
    gone = broken(mine, "broken_connection:1", "oude-boeken")
    Alert.objects.filter(pk=gone.pk).update(resolved_at=timezone.now() - timedelta(hours=1))
    broken(mine, "broken_connection:2", "boeken")
    broken(other, "broken_connection:3", "geheime-boeken")
    raising.raise_alert(Kind.DEAD_WORKER, "dead_worker:w1", workspace_id=None, facts={"executor": "host-7"})

    page = member.get("/alerts/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "AccountView-koppeling verbroken: boeken" in page
    assert "oude-boeken" not in page  # resolved: only with state=all
    assert "geheime-boeken" not in page and "host-7" not in page
    assert "Bevestigen" in page  # the acknowledge button, in Dutch
    everything = member.get("/alerts/?state=all", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert everything.index("AccountView-Verbindung unterbrochen: boeken") < everything.index("oude-boeken")
    assert "geheime-boeken" not in everything


def test_acknowledging_stops_reminders_and_needs_a_member_of_that_workspace(mine: Workspace,
                                                                           other: Workspace) -> None:
    alert = broken(mine, "broken_connection:1", "boeken")
    foreign = broken(other, "broken_connection:2", "andere")
    member, reader = user_in(mine, "anna"), user_in(mine, "bert", role="read_only")
    assert member.post(f"/alerts/{foreign.pk}/acknowledge/").status_code == 404
    assert member.post("/alerts/999999/acknowledge/").status_code == 404
    assert reader.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 403
    assert member.get(f"/alerts/{alert.pk}/acknowledge/").status_code == 405
    row = member.post(f"/alerts/{alert.pk}/acknowledge/", HTTP_HX_REQUEST="true")
    assert row.status_code == 200
    assert f'id="alert-{alert.pk}"' in row.content.decode() and "anna" in row.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_at and alert.acknowledged_by.get_username() == "anna"
    reminded = raising.remind_due(timezone.now() + timedelta(days=3))
    assert list(Notice.objects.filter(pk__in=reminded).values_list("alert_id", flat=True)) == [foreign.pk]
    assert member.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 302  # without HTMX: back to the list


def test_failing_channels_are_shown_above_the_list(mine: Workspace, other: Workspace) -> None:
    member = user_in(mine, "anna")
    Channel.objects.create(workspace=mine, via="webhook", target="https://hooks.example/x",
                           failing_since=timezone.now(), last_error="answered 500")
    Channel.objects.create(workspace=other, via="webhook", target="https://zqsecret.example/",
                           failing_since=timezone.now(), last_error="answered 500")
    page = member.get("/alerts/").content.decode()
    assert "https://hooks.example/x" in page and "answered 500" in page
    assert "zqsecret" not in page


def test_a_stranger_is_sent_to_sign_in() -> None:
    answer = Client().get("/alerts/")
    assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_owners_set_the_channels_and_policy_members_only_read_them(mine: Workspace, other: Workspace) -> None:
    owner, member = user_in(mine, "olga", role="owner"), user_in(mine, "anna")
    page = f"/alerts/w/{mine.pk}/settings/"
    assert member.get(page).status_code == 200
    assert member.post(page, {"form": "channel", "via": "email", "target": "a@b.nl"}).status_code == 403
    assert owner.get(f"/alerts/w/{other.pk}/settings/").status_code == 404

    refused = owner.post(page, {"form": "channel", "via": "email", "target": "eigenaar@bakkerij.nl, geen-adres"})
    assert refused.status_code == 200 and "geen-adres" in refused.content.decode()
    assert owner.post(page, {"form": "channel", "via": "email", "target": "eigenaar@bakkerij.nl"}).status_code == 302
    assert owner.post(page, {"form": "channel", "via": "webhook", "target": "https://hooks.example/k",
                             "secret": "geheim", "kinds": ["broken_connection", "parked"]}).status_code == 302
    email, hook = Channel.objects.filter(workspace=mine).order_by("pk")
    assert email.recipients == ["eigenaar@bakkerij.nl"] and email.kinds == []
    assert hook.kinds == ["broken_connection", "parked"] and hook.secret == "geheim"
    assert "geheim" not in hook.secret_encrypted

    saved = owner.post(page, {"form": "policy", "language": "de", "time_zone": "Europe/Berlin", "quiet_from": "22:00",
                              "quiet_until": "07:00", "remind_after_hours": "12", "digest_minutes": "30",
                              "offline_minutes": "20", "probe_minutes": "5", "orders_silence_hours": "",
                              "run_silence_minutes": ""})
    assert saved.status_code == 302
    policy = raising.policy(mine.pk)
    assert (policy.language, policy.remind_after_hours, str(policy.quiet_from)) == ("de", 12, "22:00:00")
    wrong_zone = owner.post(page, {"form": "policy", "language": "nl", "time_zone": "Mars/Olympus",
                                   "remind_after_hours": "1", "digest_minutes": "1", "offline_minutes": "1",
                                   "probe_minutes": "1"})
    assert wrong_zone.status_code == 200 and "Mars/Olympus" in wrong_zone.content.decode()

    theirs = Channel.objects.create(workspace=other, via="email", target="x@y.nl")
    assert owner.post(f"/alerts/w/{mine.pk}/channels/{theirs.pk}/remove/").status_code == 404
    assert member.post(f"/alerts/w/{mine.pk}/channels/{email.pk}/remove/").status_code == 403
    assert owner.post(f"/alerts/w/{mine.pk}/channels/{email.pk}/remove/").status_code == 302
    assert list(Channel.objects.filter(workspace=mine)) == [hook]


def test_the_settings_page_speaks_dutch_and_german(mine: Workspace) -> None:
    owner = user_in(mine, "olga", role="owner")
    dutch = owner.get(f"/alerts/w/{mine.pk}/settings/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Meldingsinstellingen van bakkerij" in dutch and "Kanaal toevoegen" in dutch
    german = owner.get(f"/alerts/w/{mine.pk}/settings/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Meldungseinstellungen von bakkerij" in german and "Welche Meldungen" in german
