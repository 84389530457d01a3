"""What the engine remembers: every kind of action a person takes on a record or a flow is a declared choice,
shown in the reader's language, and the migrations hold the model as it is."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import RecordAction
from koppel.core.integrations.models import Connection, Integration


def test_sync_now_is_a_declared_kind_of_action() -> None:
    assert RecordAction.Kind.SYNC == "sync"
    assert "sync" in RecordAction.Kind.values


@pytest.mark.parametrize("language", ["nl", "de"])
def test_every_kind_of_action_is_shown_in_the_readers_language(language: str) -> None:
    assert set(RecordAction.LABELS) == set(RecordAction.Kind.values)
    english = {kind: shown_as(kind) for kind in RecordAction.Kind.values}
    with translation.override(language):
        shown = {kind: shown_as(kind) for kind in RecordAction.Kind.values}
    assert sorted(kind for kind in shown if shown[kind] == english[kind]) == []
    assert len(set(shown.values())) == len(shown)  # no two kinds read alike


def shown_as(kind: str) -> str:
    """What the record page shows of an entry of this kind (its template says `action.get_kind_display`)."""
    return str(RecordAction(kind=kind).get_kind_display())


@pytest.mark.django_db
def test_a_stored_sync_entry_reads_as_its_label_in_dutch() -> None:
    workspace = Workspace.objects.create(name="kaaswinkel")
    shop = Connection.objects.create(workspace=workspace, name="shop", system="mijnwebwinkel", settings={})
    books = Connection.objects.create(workspace=workspace, name="books", system="accountview",
                                      settings={"company_id": "1"})
    integration = Integration.objects.create(workspace=workspace, name="kaas", shop=shop, books=books)
    RecordAction.objects.create(integration=integration, entity="run", key="run:orders:1:1",
                                kind=RecordAction.Kind.SYNC, by="anna", at=timezone.now())
    entry = RecordAction.objects.get(kind="sync")
    with translation.override("nl"):
        assert entry.get_kind_display() == "synchronisatie gestart"
    assert entry.get_kind_display() == "started a sync"


@pytest.mark.django_db
def test_the_migrations_hold_the_models_as_they_are() -> None:
    call_command("makemigrations", "sync", "--check", "--dry-run", verbosity=0)
