"""A connection's pages against both sandboxes over real HTTP: adding one with bad input (nothing saved),
Connect through AccountView's consent page and our callback, Reconnect after the sandbox revoked the
grant, a callback from another browser or for another workspace's connection, and "Test connection"
naming exactly what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from django.test import Client

from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox
from koppel.connectors.sandboxkit import Fault
from koppel.core.accounts.models import Membership, Workspace
from koppel.core.integrations.models import Connection
from tests.web.world import World, build_world

# Tokens commit at once (the token store refuses to save inside a transaction).
pytestmark = pytest.mark.django_db(transaction=True)
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
NO_RIGHTS = ('{"ErrorType": "AuthorizationError", "ErrorNumbers": [1012], '
             '"ErrorMessage": "Geen rechten op dit bedrijfsobject"}')


@pytest.fixture
def books_box(koppel_data_dir: Path) -> Iterator[AccountViewSandbox]:
    with AccountViewSandbox(seed=1, size=5) as box:
        yield box


@pytest.fixture
def shop_box() -> Iterator[MijnWebwinkelSandbox]:
    with MijnWebwinkelSandbox(sizes=None) as box:
        yield box


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def owner(world: World) -> Client:
    client = Client()
    client.force_login(world.mine.users["owner"], backend=MODEL_BACKEND)
    return client


def add_books(client: Client, world: World, box: AccountViewSandbox, **changes: str) -> httpx.Response:
    form = {"name": "books", "base_url": box.url, "client_id": box.info.client_id,
            "client_secret": box.info.client_secret, "company_id": box.company_id, **changes}
    return client.post(f"/w/{world.mine.workspace.pk}/connections/new/accountview/", form)


def books_row(world: World) -> Connection:
    return Connection.objects.get(workspace=world.mine.workspace, name="books")


def connect(client: Client, row: Connection) -> str:
    """Connect → AccountView's page (the sandbox approves at once) → our callback. Returns the page
    the callback sent the browser to, rendered."""
    started = client.post(f"/w/{row.workspace_id}/connections/{row.pk}/connect/")
    assert started.status_code == 302 and "/ams/authorize.aspx?" in started["Location"]
    answer = httpx.get(started["Location"], follow_redirects=False)
    assert answer.status_code == 302
    back = urlparse(answer.headers["location"])
    assert back.path == "/oauth/accountview/"
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    return client.get(done["Location"]).content.decode()


def try_connection(client: Client, row: Connection) -> str:
    """The answer of Test connection, as HTMX asks for it."""
    answer = client.post(f"/w/{row.workspace_id}/connections/{row.pk}/test/", HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    return answer.content.decode()


def test_connect_accountview_shows_the_companies_and_test_connection_names_the_company(
        world: World, owner: Client, books_box: AccountViewSandbox) -> None:
    added = add_books(owner, world, books_box)
    assert added.status_code == 302
    row = books_row(world)
    assert row.settings == {"base_url": books_box.url, "company_id": books_box.company_id}
    assert "not connected yet" in try_connection(owner, row)
    page = connect(owner, row)
    assert f"AccountView is connected to {books_box.company_code}" in page
    assert f"<li>{books_box.company_code} — " in page  # the companies the grant reaches
    assert Connection.objects.get(pk=row.pk).credentials["tokens"]["refresh_token"]
    assert f"Connected to the AccountView company {books_box.company_code}" in try_connection(owner, row)


def test_a_company_entered_by_its_code_is_stored_by_its_id_once_the_grant_reaches_it(
        world: World, owner: Client, books_box: AccountViewSandbox) -> None:
    """The form's help offers the company's code (as AccountView shows it); AccountView's API wants the id."""
    add_books(owner, world, books_box, company_id=books_box.company_code)
    row = books_row(world)
    assert f"AccountView is connected to {books_box.company_code}" in connect(owner, row)
    stored = Connection.objects.get(pk=row.pk)
    assert stored.settings["company_id"] == books_box.company_id
    assert stored.credentials["tokens"]["refresh_token"]  # the grant's tokens are kept beside it
    assert f"Connected to the AccountView company {books_box.company_code}" in try_connection(owner, row)


