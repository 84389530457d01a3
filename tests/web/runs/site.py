"""Koppel as it runs for real, for the sync now tests: both sandboxes, an integration of them, a member and a
read-only member, `koppel web` (which runs no engine), and workers started when a test wants one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.cli_runner import Koppel, Server, make_koppel
from tests.flows.scenarios import Child, spawn
from tests.flows.test_engine import environment, integrate
from tests.flows.world import World, start_world

PASSWORD = "a long enough passphrase 7"


@dataclass
class Site:
    world: World
    koppel: Koppel
    web: Server
    env: dict[str, str]
    directory: Path
    runs: str  # the integration's runs page

    def signed_in(self, username: str) -> httpx.Client:
        client = httpx.Client(base_url=self.web.url, timeout=60)
        login = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
        assert token, login.text
        answer = client.post("/login/", data={"username": username, "password": PASSWORD,
                                               "csrfmiddlewaretoken": token[1]})
        assert answer.status_code == 302, answer.text
        return client

    def start_worker(self) -> Child:
        return spawn(self.env, self.directory, "worker", "sync-now-worker", str(self.directory / "stop"),
                     scenarios="tests.web.runs.scenarios")

    def stored(self, code: str) -> object:
        """What `code` (Python with Django set up for this data dir) leaves in `found`, read as JSON."""
        return json.loads(self.koppel.python(code + "\nprint(json.dumps(found))").strip().splitlines()[-1])


def running_site(tmp_path: Path, command: str = "web") -> Iterator[Site]:
    """Start it all in `tmp_path` (data dir `var`), hand it over, stop it all (workers stop at the stop file).
    `command`: `web` (the dashboard alone) or `run` (the embedded default: dashboard and engine in one)."""
    world = start_world(orders=12)
    koppel = make_koppel(tmp_path, KOPPEL_NEW_PASSWORD=PASSWORD, KOPPEL_LOG_LEVEL="WARNING")
    web = None
    try:
        env = environment(tmp_path)
        integration = integrate(world, env, tmp_path, "shop")
        koppel("createuser", "anna", "--workspace", "flows", "--role", "member")
        koppel("createuser", "rita", "--workspace", "flows", "--role", "read_only")
        workspace = int(koppel.python("from koppel.core.accounts.models import Workspace\n"
                                      "print(Workspace.objects.get(name='flows').pk)"))
        web = koppel.serve(command)
        yield Site(world, koppel, web, env, tmp_path, f"/runs/w/{workspace}/integrations/{integration}/")
    finally:
        (tmp_path / "stop").touch()
        if web is not None:
            web.stop()
        world.stop()


