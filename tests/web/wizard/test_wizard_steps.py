"""The wizard's first steps in-process against both sandboxes: a step saves all of its answer or nothing,
entering a step again changes what it made instead of making it twice, AccountView's answer must come back
to the browser that asked, and the integration is made paused."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from koppel.connectors.sandboxes import Sandboxes, start_sandboxes
from koppel.core.accounts.models import Membership, Workspace
from koppel.core.integrations.models import Connection, Integration

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[Sandboxes]:
    boxes = start_sandboxes(seed=1, articles=10, orders=10)
    yield boxes
    boxes.stop()


@pytest.fixture
def merchant() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("merchant", password="correct horse battery"))
    return client


def start(client: Client, name: str = "acme-shop") -> int:
    response = client.post("/setup/", {"workspace": "new", "new_workspace": "acme", "name": name})
    assert response.status_code == 302, response.context["form"].errors
    return Workspace.objects.get(name="acme").pk


def consent(sandboxes: Sandboxes, location: str) -> str:
    """AccountView's consent page (the sandbox approves at once): where it sends the browser back."""
    answer = httpx.get(location, follow_redirects=False)
    assert answer.status_code == 302
    back = urlparse(answer.headers["location"])
    return f"{back.path}?{back.query}"


def test_the_first_step_refuses_bad_names_and_makes_the_user_owner(merchant: Client) -> None:
    response = merchant.post("/setup/", {"workspace": "new", "new_workspace": "", "name": "acme shop!"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "name" in errors and "new_workspace" in errors
    assert not Workspace.objects.exists()
    workspace = start(merchant)
    assert Membership.objects.get(workspace_id=workspace).role == "owner"


def test_the_shop_is_saved_only_once_it_answers(merchant: Client, sandboxes: Sandboxes) -> None:
    workspace = start(merchant)
    shop = sandboxes.shop.info
    url = f"/setup/w/{workspace}/shop/"
    response = merchant.post(url, {"token": "wrong", "partner_token": shop.partner_token, "base_url": shop.url})
    assert response.status_code == 200 and "did not accept" in response.content.decode()
    response = merchant.post(url, {"token": shop.token, "partner_token": shop.partner_token,
                                   "base_url": "http://shop.example"})
    assert "https://" in response.content.decode()
    assert not Connection.objects.exists()
    test = merchant.post(f"/setup/w/{workspace}/shop/test/", {"token": shop.token, "partner_token": shop.partner_token,
                                                               "base_url": shop.url})
    assert "It works" in test.content.decode() and not Connection.objects.exists()  # a test saves nothing
    for _ in range(2):  # entered again: the same connection
        response = merchant.post(url, {"token": shop.token, "partner_token": shop.partner_token, "base_url": shop.url})
        assert response.status_code == 302
    saved = Connection.objects.get()
    assert saved.system == "mijnwebwinkel" and saved.credentials["token"] == shop.token
    assert shop.token not in saved.secrets_encrypted  # encrypted at rest


def test_accountview_is_connected_through_its_consent_page_and_the_integration_made_paused(
        merchant: Client, sandboxes: Sandboxes) -> None:
    workspace = start(merchant)
    shop, books = sandboxes.shop.info, sandboxes.books.info
    merchant.post(f"/setup/w/{workspace}/shop/", {"token": shop.token, "partner_token": shop.partner_token,
                                                  "base_url": shop.url})
    url = f"/setup/w/{workspace}/books/"
    fields = {"client_id": books.client_id, "client_secret": books.client_secret, "company_id": books.company_id,
              "base_url": books.url}
    assert merchant.post(f"/setup/w/{workspace}/books/done/").status_code == 302  # not connected yet
    assert not Integration.objects.exists()
    response = merchant.post(url, fields)
    assert response.status_code == 302 and response["Location"].startswith(books.url + "/ams/authorize.aspx")
    back = consent(sandboxes, response["Location"])
    # The answer in another browser (another session) is refused.
    stranger = Client()
    stranger.force_login(User.objects.create_user("stranger", password="correct horse battery"))
    assert stranger.get(back).status_code == 404  # not a member of that workspace: as if it did not exist
    merchant.post(url, fields)  # connect again: the same connection, a new grant
    back = consent(sandboxes, merchant.post(url, fields)["Location"])
    page = merchant.get(back, follow=True).content.decode()
    assert "AccountView is connected" in page and "DEMO" in page
    # Connected: the way on is the one button; the credentials form, folded, is for another grant only.
    folded = page.index('<details class="card"><summary>Connect with other credentials</summary>')
    assert page.index("Next: the flows") < folded < page.index('name="client_id"')
    assert Connection.objects.filter(system="accountview").count() == 1
    response = merchant.post(f"/setup/w/{workspace}/books/done/")
    integration = Integration.objects.get()
    assert response["Location"] == f"/setup/w/{workspace}/i/{integration.pk}/flows/"
    assert integration.name == "acme-shop" and not integration.enabled
    assert merchant.post(f"/setup/w/{workspace}/books/done/").status_code == 302  # posted twice: one integration
    assert Integration.objects.count() == 1


def test_a_step_of_another_workspace_is_not_found(merchant: Client) -> None:
    start(merchant)
    other = Workspace.objects.create(name="other")
    for step in ("shop", "books"):
        assert merchant.get(f"/setup/w/{other.pk}/{step}/").status_code == 404
