"""Two workspaces, each with users in every role and a record of every model that belongs to a workspace,
for the tests that check nobody sees another workspace's records.

Every model of Koppel's data model that reaches a workspace through its foreign keys gets a record in
each workspace, filled in automatically when it is not one of the few made by hand, so a model added later
(an alert, a mapping) is covered without touching this file. The second workspace's records have ids from
9000 up, the first's from 100: an id of one is never an id of the other, whatever the table.
Every text of the second workspace contains MARKER, so a page that shows any of it is caught.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from koppel.core.accounts.models import Invitation, Membership, Role, Workspace
from koppel.core.integrations.models import Connection, Integration
from koppel.web.tenancy import workspace_path

MARKER = "zqbeta"  # in every text of the other workspace; never in a page of the first

CLOSED_PORT = "http://127.0.0.1:9"  # loopback, refused at once: a page that calls out fails fast


def realistic(model: type[models.Model], side: Side) -> dict[str, Any]:
    """Values the automatic filling can't guess, for models whose pages read inside a field: an alert's
    facts name what its message says (the first kind is a broken connection)."""
    if model._meta.label == "alerts.Alert":
        return {"facts": {"system": "accountview", "connection": f"{side.prefix}-books", "cause": "other"}}
    return {}


@dataclass
class Side:
    prefix: str
    workspace: Workspace
    users: dict[str, Any]
    records: dict[type[models.Model], list[models.Model]] = field(default_factory=dict)
    invitation_token: str = ""

    def ids(self, model: type[models.Model]) -> list[int]:
        return [int(r.pk) for r in self.records.get(model, [])]

    def all_ids(self) -> set[int]:
        return {int(r.pk) for rows in self.records.values() for r in rows if isinstance(r.pk, int)}

    def names(self) -> set[str]:
        return {str(r.name) for rows in self.records.values() for r in rows if hasattr(r, "name")}


def workspace_models() -> list[type[models.Model]]:
    """Every model of Koppel that belongs to a workspace (Workspace itself included)."""
    found = []
    for model in apps.get_models():
        if not model.__module__.startswith("koppel."):
            continue
        try:
            workspace_path(model)
        except TypeError:
            continue
        found.append(model)
    return found


def build_side(prefix: str, first_pk: int) -> Side:
    """A workspace named after `prefix`, an owner, a member and a read-only user, and one record of
    every workspace model, with ids from `first_pk` up (explicit: a flushed table may count on)."""
    next_pk = iter(range(first_pk, first_pk + 1_000))

    def pk() -> dict[str, int]:
        return {"pk": next(next_pk)}

    user_model = get_user_model()
    workspace = Workspace.objects.create(name=f"{prefix}-workspace", **pk())
    side = Side(prefix, workspace, users={})
    side.records[Workspace] = [workspace]
    for role in Role:
        user = user_model.objects.create_user(f"{prefix}-{role.value}".replace("_", "-"),
                                              f"{prefix}-{role.value}@example.org", None, **pk())
        side.users[role.value] = user
        side.records.setdefault(Membership, []).append(
            Membership.objects.create(workspace=workspace, user=user, role=role.value, **pk()))
    shop = Connection(workspace=workspace, name=f"{prefix}-shop", system="mijnwebwinkel",
                      settings={"base_url": CLOSED_PORT}, **pk())
    shop.credentials = {"token": f"{prefix}-token", "partner_token": f"{prefix}-partner"}
    shop.save()
    books = Connection(workspace=workspace, name=f"{prefix}-books", system="accountview",
                       settings={"base_url": CLOSED_PORT, "company_id": f"{prefix}-company"}, **pk())
    books.credentials = {"client_id": f"{prefix}-client", "client_secret": f"{prefix}-secret"}
    books.save()
    side.records[Connection] = [shop, books]
    side.records[Integration] = [Integration.objects.create(
        workspace=workspace, name=f"{prefix}-integration", shop=shop, books=books, **pk())]
    invitation, side.invitation_token = Invitation.send(workspace, f"{prefix}-guest@example.org",
                                                        Role.MEMBER.value, side.users["owner"])
    Invitation.objects.filter(pk=invitation.pk).update(id=next(next_pk))
    invitation = Invitation.objects.get(email=invitation.email)
    side.records[Invitation] = [invitation]
    _fill_the_rest(side, pk)
    return side


def _fill_the_rest(side: Side, pk: Any) -> None:
    """A record of each remaining workspace model, its required fields filled in, in dependency order."""
    pending = [m for m in workspace_models() if m not in side.records]
    while pending:
        ready = [m for m in pending if all(
            f.related_model in side.records or f.related_model is get_user_model() or f.null
            for f in m._meta.concrete_fields if f.is_relation)]
        if not ready:
            raise AssertionError(f"cannot order the models {pending}: a foreign key cycle?")
        for model in ready:
            values = {f.name: _value(f, side) for f in model._meta.concrete_fields if _wanted(f)}
            values.update(realistic(model, side))
            side.records[model] = [model.objects.create(**values, **pk())]
            pending.remove(model)


def _wanted(f: models.Field[Any, Any]) -> bool:
    if f.primary_key or getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return False
    if f.is_relation:
        return True  # nullable ones too: the operators' rows are not what the test is about
    return not (f.has_default() or f.null or f.blank)


def _value(f: models.Field[Any, Any], side: Side) -> Any:
    if f.is_relation:
        if f.related_model is get_user_model():
            return side.users["owner"]
        rows = side.records.get(f.related_model)  # type: ignore[arg-type]
        return rows[0] if rows else None
    if f.choices:
        return list(f.flatchoices)[0][0]
    if isinstance(f, models.EmailField):
        return f"{side.prefix}@example.org"
    if isinstance(f, (models.CharField, models.TextField)):
        text = f"{side.prefix}-{f.name}"
        return text[: f.max_length] if f.max_length else text
    if isinstance(f, models.BooleanField):
        return False
    if isinstance(f, models.DateTimeField):
        return timezone.now()
    if isinstance(f, models.DateField):
        return dt.date.today()
    if isinstance(f, models.TimeField):
        return dt.time(0, 0)
    if isinstance(f, models.DurationField):
        return dt.timedelta(0)
    if isinstance(f, models.DecimalField):
        return decimal.Decimal(1)
    if isinstance(f, (models.IntegerField, models.FloatField)):
        return 1
    if isinstance(f, models.JSONField):
        return {}
    if isinstance(f, models.UUIDField):
        return uuid.uuid4()
    raise AssertionError(f"tests/web/world.py: fill in a {type(f).__name__} ({f.model.__name__}.{f.name})")


@dataclass
class World:
    mine: Side  # the workspace the signed-in user belongs to
    other: Side  # everything in it must stay invisible to them


def build_world() -> World:
    return World(mine=build_side("zqalpha", 100), other=build_side(MARKER, 9000))
