"""Invitations by e-mail, through a real SMTP server on 127.0.0.1: the mail arrives in the invited person's
language (their own choice when they have an account, else the owner's), its link lets them join, and the
page still shows the link. Without a mail server, or when it fails, the page says so and the invitation
still works by its link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from koppel.alerts.settings import smtp_settings
from koppel.core.accounts.models import Invitation, Membership, Profile
from tests.alerts.servers import SmtpServer, free_port
from tests.web.world import World, build_world

pytestmark = pytest.mark.django_db
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
LINK = re.compile(r"http://testserver(/invitation/[^\s<]+/)")


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def mail_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        use_mail_server(monkeypatch, "127.0.0.1", server.port)
        yield server
    smtp_settings.cache_clear()


def use_mail_server(monkeypatch: pytest.MonkeyPatch, host: str, port: int) -> None:
    monkeypatch.setenv("KOPPEL_SMTP_HOST", host)
    monkeypatch.setenv("KOPPEL_SMTP_PORT", str(port))
    monkeypatch.setenv("KOPPEL_SMTP_SECURITY", "none")
    monkeypatch.setenv("KOPPEL_SMTP_SENDER", "Koppel <koppel@example.nl>")
    smtp_settings.cache_clear()


def owner_client(world: World, language: str = "") -> Client:
    owner = world.mine.users["owner"]
    if language:
        Profile.objects.update_or_create(user=owner, defaults={"language": language})
    client = Client()
    client.force_login(owner, backend=MODEL_BACKEND)
    return client


def invite(client: Client, world: World, email: str, role: str = "member") -> tuple[str, str]:
    """(the message the page shows, the link it shows)."""
    members = f"/w/{world.mine.workspace.pk}/members/"
    page = client.post(members + "invite/", {"email": email, "role": role}, follow=True).content.decode()
    shown = re.search(r'<li class="message [a-z]+">([^<]+)</li>', page)
    link = re.search(r'<code id="invite-link">http://testserver(/invitation/[^<]+/)</code>', page)
    assert shown and link, page
    return shown.group(1), link.group(1)


def subject(mail: Message) -> str:
    return str(make_header(decode_header(mail["Subject"]))).replace("\r\n", "").replace("\n", "")


def body(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(mail.get_content_charset() or "utf-8")


def test_the_mail_arrives_and_its_link_lets_the_invited_person_join(world: World, mail_server: SmtpServer) -> None:
    shown, page_link = invite(owner_client(world), world, "new.colleague@example.nl", role="read_only")
    assert "Invitation mailed to new.colleague@example.nl" in shown
    [mail] = mail_server.mailbox.wait_for(1)
    assert mail["To"] == "new.colleague@example.nl" and mail["From"] == "Koppel <koppel@example.nl>"
    assert "zqalpha-owner invites you to zqalpha-workspace on Koppel" in subject(mail)
    text = body(mail)
    assert "as Read-only" in text
    found = LINK.search(text)
    assert found and found.group(1) == page_link  # the same link on the page and in the mail

    visitor = Client()
    password = "a long enough passphrase 7"
    joined = visitor.post(found.group(1), {"username": "colleague", "password1": password, "password2": password})
    assert joined.status_code == 302 and joined["Location"] == f"/w/{world.mine.workspace.pk}/"
    colleague = get_user_model().objects.get(username="colleague")
    assert Membership.objects.get(user=colleague, workspace=world.mine.workspace).role == "read_only"
    assert Client().get(found.group(1)).status_code == 404  # once


def test_the_mail_speaks_the_owners_language_or_the_invited_users_own(world: World,
                                                                     mail_server: SmtpServer) -> None:
    owner = owner_client(world, language="de")
    shown, _link = invite(owner, world, "neu@example.nl")
    assert "Einladung an neu@example.nl per E-Mail gesendet" in shown
    german = mail_server.mailbox.wait_for(1)[0]
    assert "lädt Sie zu zqalpha-workspace in Koppel ein" in subject(german)
    assert "als Mitglied" in body(german) and "Er funktioniert einmal" in body(german)

    stranger = world.other.users["member"]  # has an account, chose Dutch
    stranger.email = "Bekend@Example.nl"
    stranger.save(update_fields=["email"])
    Profile.objects.update_or_create(user=stranger, defaults={"language": "nl"})
    invite(owner, world, "bekend@example.nl")
    dutch = mail_server.mailbox.wait_for(2)[1]
    assert "nodigt je uit voor zqalpha-workspace in Koppel" in subject(dutch)
    assert "voor de werkruimte zqalpha-workspace in Koppel, als Lid" in body(dutch)


def test_without_a_mail_server_the_page_says_so_and_the_link_still_works(world: World,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_SMTP_HOST", "")
    smtp_settings.cache_clear()
    try:
        shown, link = invite(owner_client(world, language="nl"), world, "zonder@example.nl")
    finally:
        smtp_settings.cache_clear()
    assert "niet gemaild" in shown and "KOPPEL_SMTP_HOST" not in shown  # operators only (tests/web/test_wording.py)
    assert Invitation.objects.get(email="zonder@example.nl").is_open
    visitor = Client()
    visitor.force_login(world.other.users["read_only"], backend=MODEL_BACKEND)
    assert visitor.post(link).status_code == 302
    assert Membership.objects.filter(user=world.other.users["read_only"], workspace=world.mine.workspace).exists()


def test_a_mail_server_that_fails_is_named_and_the_invitation_stands(world: World,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    use_mail_server(monkeypatch, "127.0.0.1", free_port())  # nobody listens there
    try:
        shown, link = invite(owner_client(world), world, "unlucky@example.nl")
    finally:
        smtp_settings.cache_clear()
    assert "the mail could not be sent" in shown and "127.0.0.1" not in shown  # operators only
    assert Client().get(link).status_code == 200
    assert Invitation.objects.filter(email="unlucky@example.nl").count() == 1
