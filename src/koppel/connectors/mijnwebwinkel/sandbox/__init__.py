"""A faithful simulator of the MijnWebwinkel (MyOnlineStore Connect) API for tests, demo and bench.

    sandbox = MijnWebwinkelSandbox(seed=1, sizes=SeedSizes(articles=40, orders=60))
    info = sandbox.start()          # SandboxInfo(url, token, partner_token, admin_url)
    client = MijnWebwinkelClient(info.url, info.token, info.partner_token)
    ...
    sandbox.stop()

See README.md in this folder for the admin surface, quirk switches and fault injection.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from koppel.connectors.mijnwebwinkel.sandbox import back_office
from koppel.connectors.mijnwebwinkel.sandbox.app import MijnWebwinkelAdmin, create_app
from koppel.connectors.mijnwebwinkel.sandbox.orders import build_order
from koppel.connectors.mijnwebwinkel.sandbox.quirks import Quirks
from koppel.connectors.mijnwebwinkel.sandbox.seed import SeedSizes, seed_state
from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxState
from koppel.connectors.sandboxkit import ADMIN, Controls, Fault, Faults, Limits, RunningServer, serve_in_thread


@dataclass(frozen=True)
class SandboxInfo:
    url: str  # base URL for the client (paths are /v1/…, /v2-beta/…)
    token: str  # store token
    partner_token: str
    admin_url: str

    # The back office's read-only pages (`back_office`), as a connection's `admin_article_url` / `admin_order_url`
    # patterns: set them on a connection to this sandbox, and the dashboard's links open the sandbox's record.
    @property
    def admin_article_url(self) -> str:
        return back_office.article_url(self.url)

    @property
    def admin_order_url(self) -> str:
        return back_office.order_url(self.url)


class MijnWebwinkelSandbox:
    """State + faults + limits + app, and a server on 127.0.0.1 once started. `sizes=None` seeds nothing;
    `fault_seed=None` draws a random one (`faults.seed` says which)."""

    def __init__(
        self,
        *,
        seed: int = 1,
        sizes: SeedSizes | None = SeedSizes(),
        quirks: Quirks | None = None,
        token: str | None = None,
        partner_token: str | None = None,
        fault_seed: int | None = None,
        prices_include_tax: bool = True,
    ) -> None:
        self.state = SandboxState(
            store_token=token or f"st_{secrets.token_urlsafe(18)}",
            partner_token=partner_token or f"pt_{secrets.token_urlsafe(18)}",
            quirks=quirks or Quirks(),
        )
        self.state.store["prices_include_tax"] = prices_include_tax
        self.faults = Faults(seed=fault_seed)
        self.limits = Limits()
        self.admin = MijnWebwinkelAdmin(self.state, self.faults)
        if sizes is not None:
            seed_state(self.state, seed, sizes)
        self.app = create_app(self.state, Controls(self.state.quirks, self.faults, self.limits))
        self.server: RunningServer | None = None

    def start(self, port: int = 0, host: str = "127.0.0.1") -> SandboxInfo:
        if self.server is None:
            self.server = serve_in_thread(self.app, host=host, port=port)
        return self.info

    @property
    def info(self) -> SandboxInfo:
        if self.server is None:
            raise RuntimeError("the sandbox is not started")
        return SandboxInfo(
            url=self.server.url,
            token=self.state.store_token,
            partner_token=self.state.partner_token,
            admin_url=self.server.url + ADMIN,
        )

    def describe(self) -> dict[str, Any]:
        """What a script needs to call this sandbox (`koppel sandbox --json`)."""
        info = self.info
        return {
            "url": info.url,
            "token": info.token,
            "partner_token": info.partner_token,
            "admin_url": info.admin_url,
            "admin_article_url": info.admin_article_url,
            "admin_order_url": info.admin_order_url,
            "fault_seed": self.faults.seed,
        }

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> MijnWebwinkelSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Conveniences for tests: the same as the admin endpoints.

    def add_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Insert an order as given (wire shape: no e-mail, an unknown SKU…); returns the stored dict."""
        return self.state.put_order(order)

    def compose_order(self, body: dict[str, Any], *, test: bool = False) -> dict[str, Any]:
        """Build an order from an `OrderPostable` body with computed prices, like POST /orders, but without
        touching stock; `test=True` gives it a "T-" number."""
        return build_order(self.state, body, test=test, override_stock=True, mutate=False)

    def add_article(self, article: dict[str, Any]) -> dict[str, Any]:
        return self.state.put_article(article)

    def add_option_list(self, name: str, options: list[dict[str, Any]], description: str = "") -> dict[str, Any]:
        """A new option list with options [{"name", "price"}]: what a merchant does in the admin, since
        the API has no way to create one."""
        return self.admin.add_option_list(name, options, description)

    def add_fault(self, fault: Fault) -> Fault:
        return self.faults.add(fault)

    def set_rate_limit(self, per_second: float | None, burst: int = 5) -> None:
        """Answer 429 with `Retry-After` above `per_second` calls per store (None: no limit)."""
        self.limits.set_rate_limit(per_second, burst)


__all__ = [
    "MijnWebwinkelSandbox",
    "Quirks",
    "SandboxInfo",
    "SandboxState",
    "SeedSizes",
    "create_app",
    "seed_state",
]