def test_reconnect_after_the_sandbox_revoked_the_grant_replaces_the_tokens(
        world: World, owner: Client, books_box: AccountViewSandbox) -> None:
    add_books(owner, world, books_box)
    row = books_row(world)
    connect(owner, row)
    dead = Connection.objects.get(pk=row.pk).credentials["tokens"]
    httpx.post(f"{books_box.url}/_sandbox/tokens/revoke").raise_for_status()
    books_box.expire_tokens()
    assert "the grant was revoked or has expired. Click Reconnect" in try_connection(owner, row)
    page = owner.get(f"/w/{row.workspace_id}/connections/{row.pk}/").content.decode()
    assert ">Reconnect</button>" in page
    connect(owner, row)
    fresh = Connection.objects.get(pk=row.pk).credentials["tokens"]
    assert fresh["refresh_token"] != dead["refresh_token"] and fresh["access_token"] != dead["access_token"]
    assert "Connected to the AccountView company" in try_connection(owner, row)


def test_a_callback_from_another_browser_or_for_another_workspace_changes_nothing(
        world: World, owner: Client, books_box: AccountViewSandbox) -> None:
    add_books(owner, world, books_box)
    row = books_row(world)
    started = owner.post(f"/w/{row.workspace_id}/connections/{row.pk}/connect/")
    back = urlparse(httpx.get(started["Location"], follow_redirects=False).headers["location"])
    other_browser = Client()
    other_browser.force_login(world.mine.users["owner"], backend=MODEL_BACKEND)
    done = other_browser.get(f"{back.path}?{back.query}", follow=True)
    assert "belongs to a connect started elsewhere" in done.content.decode()
    stranger = Client()
    stranger.force_login(world.other.users["owner"], backend=MODEL_BACKEND)
    assert stranger.get(f"{back.path}?{back.query}").status_code == 404
    reader = Client()
    reader.force_login(world.mine.users["read_only"], backend=MODEL_BACKEND)
    assert reader.get(f"{back.path}?{back.query}").status_code == 403
    assert owner.get("/oauth/accountview/?state=forged&code=x", follow=True).status_code == 200
    assert "tokens" not in Connection.objects.get(pk=row.pk).credentials


def test_test_connection_names_the_relay_and_the_business_object_without_rights(
        world: World, owner: Client, books_box: AccountViewSandbox) -> None:
    add_books(owner, world, books_box)
    row = books_row(world)
    connect(owner, row)
    books_box.relay_offline(count=3)  # the client tries a read three times
    assert "link to your administration is offline" in try_connection(owner, row)
    books_box.faults.add(Fault(kind="http_status", status=403, path="/api/v3/accountviewdata*", count=1,
                               body=NO_RIGHTS))
    assert "AccountView refuses to show debtors (AR1)" in try_connection(owner, row)
    Connection.objects.filter(pk=row.pk).update(broken_reason="AccountView refuses access")
    without_htmx = owner.post(f"/w/{row.workspace_id}/connections/{row.pk}/test/", follow=True)
    assert "Connected to the AccountView company" in without_htmx.content.decode()
    assert Connection.objects.get(pk=row.pk).broken_reason == ""  # a connection that works is not broken


def test_test_connection_of_a_shop_tells_the_partner_token_from_the_api_key(
        world: World, owner: Client, shop_box: MijnWebwinkelSandbox) -> None:
    info = shop_box.info
    url = f"/w/{world.mine.workspace.pk}/connections/new/mijnwebwinkel/"
    assert owner.post(url, {"name": "shop", "base_url": info.url, "token": info.token,
                            "partner_token": info.partner_token}).status_code == 302
    row = Connection.objects.get(workspace=world.mine.workspace, name="shop")
    assert f"Connected to the shop {shop_box.state.store['name']}." in try_connection(owner, row)
    row.credentials = {"token": info.token, "partner_token": "pt_wrong"}
    row.save()
    assert "refused the partner token" in try_connection(owner, row)
    row.credentials = {"token": "st_wrong", "partner_token": info.partner_token}
    row.save()
    assert "refused the API key" in try_connection(owner, row)


