"""Workspaces (one merchant, one or more shops), the users who may see them and with which role,
the invitations an owner sends, and each user's preferences (the language of the dashboard)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

INVITATION_DAYS = 7


class Workspace(models.Model):
    name = models.SlugField(max_length=80, unique=True)
    retention_days = models.PositiveIntegerField(default=14, help_text="activity older than this is purged")
    metadata_only = models.BooleanField(default=False, help_text="never store payloads in the activity log")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(StrEnum):
    """What a member may do in a workspace: an owner all a member may and manage members; a member change
    connections and settings; a read-only member look."""

    OWNER = "owner"
    MEMBER = "member"
    READ_ONLY = "read_only"

    @property
    def rank(self) -> int:
        return {"read_only": 0, "member": 1, "owner": 2}[self.value]


ROLE_CHOICES = [(Role.OWNER.value, _("Owner")), (Role.MEMBER.value, _("Member")),
                (Role.READ_ONLY.value, _("Read-only"))]


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, default=Role.MEMBER.value)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]

    def allows(self, role: Role) -> bool:
        return Role(self.role).rank >= role.rank


class Invitation(models.Model):
    """An owner's invitation to join a workspace with a role. Only a hash of the token is stored, so the
    database alone does not let anyone in; the link is shown once to the owner who sends it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, default=Role.MEMBER.value)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def send(cls, workspace: Workspace, email: str, role: str, invited_by: object) -> tuple[Invitation, str]:
        """A new invitation and its token (to put in the link; never stored). It replaces an open invitation
        of the workspace for the same address: one person, one open invitation (and its latest role); the
        earlier link stops working, since its token was never kept to be sent again."""
        token = secrets.token_urlsafe(32)
        with transaction.atomic():
            cls.objects.filter(workspace=workspace, email__iexact=email, accepted_at=None).delete()
            invitation = cls.objects.create(
                workspace=workspace, email=email, role=role, token_hash=cls.hash(token), invited_by=invited_by,
                expires_at=timezone.now() + timedelta(days=INVITATION_DAYS))
        return invitation, token

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class Profile(models.Model):
    """What a user chose for themselves. An empty language follows the browser."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    language = models.CharField(max_length=8, blank=True, default="")
