"""Nobody sees, counts or guesses another workspace's records: the crawler over every URL pattern, and
the tenancy helpers every view uses (404 for another workspace's id, 403 for a role too low)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import Client, RequestFactory
from django.views.generic import DetailView

from koppel.core.activity.models import Activity
from koppel.core.integrations.models import Connection, Integration
from koppel.web.tenancy import Role, ScopedMixin, get_scoped, scoped, workspace_path, workspaces_of
from tests.web.crawler import crawl, leaking_pages, routes, visible_pages
from tests.web.world import MARKER, World, build_side, build_world, workspace_models

pytestmark = pytest.mark.django_db
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def owner(world: World) -> Client:
    client = Client()
    client.force_login(world.mine.users["owner"], backend=MODEL_BACKEND)
    return client


def grow(world: World) -> None:
    """The other workspace gets more of everything (what a count would show)."""
    more = build_side(MARKER + "-more", 20_000)
    for model, rows in more.records.items():
        if any(f.name == "workspace" and f.many_to_one for f in model._meta.concrete_fields):
            model.objects.filter(pk__in=[row.pk for row in rows]).update(workspace=world.other.workspace)


def test_every_url_pattern_is_crawled(world: World) -> None:
    templates = {route.template for route in routes()}
    assert "w/<int:workspace_id>/connections/<int:connection_id>/" in templates
    assert "oauth/accountview/" in templates
    assert not any(t.startswith("admin/") for t in templates)


@pytest.mark.slow
def test_no_view_answers_another_workspaces_ids_differently_from_ids_that_do_not_exist(
        world: World, owner: Client) -> None:
    assert crawl(owner, world) == []


@pytest.mark.slow
def test_no_page_shows_or_counts_another_workspaces_records(world: World, owner: Client) -> None:
    assert leaking_pages(owner, world) == []
    before = visible_pages(owner, world)
    assert len(before) >= 6, f"the crawler saw too few pages to mean anything: {sorted(before)}"
    grow(world)
    after = visible_pages(owner, world)
    changed = [page for page in before if before[page] != after.get(page)]
    assert changed == []


@pytest.mark.slow
@pytest.mark.urls("tests.web.leaky_urls")
def test_the_crawler_catches_a_view_that_forgets_the_scope(world: World, owner: Client) -> None:
    problems = crawl(owner, world)
    assert any("/leaky/9" in p and "answered 200" in p for p in problems), problems
    before = visible_pages(owner, world)
    grow(world)
    after = visible_pages(owner, world)
    assert [page for page in before if before[page] != after.get(page)] == [
        f"/w/{world.mine.workspace.pk}/leaky-count/"]


def test_every_workspace_model_is_reached_through_its_workspace(world: World) -> None:
    paths = {model.__name__: workspace_path(model) for model in workspace_models()}
    assert paths["Connection"] == "workspace" and paths["Activity"] == "integration__workspace"
    user = world.mine.users["read_only"]
    for model in workspace_models():
        assert set(scoped(model, user).values_list("pk", flat=True)) == set(world.mine.ids(model)), model


def test_another_workspaces_record_is_404_and_a_role_too_low_is_403(world: World) -> None:
    reader, owner = world.mine.users["read_only"], world.mine.users["owner"]
    foreign = world.other.records[Connection][0]
    with pytest.raises(Http404):
        get_scoped(Connection, owner, pk=foreign.pk)
    own = world.mine.records[Integration][0]
    assert get_scoped(Integration, reader, pk=own.pk) == own
    with pytest.raises(PermissionDenied):
        get_scoped(Integration, reader, pk=own.pk, role=Role.MEMBER)
    assert list(workspaces_of(reader)) == [world.mine.workspace]
    assert scoped(Activity, world.other.users["owner"]).filter(pk__in=world.mine.ids(Activity)).count() == 0


def test_a_read_only_member_may_look_but_not_change(world: World) -> None:
    client = Client()
    client.force_login(world.mine.users["read_only"], backend=MODEL_BACKEND)
    workspace = world.mine.workspace.pk
    connection = world.mine.records[Connection][0].pk
    assert client.get(f"/w/{workspace}/connections/{connection}/").status_code == 200
    assert client.get(f"/w/{workspace}/connections/{connection}/edit/").status_code == 403
    assert client.post(f"/w/{workspace}/connections/{connection}/test/").status_code == 403
    assert client.post(f"/w/{workspace}/members/invite/", {"email": "x@example.org"}).status_code == 403


def test_a_signed_out_visitor_is_sent_to_sign_in(world: World) -> None:
    answer = Client().get(f"/w/{world.mine.workspace.pk}/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


class ConnectionPage(ScopedMixin, DetailView):  # type: ignore[misc,type-arg]
    model = Connection
    template_name = "dashboard/connection_test.html"

    def post(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        self.get_object()
        return HttpResponse("changed")


def test_a_class_based_view_with_the_mixin_is_scoped_too(world: World) -> None:
    view = ConnectionPage.as_view()
    own, foreign = world.mine.records[Connection][0].pk, world.other.records[Connection][0].pk
    factory = RequestFactory()

    def ask(method: str, role: str, pk: int) -> int:
        request = getattr(factory, method)("/")
        request.user = world.mine.users[role]
        try:
            return int(view(request, pk=pk).status_code)
        except Http404:
            return 404
        except PermissionDenied:
            return 403

    assert ask("get", "read_only", own) == 200
    assert ask("get", "owner", foreign) == 404
    assert ask("post", "owner", foreign) == 404
    assert ask("post", "read_only", own) == 403
    assert ask("post", "member", own) == 200
