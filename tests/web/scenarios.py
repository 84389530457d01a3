"""What the web's end-to-end scenarios share: a merchant whose integration is stored against both sandboxes
(connections with their credentials and AccountView tokens, as the dashboard leaves them), the orders flow
run from what is stored, as a worker runs it (clients, settings and mapping overrides read from the
database), the retries the dashboard starts, worked off by the test as the worker would, and signing in.

The flow runs in this process on the runner's in-process execution (no DBOS): the pages are served by the
test's live server, whose database lives in this process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from koppel.core.accounts.models import Membership, Workspace
from koppel.core.integrations.models import Integration
from koppel.sync import record_actions, runner
from koppel.sync.clients import integration_clients, integration_id
from koppel.sync.links import EngineLinks
from tests.flows.scenarios import make_integration
from tests.flows.world import SETTINGS, World

PASSWORD = "a long enough passphrase 7"


@dataclass
class Merchant:
    username: str
    integration: Integration

    @property
    def workspace(self) -> Workspace:
        return self.integration.workspace


def merchant_on(world: World, name: str, *, username: str = "anna", **orders: Any) -> Merchant:
    """A member of a workspace whose integration `name` reaches both sandboxes, with the seed's orders
    settings changed as given."""
    books = world.books_sandbox
    tokens = world.books.token_store.load()
    assert tokens is not None
    made = make_integration(
        name,
        {"url": world.shop_sandbox.info.url, "token": world.shop_sandbox.info.token,
         "partner_token": world.shop_sandbox.info.partner_token},
        {"url": books.url, "company_id": books.company_id, "client_id": books.info.client_id,
         "client_secret": books.info.client_secret, "tokens": tokens.model_dump(mode="json")},
        {**SETTINGS, **orders},
    )
    integration = Integration.objects.select_related("workspace").get(pk=made["integration_id"])
    user = get_user_model().objects.create_user(username, f"{username}@example.nl", PASSWORD)
    Membership.objects.create(workspace=integration.workspace, user=user, role="member")
    return Merchant(username, integration)


def run_orders(integration_id: int, *, keys: list[str] | None = None, full: bool = False) -> dict[str, Any]:
    """One run of the orders flow of a stored integration, as the engine opens it; its outcome per record."""
    flow = runner.find("orders")
    wiring = integration_clients(integration_id)
    links = EngineLinks(integration_id)
    recipe = flow.open(wiring, flow.settings.model_validate(wiring.flows.get(flow.name) or {}), links)
    with ThreadPoolExecutor(max_workers=1) as pool:
        execution = runner.InProcess(flow, recipe, links, 2, 0.01, pool, runner.Tally(None))
        return runner.run(flow, execution, full=full, keys=keys)


@dataclass
class Retries:
    """The retries the dashboard started (`record_actions.starter`), waiting for `work` to run them."""

    waiting: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def __call__(self, flow: str, integration: str, keys: list[str]) -> None:
        self.waiting.append((flow, integration, keys))

    def work(self) -> list[dict[str, Any]]:
        """Run the waiting retries (the worker's part); the records they handled."""
        handled = []
        while self.waiting:
            flow, integration, keys = self.waiting.pop(0)
            assert flow == "orders", flow
            handled += run_orders(integration_id(integration), keys=keys)["records"]
        return handled


def retries_worked_by_the_test(monkeypatch: pytest.MonkeyPatch) -> Retries:
    retries = Retries()
    monkeypatch.setattr(record_actions, "starter", retries)
    return retries


def sign_in(page: Any, site: str, username: str) -> None:
    page.goto(f"{site}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/")
