"""A dry run: what a flow would do to its records if the integration started now, writing nothing.

Both clients are built on read-only HTTP (`ReadOnlyTransport`): a read goes out; a write (any method but
GET and HEAD; only AccountView's token refresh is let through, since a rotated refresh token must be kept)
is never sent: it is noted and raises `WriteRefused`, which ends that record's recipe at its first write.
A recipe checks everything before its first write (`flows/orders.py`: "every check before the first
write"), so a record that reaches a write is one the flow would send: "would send", naming that write.
Links the recipe writes on the way (a debtor's claim) stay in memory (`DraftLinks`); the database gets no
link, activity, run or cursor.

    report = dry_run(integration_id, "orders", limit=10, newest=True)
    report.results   # [DryResult(key, "would_send" | "skipped" | "needs_attention" | …, reason), …]

With `before` (the flow's settings before a change) and `keys`, a recipe that can tell (`WiderSelection`) also
finds in the source the records the new settings take in and the old ones left out; they are tried after
`keys` and named in `report.newly_selected`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs

import httpx

from koppel.errors import KoppelError, Outcome, RetryableError
from koppel.reasons import reason
from koppel.sync import runner
from koppel.sync.clients import IntegrationClients, books_client, shop_client
from koppel.sync.links import EngineLinks, Link, MemoryLinks

WOULD_SEND = "would_send"
READS = ("GET", "HEAD")


class WriteRefused(Exception):
    """A write the dry run did not send; the record's recipe got this far."""

    def __init__(self, write: str) -> None:
        super().__init__(f"dry run: not sent: {write}")
        self.write = write


@dataclass
class ReadOnlyTransport(httpx.BaseTransport):
    """An HTTP transport that sends reads and refuses writes, noting each refused write (`writes`)."""

    system: str
    inner: httpx.BaseTransport = field(default_factory=httpx.HTTPTransport)
    writes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in READS or _token_refresh(request):
            return self.inner.handle_request(request)
        write = describe_write(self.system, request)
        with self.lock:
            self.writes.append(write)
        raise WriteRefused(write)

    def close(self) -> None:
        self.inner.close()


def _token_refresh(request: httpx.Request) -> bool:
    """AccountView's token endpoint refreshing a grant (not data: without it no read would go)."""
    if request.method != "POST" or not request.url.path.endswith("/token"):
        return False
    form = parse_qs(request.read().decode("utf-8", errors="replace"))
    return form.get("grant_type") == ["refresh_token"]


