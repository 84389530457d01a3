"""The AccountView.net sandbox: an HTTP simulator of the web API (NOTES §14), for tests, the demo and
`koppel sandbox`.

    sandbox = AccountViewSandbox(seed=1, size=50)
    info = sandbox.start()                  # url, client_id, client_secret, company_id
    client = sandbox.authorised_client()    # code flow run in code against the auto-approving page
    ...
    sandbox.stop()

See README.md beside this file for the admin surface, quirk modes and fault injection.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from koppel.connectors.accountview.client import AccountViewClient, AccountViewOptions
from koppel.connectors.accountview.oauth import MemoryTokenStore, TokenStore
from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.sandbox import articles, stock
from koppel.connectors.accountview.sandbox.app import RELAY_OFFLINE_BODY, build_app
from koppel.connectors.accountview.sandbox.auth import AuthServer, AuthSettings
from koppel.connectors.accountview.sandbox.quirks import Quirks
from koppel.connectors.accountview.sandbox.seed import seed as seed_sandbox
from koppel.connectors.accountview.sandbox.state import Row, Sandbox
from koppel.connectors.sandboxkit import Controls, Fault, Faults, Limits, RunningServer, serve_in_thread

REDIRECT_URI = "http://127.0.0.1/koppel/oauth/accountview"
CACHED_SEED_SIZE = 5_000  # seeds up to this many articles are kept for a cheap reseed


@dataclass(frozen=True)
class SandboxInfo:
    url: str
    client_id: str
    client_secret: str
    company_id: str
    company_code: str


class AccountViewSandbox:
    """One simulated AccountView.net with one company. All state is in memory and inspectable.
    `fault_seed=None` draws a random one (`faults.seed` says which)."""

    def __init__(
        self,
        *,
        seed: int | None = 1,
        size: int = 50,
        profile: AccountViewProfile | None = None,
        auth: AuthSettings | None = None,
        company_id: str = "8d3c1a6e-2f4b-4c1e-9a77-3e5b2d9c0f11",
        company_code: str = "DEMO",
        company_description: str = "Demo BV",
        auto_approve: bool = True,
        fault_seed: int | None = None,
    ) -> None:
        self.profile = profile or AccountViewProfile()
        self.quirks = Quirks()
        self.state = Sandbox(profile=self.profile, quirks=self.quirks)
        self.auth = AuthServer(auth)
        self.faults = Faults(seed=fault_seed)
        self.limits = Limits()
        self.controls = Controls(self.quirks, self.faults, self.limits)
        self.company_id, self.company_code, self.company_description = (
            company_id,
            company_code,
            company_description,
        )
        self.auto_approve = auto_approve
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        self.server: RunningServer | None = None
        self._seeded: dict[tuple[int, int], Any] = {}
        self._deliverer = stock.Deliverer(self.state)
        if seed is not None:
            self.seed(seed=seed, size=size)

    # --- lifecycle -----------------------------------------------------------------------------------------

    def app(self) -> Any:
        return build_app(self)

    def start(self, port: int = 0) -> SandboxInfo:
        self.server = serve_in_thread(self.app(), port=port)
        return self.info

    def stop(self) -> None:
        self._deliverer.start(None)
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> AccountViewSandbox:
        if self.server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("the sandbox is not started")
        return self.server.url

    @property
    def info(self) -> SandboxInfo:
        return SandboxInfo(
            url=self.url,
            client_id=self.auth.settings.client_id,
            client_secret=self.auth.settings.client_secret,
            company_id=self.company_id,
            company_code=self.company_code,
        )

    def describe(self) -> dict[str, Any]:
        """What a script needs to call this sandbox (`koppel sandbox --json`)."""
        return {
            "url": self.url,
            "client_id": self.auth.settings.client_id,
            "client_secret": self.auth.settings.client_secret,
            "company_id": self.company_id,
            "company_code": self.company_code,
            "redirect_uri_example": REDIRECT_URI,
            "admin_url": f"{self.url}/_sandbox",
            "fault_seed": self.faults.seed,
            "deliver_every": self.auto_delivery,
        }

    def credentials_json(self) -> dict[str, str]:
        return {
            "client_id": self.auth.settings.client_id,
            "client_secret": self.auth.settings.client_secret,
            "company_id": self.company_id,
            "company_code": self.company_code,
            "redirect_uri_example": REDIRECT_URI,
        }

    # --- data ----------------------------------------------------------------------------------------------

    def seed(self, *, seed: int = 1, size: int = 50) -> dict[str, int]:
        """Replace all data with the deterministic data set for (seed, size); a small data set made once is
        kept and copied back, so reseeding between tests is cheap (a large one is made again: a copy would
        double the memory and take longer than seeding)."""
        cached = self._seeded.get((seed, size))
        if cached is None:
            self.state.reset()
            seed_sandbox(self.state, seed=seed, size=size)
            if size <= CACHED_SEED_SIZE:
                self._seeded[(seed, size)] = self.state.snapshot()
        else:
            self.state.restore(cached)
        return self.counts()

    def reset(self, *, tokens: bool = False) -> None:
        self.state.reset()
        self.calls.clear()
        self.limits.reset_calls()
        if tokens:
            self.auth.reset()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write all rows to a JSON file (tokens are not saved)."""
        tables, counters, order_status = self.state.snapshot()
        data = {
            "tables": tables,
            "counters": [[t, f, n] for (t, f), n in counters.items()],
            "order_status": order_status,
        }
        Path(path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    def load(self, path: str | os.PathLike[str]) -> None:
        """Replace all rows with those of a file written by `save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        counters = {(t, f): n for t, f, n in data["counters"]}
        self.state.restore((data["tables"], counters, data.get("order_status", {})))

    def counts(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.state.tables.items()}

    def rows(self, table: str, **where: Any) -> list[Row]:
        """Rows of a table whose fields equal `where` (field names case-insensitive)."""
        wanted = {k.upper(): v for k, v in where.items()}
        return [r for r in self.state.rows(table) if all(r.get(k) == v for k, v in wanted.items())]

    def count(self, table: str, **where: Any) -> int:
        return len(self.rows(table, **where))

    def sales_orders_for(self, external_ref: str) -> int:
        """How many sales orders carry this external reference (the idempotency tests' question)."""
        return self.count("SO_HDR", **{self.profile.sales_order_reference_field: external_ref})

    # --- articles and stock (see README "Articles and stock") ------------------------------------------------

    def add_article(self, values: Row) -> Row:
        """A new article through the API's write path (validated; `CNG_DATE` set)."""
        return articles.add_article(self.state, values)

    def change_article(self, code: str, **values: Any) -> Row:
        """An edit of the article in AccountView: validated, and its change date (`CNG_DATE`) moves."""
        return articles.change_article(self.state, code, values)

    def force_values(self, code: str, values: Row, *, create: bool = False) -> Row:
        """Store values on an article as given, unvalidated, its change date untouched (bad data on purpose)."""
        return articles.force_values(self.state, code, values, create=create)

    def add_bad_articles(self, cases: list[str] | None = None) -> dict[str, list[str]]:
        """The named bad-input articles (`articles.BAD_CASES`; all when None): case → article codes."""
        return articles.add_bad_articles(self.state, cases)

    def set_stock(self, code: str, **figures: Any) -> Row:
        """Stock moves as a warehouse moves it (`available=`, `reserved=`, `technical=`, `managed=`): free
        stock follows, the change date does not move."""
        return stock.set_stock(self.state, code, **figures)

    def deliver_sales_order(self, number: str) -> dict[str, Any]:
        """Deliver a sales order: its lines leave the reservation and the available and technical stock."""
        return stock.deliver(self.state, number)

    def invoice_sales_order(self, number: str) -> dict[str, Any]:
        """Invoice a sales order (delivering it first if it was not)."""
        return stock.invoice(self.state, number)

    def auto_deliver(self, every: float | None) -> None:
        """Deliver the oldest open sales order every `every` seconds while the sandbox runs (the demo's
        warehouse); None stops it."""
        self._deliverer.start(every)

    @property
    def auto_delivery(self) -> float | None:
        """Seconds between automatic deliveries; None: off."""
        return self._deliverer.every

    def count_call(self, kind: str, business_object: str) -> None:
        with self._calls_lock:
            self.calls[f"{kind}:{business_object.upper()}"] += 1

    # --- faults and limits -----------------------------------------------------------------------------------

    def set_rate_limit(self, per_second: float | None, burst: int = 5) -> None:
        """Answer 429 with `Retry-After` above `per_second` calls per administration (None: no limit)."""
        self.limits.set_rate_limit(per_second, burst)

    def relay_offline(self, count: int | None = None, path: str = "/api/v3/accountviewdata*") -> Fault:
        """The customer's AccountView server or gateway is down: 503 with an AccountView-style body."""
        return self.faults.add(
            Fault(kind="http_status", status=503, path=path, count=count, body=RELAY_OFFLINE_BODY)
        )

    def drop_next_write(self, method: str = "POST") -> Fault:
        """The next write is committed, then the connection is cut before the answer arrives."""
        return self.faults.add(
            Fault(kind="drop_after_commit", method=method, path="/api/v3/accountviewdata*", count=1)
        )

    def expire_tokens(self) -> int:
        return self.auth.expire_access_tokens()

    # --- clients for tests and demo ------------------------------------------------------------------------

    def authorise(self, client: AccountViewClient, *, redirect_uri: str = REDIRECT_URI) -> None:
        """Run the authorization-code flow in code: the sandbox's authorize page approves at once."""
        url, state = client.authorize_url(redirect_uri)
        answer = client.http.get(url, follow_redirects=False)  # the sandbox page approves at once
        if answer.status_code != 302:
            raise RuntimeError(f"authorize page answered {answer.status_code}: {answer.text[:200]}")
        query = parse_qs(urlparse(answer.headers["location"]).query)
        if query.get("state") != [state]:
            raise RuntimeError("state mismatch in the sandbox's redirect")
        client.exchange_code(query["code"][0], redirect_uri)

    def client(
        self,
        *,
        token_store: TokenStore | None = None,
        options: AccountViewOptions | None = None,
        timeout: float = 5.0,
    ) -> AccountViewClient:
        """A client for this sandbox, not yet authorised."""
        options = options or AccountViewOptions(profile=self.profile)
        return AccountViewClient(
            self.url,
            client_id=self.auth.settings.client_id,
            client_secret=self.auth.settings.client_secret,
            token_store=token_store or MemoryTokenStore(),
            company_id=self.company_id,
            timeout=timeout,
            options=options,
        )

    def authorised_client(
        self,
        *,
        token_store: TokenStore | None = None,
        options: AccountViewOptions | None = None,
        timeout: float = 5.0,
    ) -> AccountViewClient:
        client = self.client(token_store=token_store, options=options, timeout=timeout)
        self.authorise(client)
        return client


__all__ = ["REDIRECT_URI", "AccountViewSandbox", "AuthSettings", "Quirks", "SandboxInfo"]