def test_bad_input_is_named_on_its_field_and_nothing_is_saved(
        world: World, owner: Client, books_box: AccountViewSandbox) -> None:
    before = Connection.objects.count()
    missing = add_books(owner, world, books_box, client_secret="")
    assert missing.status_code == 200 and "This field is required." in missing.content.decode()
    taken = add_books(owner, world, books_box, name="zqalpha-books")
    assert "has a connection of that name already" in taken.content.decode()
    plain = add_books(owner, world, books_box, base_url="http://books.example.nl")
    assert "credentials would cross the network unencrypted" in plain.content.decode()
    bad_name = add_books(owner, world, books_box, name="my books!")
    assert "Enter a valid “slug”" in bad_name.content.decode()
    assert Connection.objects.count() == before
    assert books_box.info.client_secret not in missing.content.decode()  # a secret is never shown back


def test_changing_the_client_drops_the_old_grant_and_an_empty_secret_keeps_the_stored_one(
        world: World, owner: Client, books_box: AccountViewSandbox) -> None:
    add_books(owner, world, books_box)
    row = books_row(world)
    connect(owner, row)
    edit = f"/w/{row.workspace_id}/connections/{row.pk}/edit/"
    form = {"name": "books", "base_url": books_box.url, "client_id": books_box.info.client_id,
            "client_secret": "", "company_id": books_box.company_code}
    assert owner.post(edit, form).status_code == 302
    kept = Connection.objects.get(pk=row.pk)
    assert kept.credentials["client_secret"] == books_box.info.client_secret and "tokens" in kept.credentials
    assert kept.settings["company_id"] == books_box.company_code
    assert owner.post(edit, {**form, "client_id": "another-app"}).status_code == 302
    assert "tokens" not in Connection.objects.get(pk=row.pk).credentials


def test_a_workspace_of_ones_own_is_needed_to_add_a_connection(world: World, books_box: AccountViewSandbox) -> None:
    outsider = Client()
    user = world.other.users["owner"]
    outsider.force_login(user, backend=MODEL_BACKEND)
    assert add_books(outsider, world, books_box).status_code == 404
    assert not Membership.objects.filter(user=user, workspace=world.mine.workspace).exists()
    assert not Connection.objects.filter(workspace=world.mine.workspace, name="books").exists()
    assert Workspace.objects.count() == 2


def test_saving_the_form_keeps_tokens_a_refresh_rotated_meanwhile(
        world: World, owner: Client, books_box: AccountViewSandbox) -> None:
    """The form was opened before a worker refreshed the tokens: saving it must not bring the old ones back."""
    from koppel.web.dashboard.forms import AccountViewForm

    add_books(owner, world, books_box)
    row = books_row(world)
    connect(owner, row)
    form = AccountViewForm({"name": "books", "base_url": books_box.url, "client_id": books_box.info.client_id,
                            "client_secret": "", "company_id": books_box.company_code},
                           workspace=world.mine.workspace, connection=Connection.objects.get(pk=row.pk))
    assert form.is_valid(), form.errors
    rotated = Connection.objects.get(pk=row.pk)
    rotated.credentials = {**rotated.credentials, "tokens": {**rotated.credentials["tokens"], "refresh_token": "new"},
                           "refresh_token": "new"}
    rotated.save()
    form.save()
    assert Connection.objects.get(pk=row.pk).credentials["refresh_token"] == "new"


def test_one_callback_serves_every_connect_and_returns_where_it_started(
        world: World, owner: Client, books_box: AccountViewSandbox) -> None:
    """AccountView's portal takes one Redirect URI per application: a connect started elsewhere (the
    wizard) comes back through the same callback, and then to its own page."""
    from django.test import RequestFactory

    from koppel.web.dashboard.connections import start_connect

    add_books(owner, world, books_box)
    row = books_row(world)
    request = RequestFactory().post("/")
    request.user = world.mine.users["owner"]
    request.session = owner.session
    started = start_connect(request, row, "/setup/somewhere/")
    request.session.save()
    back = urlparse(httpx.get(started["Location"], follow_redirects=False).headers["location"])
    assert back.path == "/oauth/accountview/"
    assert owner.get(f"{back.path}?{back.query}")["Location"] == "/setup/somewhere/"
    assert "tokens" in Connection.objects.get(pk=row.pk).credentials