def describe_write(system: str, request: httpx.Request) -> str:
    """The write in words, without its query (MijnWebwinkel's tokens travel there)."""
    verb = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}.get(request.method,
                                                                                           request.method)
    try:
        body = json.loads(request.read() or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("BusinessObject"):  # AccountView: one business object per write
        table = ((body.get("Table") or {}).get("Definition") or {}).get("Name", "")
        what = RECORDS.get(table, table or "record")
        return f"{system}: {verb} {what} ({body['BusinessObject']}" + (f" {table})" if table else ")")
    path = request.url.path
    what = next((word for part, word in RECORDS.items() if f"/{part}" in path), "")
    return f"{system}: {verb} {what} ({path})" if what else f"{system}: {verb} {path}"


# The records a write makes, in words: AccountView's tables and MijnWebwinkel's paths.
RECORDS = {"CONTACT": "debtor", "DEL_ADDR": "delivery address", "SO_HDR": "sales order", "DJ_PAGE": "invoice",
           "ARTICLE": "article", "ART_GRP": "article group", "stock": "stock", "categories": "category",
           "articles": "article", "orders": "order"}


class DraftLinks:
    """The integration's links read from the database; what a recipe links on the way stays in memory.
    `stored` is the engine's links, which also read many at once and from the target."""

    def __init__(self, stored: EngineLinks) -> None:
        self.stored = stored
        self.draft = MemoryLinks()
        self.forgotten: set[tuple[str, str]] = set()

    def find(self, entity: str, source_key: str) -> Link | None:
        found = self.draft.find(entity, source_key)
        if found is not None or (entity, source_key) in self.forgotten:
            return found
        return self.stored.find(entity, source_key)

    def linked(self, entity: str, source_keys: list[str]) -> set[str]:
        stored = {k for k in self.stored.linked(entity, source_keys) if (entity, k) not in self.forgotten}
        return stored | self.draft.linked(entity, source_keys)

    def write(self, entity: str, source_key: str, target_key: str, payload_hash: str = "") -> Link:
        existing = self.find(entity, source_key)
        if existing is not None:
            return existing
        self.forgotten.discard((entity, source_key))
        return self.draft.write(entity, source_key, target_key, payload_hash)

    def forget(self, entity: str, source_key: str) -> None:
        self.draft.forget(entity, source_key)
        self.forgotten.add((entity, source_key))

    def forget_if(self, entity: str, source_key: str, *, target_key: str) -> bool:
        found = self.find(entity, source_key)
        if found is None or found.target_key != target_key:
            return False
        self.forget(entity, source_key)
        return True

    def remember_sent(self, entity: str, source_key: str, payload_hash: str) -> None:
        self.draft.remember_sent(entity, source_key, payload_hash)

    # what some recipes read and write many at a time, or from the target's side (sync.links' protocols)

    def find_many(self, entities: Sequence[str], source_keys: list[str]) -> list[Link]:
        drafted = {(link.entity, link.source_key): link for link in self.draft.find_many(entities, source_keys)}
        stored = [link for link in self.stored.find_many(entities, source_keys)
                  if (link.entity, link.source_key) not in drafted | dict.fromkeys(self.forgotten)]
        return [*stored, *drafted.values()]

    def remember_many(self, links: list[Link]) -> None:
        self.draft.remember_many(links)
        self.forgotten.difference_update((link.entity, link.source_key) for link in links)

    def source_keys(self, entity: str) -> list[str]:
        stored = [k for k in self.stored.source_keys(entity)
                  if (entity, k) not in self.forgotten]
        return sorted({*stored, *self.draft.source_keys(entity)})

    def find_by_target(self, entity: str, target_key: str) -> Link | None:
        found = self.draft.find_by_target(entity, target_key)
        if found is not None:
            return found
        stored: Link | None = self.stored.find_by_target(entity, target_key)
        return None if stored is None or (entity, stored.source_key) in self.forgotten else stored

    def find_by_target_prefix(self, entity: str, prefix: str) -> list[Link]:
        stored = [link for link in self.stored.find_by_target_prefix(entity, prefix)
                  if (entity, link.source_key) not in self.forgotten
                  and self.draft.find(entity, link.source_key) is None]
        return [*stored, *self.draft.find_by_target_prefix(entity, prefix)]


@runtime_checkable
class WiderSelection(Protocol):
    """A recipe that can list the records its settings take in and `before` left out (`flows/orders.py`)."""

    def newly_selected(self, before: Any, most: int) -> list[str]:
        """Their keys, not linked, the newest `most`, newest first; reads only."""
        ...


@dataclass(frozen=True)
class DryResult:
    key: str
    outcome: str  # WOULD_SEND or an Outcome's value (skipped, needs_attention, retry, broken_connection)
    reason: str


@dataclass
class DryRunReport:
    flow: str
    looked_at: int = 0  # how many records the first run would look at; `results` holds `limit` of them
    results: list[DryResult] = field(default_factory=list)
    error: str = ""  # the dry run could not list the records (a broken connection, invalid settings)
    refused_writes: list[str] = field(default_factory=list)  # every write held back, for the record
    newly_selected: list[str] = field(default_factory=list)  # found with `before`: the new settings take them in

    @property
    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for result in self.results:
            found[result.outcome] = found.get(result.outcome, 0) + 1
        return found


def dry_run(integration_id: int, flow_name: str, *, limit: int = 10, newest: bool = True,
            settings: dict[str, Any] | None = None, keys: Sequence[str] | None = None,
            before: dict[str, Any] | None = None) -> DryRunReport:
    """What the flow's first run would do to `limit` of its records (the newest, or the first ones), with the
    integration's stored settings (or `settings`, the flow's, not yet saved), writing nothing anywhere.
    `keys`: these records instead, in this order, as a person's retry would take them (no listing); with
    `before`, then also up to `limit` records the settings take in and `before` left out."""
    from koppel.core.integrations.models import Integration

    report = DryRunReport(flow_name)
    integration = Integration.objects.select_related("shop", "books").get(pk=integration_id)
    try:
        flow = runner.find(flow_name)
    except LookupError as error:
        report.error = str(error)
        return report
    raw = settings if settings is not None else (integration.flows or {}).get(flow_name)
    problem = runner.settings_problem(flow, raw)
    if problem:
        report.error = problem
        return report
    shop_transport = ReadOnlyTransport("MijnWebwinkel")
    books_transport = ReadOnlyTransport("AccountView")
    try:
        wiring = IntegrationClients(
            integration_id=integration_id,
            shop=shop_client(integration.shop.settings, integration.shop.credentials, transport=shop_transport),
            books=books_client(integration.books.pk, integration.books.settings, integration.books.credentials,
                               http=httpx.Client(transport=books_transport, timeout=30.0)),
            flows=dict(integration.flows or {}),
            mapping_overrides=dict(integration.mapping_overrides or {}),
        )
    except KoppelError as error:
        report.error = str(error)
        return report
    try:
        recipe = flow.open(wiring, flow.settings.model_validate(raw or {}), DraftLinks(EngineLinks(integration_id)))

        def refused() -> list[str]:
            return shop_transport.writes + books_transport.writes

        if keys is None:
            _try_records(recipe, report, refused, limit=limit, newest=newest)
        else:
            if before is not None and isinstance(recipe, WiderSelection) and not runner.settings_problem(flow, before):
                try:
                    found = recipe.newly_selected(flow.settings.model_validate(before), limit)
                except (KoppelError, WriteRefused) as error:
                    report.error = str(error)
                    return report
                report.newly_selected = [key for key in found if key not in set(keys)]
            keys = [*keys, *report.newly_selected]
            report.looked_at = len(keys)
            _try_keys(recipe, report, refused, keys)
    finally:
        wiring.shop.close()
        wiring.books.close()
        report.refused_writes = shop_transport.writes + books_transport.writes
    return report


def _try_records(recipe: runner.Recipe, report: DryRunReport, refused: Callable[[], list[str]], *,
                 limit: int, newest: bool) -> None:
    try:
        candidates = recipe.fetch(None)  # a first run: no cursor
    except (KoppelError, WriteRefused) as error:
        report.error = str(error)
        return
    report.looked_at = len(candidates)
    chosen = candidates[-limit:] if newest else candidates[:limit]
    _try_keys(recipe, report, refused, [key for key, _ in (reversed(chosen) if newest else chosen)])


def _try_keys(recipe: runner.Recipe, report: DryRunReport, refused: Callable[[], list[str]],
              keys: Sequence[str]) -> None:
    for key in keys:
        before = len(refused())
        result = _try_one(recipe, key)
        held_back = refused()[before:]
        if held_back and result.outcome != WOULD_SEND:  # the recipe turned the refused write into an outcome
            result = _would_send(key, held_back[0])
        report.results.append(result)


def _would_send(key: str, write: str) -> DryResult:
    return DryResult(key, WOULD_SEND, reason("passes every check; the first write would be: {write}", write=write))


def _try_one(recipe: runner.Recipe, key: str) -> DryResult:
    try:
        record = recipe.sync(key, claimer=f"dry-run:{key}")
    except WriteRefused as refused:
        return _would_send(key, refused.write)
    except RetryableError as error:
        return DryResult(key, Outcome.RETRY.value, reason("{reason} (a real run tries again)", reason=error))
    except KoppelError as error:
        return DryResult(key, error.outcome.value, str(error))
    except Exception as error:  # what a real run parks as unexpected
        return DryResult(key, Outcome.NEEDS_ATTENTION.value, runner.unexpected(error))
    if record.outcome == Outcome.SENT:  # a recipe that sent without writing: nothing to send after all
        return DryResult(key, WOULD_SEND, record.reason)
    return DryResult(key, record.outcome.value, record.reason)
