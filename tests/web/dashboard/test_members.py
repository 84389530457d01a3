"""Members and invitations: an owner invites by link, the invited person signs up (password rules on)
or signs in and joins with the role given; a link works once, for a week; only owners manage members,
and a workspace always keeps an owner."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from koppel.core.accounts.models import Invitation, Membership
from tests.web.world import World, build_world

pytestmark = pytest.mark.django_db
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def world() -> World:
    return build_world()


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def invite(world: World, email: str, role: str = "member") -> str:
    owner = signed_in(world.mine.users["owner"])
    members = f"/w/{world.mine.workspace.pk}/members/"
    assert owner.post(members + "invite/", {"email": email, "role": role}).status_code == 302
    page = owner.get(members).content.decode()
    link = re.search(r'<code id="invite-link">http://testserver(/invitation/[^<]+/)</code>', page)
    assert link, page
    assert email in page  # among the open invitations
    return link.group(1)


def test_an_invited_person_signs_up_with_a_good_password_and_joins_once(world: World) -> None:
    link = invite(world, "new.colleague@example.nl", role="read_only")
    visitor = Client()
    assert "You are invited to zqalpha-workspace as Read-only" in visitor.get(link).content.decode()
    weak = visitor.post(link, {"username": "colleague", "password1": "password", "password2": "password"})
    assert weak.status_code == 200 and "This password is too common." in weak.content.decode()
    assert not get_user_model().objects.filter(username="colleague").exists()
    good = "a long enough passphrase 7"
    joined = visitor.post(link, {"username": "colleague", "password1": good, "password2": good})
    assert joined.status_code == 302 and joined["Location"] == f"/w/{world.mine.workspace.pk}/"
    user = get_user_model().objects.get(username="colleague")
    assert user.email == "new.colleague@example.nl"
    assert Membership.objects.get(user=user).role == "read_only"
    assert Client().get(link).status_code == 404  # used
    assert visitor.get(f"/w/{world.mine.workspace.pk}/").status_code == 200


def test_a_user_with_an_account_joins_and_an_expired_or_withdrawn_link_is_dead(world: World) -> None:
    link = invite(world, "someone@example.nl")
    stranger = world.other.users["member"]
    client = signed_in(stranger)
    assert client.post(link).status_code == 302
    assert Membership.objects.get(user=stranger, workspace=world.mine.workspace).role == "member"

    expired = invite(world, "late@example.nl")
    Invitation.objects.filter(email="late@example.nl").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(expired).status_code == 404
    withdrawn = invite(world, "gone@example.nl")
    invitation = Invitation.objects.get(email="gone@example.nl")
    owner = signed_in(world.mine.users["owner"])
    owner.post(f"/w/{world.mine.workspace.pk}/invitations/{invitation.pk}/withdraw/")
    assert Client().get(withdrawn).status_code == 404
    assert Invitation.objects.get(email="someone@example.nl").token_hash not in link  # only a hash is stored


def test_only_owners_manage_members_and_the_last_owner_stays(world: World) -> None:
    base = f"/w/{world.mine.workspace.pk}/members/"
    member = signed_in(world.mine.users["member"])
    assert member.post(base + "invite/", {"email": "x@example.nl", "role": "owner"}).status_code == 403
    target = Membership.objects.get(user=world.mine.users["read_only"])
    assert member.post(f"{base}{target.pk}/role/", {"role": "owner"}).status_code == 403
    assert "Invite someone" not in member.get(base).content.decode()

    owner = signed_in(world.mine.users["owner"])
    mine = Membership.objects.get(user=world.mine.users["owner"])
    page = owner.post(f"{base}{mine.pk}/role/", {"role": "member"}, follow=True).content.decode()
    assert "A workspace needs an owner" in page
    assert owner.post(f"{base}{mine.pk}/remove/", follow=True).status_code == 200
    assert Membership.objects.get(pk=mine.pk).role == "owner"
    owner.post(f"{base}{target.pk}/role/", {"role": "owner"})
    assert Membership.objects.get(pk=target.pk).role == "owner"
    owner.post(f"{base}{mine.pk}/remove/")
    assert not Membership.objects.filter(pk=mine.pk).exists()  # another owner remains
    assert owner.get(base).status_code == 404  # and the one who left sees the workspace no more


def test_a_bad_invitation_is_named_and_nothing_is_sent(world: World) -> None:
    owner = signed_in(world.mine.users["owner"])
    answer = owner.post(f"/w/{world.mine.workspace.pk}/members/invite/", {"email": "not an address",
                                                                          "role": "emperor"})
    text = answer.content.decode()
    assert answer.status_code == 200 and "Enter a valid email address." in text
    assert "Select a valid choice." in text
    assert Invitation.objects.filter(workspace=world.mine.workspace).count() == 1  # the world's own


def test_inviting_an_address_again_replaces_its_open_invitation(world: World) -> None:
    """One person, one open invitation: inviting the same address again (in other letters, with another role)
    leaves the new one open with its role, the earlier link dead; another workspace's invitation stays."""
    first = invite(world, "twice@example.nl", role="read_only")
    Invitation.send(world.other.workspace, "twice@example.nl", "member", world.other.users["owner"])
    second = invite(world, "Twice@Example.nl", role="member")
    open_here = Invitation.objects.filter(workspace=world.mine.workspace, email__iexact="twice@example.nl")
    assert [i.role for i in open_here] == ["member"]
    assert Invitation.objects.filter(workspace=world.other.workspace, email="twice@example.nl").count() == 1
    assert Client().get(first).status_code == 404
    assert "as Member" in Client().get(second).content.decode()
