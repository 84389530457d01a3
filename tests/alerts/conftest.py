"""A workspace with a shop and books connection, one integration and an e-mail channel, in the test
database (rows only: the checks read the database, no remote system is called)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Imported by the fixture: this conftest loads before Django is set up (tests/conftest.py does that).


@dataclass
class Shop:
    workspace: Any
    shop: Any
    books: Any
    integration: Any
    channel: Any
    policy: Any


@pytest.fixture
def merchant(db: None) -> Shop:
    from koppel.core.accounts.models import Workspace
    from koppel.core.alerts.models import AlertPolicy, Channel
    from koppel.core.integrations.models import Connection, Integration

    workspace = Workspace.objects.create(name="bakkerij")
    shop = Connection(workspace=workspace, name="winkel", system="mijnwebwinkel",
                      settings={"base_url": "http://127.0.0.1:9"})
    shop.credentials = {"token": "t", "partner_token": "p"}
    shop.save()
    books = Connection(workspace=workspace, name="boeken", system="accountview",
                       settings={"base_url": "http://127.0.0.1:9", "company_id": "1"})
    books.credentials = {"client_id": "c", "client_secret": "s"}
    books.save()
    integration = Integration.objects.create(workspace=workspace, name="bakkerij-shop", shop=shop, books=books)
    channel = Channel.objects.create(workspace=workspace, via="email", target="eigenaar@bakkerij.nl")
    policy = AlertPolicy.objects.create(workspace=workspace, language="nl", remind_after_hours=24)
    return Shop(workspace, shop, books, integration, channel, policy)


@pytest.fixture(scope="session")
def _fork_server() -> None:
    """The engine tests' children fork from a server that imported the scenarios once."""
    from tests.sync.forks import start_fork_server

    start_fork_server(["tests.alerts.scenarios"])


@pytest.fixture
def world() -> Iterator[Any]:
    """Both sandboxes, seeded with a few orders (tests/flows/world.py)."""
    from tests.flows.world import start_world

    world = start_world(orders=8)
    yield world
    world.stop()


@pytest.fixture
def smtp() -> Iterator[Any]:
    """A real SMTP server on 127.0.0.1 (tests/alerts/servers.py)."""
    from tests.alerts.servers import SmtpServer

    with SmtpServer() as server:
        yield server
