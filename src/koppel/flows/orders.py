"""The orders flow: MijnWebwinkel orders into AccountView, exactly once.

The recipe, per order (`OrdersFlow.sync`):
 1. fetch the orders changed since the cursor, in the chosen statuses, test orders only when asked;
 2. enrich: the shop's order as the maps read it, the settings' value tables beside it;
 3. already in AccountView (a link, or found by our external reference)? skip, and say so;
 4. customer: the debtor by e-mail, created or updated, or the default debtor (`customers.py`);
 5. every article must exist in AccountView (`articles.py`), else park naming the missing SKUs;
 6. validate before the first write: VAT codes, quantities, totals, payment method and terms
    (`order_totals.py`, `order_mapping.py`);
 7. write the sales order or the invoice, found again by its reference when an answer was lost;
 8. link it, record the activity, and advance the cursor only past what was processed.

A record that can't go is parked with a reason naming the field, the value and what to do; the run
goes on with the other orders.

Running it. `run_orders(integration_name, *, full=False, progress=None) -> RunSummary` runs the flow
once now, durably, and returns when it is done (for `koppel sync orders` and `koppel demo`):

    summary = run_orders("demo", progress=lambda event: bar.update(...))
    summary.counts            # {"sent": 40, "skipped": 3, "needs_attention": 2, "retry": 0, ...}
    summary.parked            # [OrderResult(number, outcome, reason, target_key), …]

It launches the engine in this process when none runs yet (and stops it again). `full=True` ignores
the cursor: every order since `orders_from` is looked at again and parked ones are retried; linked
ones are skipped without a call. `progress` is called with a `Progress` event per order handled in
this process. The run is the DBOS workflow `orders.run` (also started by the scheduler); each order
is a unit of work with the workflow id `orders:<integration>:<order number>` (a retry of a parked
order in a later run: `…:<number>@<run>`), so starting one twice runs it once. Clients are built
from the integration's connections by `koppel.sync.clients` (the engine's side: it reads the database,
flows never do). What DBOS stores between steps is ids: order numbers, outcomes, AccountView keys and
the parked reason (which may quote the offending value); the order itself is read inside the step,
and its payloads go to the activity log only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import ValidationError

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import SalesInvoiceIn, SalesOrder, SalesOrderIn, VatCode
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.models import Order
from koppel.errors import BrokenConnection, NeedsAttention, Outcome, RetryableError
from koppel.flows import order_totals
from koppel.flows.articles import Articles
from koppel.flows.customers import Customer, Customers, DebtorPlan
from koppel.flows.links import Links, Record
from koppel.flows.order_mapping import OrderMaps, order_source
from koppel.flows.settings import OrdersSettings

ENTITY = "order"
CURSOR = "orders"
DONE = (Outcome.SENT.value, Outcome.SKIPPED.value)
PARKED = (Outcome.NEEDS_ATTENTION.value, Outcome.RETRY.value, Outcome.BROKEN_CONNECTION.value)


@dataclass(frozen=True)
class OrderResult:
    """What happened to one order in a run."""

    number: str
    outcome: str
    reason: str = ""
    target_key: str = ""


@dataclass(frozen=True)
class Progress:
    """One step of a run, for a progress bar: `total` is known once the orders are fetched."""

    done: int
    total: int
    result: OrderResult | None = None


@dataclass
class RunSummary:
    """A finished run: what was sent, skipped and parked, and why."""

    integration: str
    results: list[OrderResult] = field(default_factory=list)
    error: str = ""

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(o.value for o in Outcome)
        return {k: sum(1 for r in self.results if r.outcome == k) for k in counts}

    @property
    def sent(self) -> list[OrderResult]:
        return [r for r in self.results if r.outcome == Outcome.SENT.value]

    @property
    def skipped(self) -> list[OrderResult]:
        return [r for r in self.results if r.outcome == Outcome.SKIPPED.value]

    @property
    def parked(self) -> list[OrderResult]:
        return [r for r in self.results if r.outcome in PARKED]

    def as_json(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "counts": self.counts,
            "error": self.error,
            "orders": [asdict(r) for r in self.results],
        }


class OrdersFlow:
    """One run of the orders flow for one integration: the recipe, and what the run remembers
    (articles, debtors, AccountView's reference data) so recurring things cost no second call."""

    def __init__(
        self,
        shop: MijnWebwinkelClient,
        books: AccountViewClient,
        settings: OrdersSettings,
        links: Links,
        *,
        mapping_overrides: dict[str, Any] | None = None,
    ) -> None:
        self.shop = shop
        self.books = books
        self.settings = settings
        self.links = links
        self.maps = OrderMaps(settings, mapping_overrides, collective_account=books.profile.debtor_collective_account)
        self.customers = Customers(books, links, self.maps, settings)
        self.articles = Articles(books, shop, settings)
        self._fetched: dict[str, Order] = {}
        self._first_answers: dict[str, str | None] = {}  # order number → AV key, asked for many at once
        self._reference: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._reference_lock = threading.Lock()

    # -- 1. fetch --------------------------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> list[tuple[str, str]]:
        """(order number, status-change moment) of the orders to look at, oldest first; the orders
        themselves stay in this process for the units that follow."""
        since = None
        if cursor:
            since = datetime.fromisoformat(cursor) - timedelta(minutes=self.settings.overlap_minutes)
        found: dict[str, str] = {}
        for order in self.shop.iter_orders(
            statuses=self.settings.statuses,
            created_since=self.settings.orders_from,
            changed_since=since,
            include_test=self.settings.include_test_orders,
        ):
            if order.is_test and not self.settings.include_test_orders:
                continue
            moment = order.status_changed_at or order.created_at
            with self._lock:
                self._fetched[order.number] = order
            found[order.number] = moment.isoformat()
        self._ask_books_first(list(found))
        return sorted(found.items(), key=lambda item: (item[1], item[0]))

    def _ask_books_first(self, numbers: list[str]) -> None:
        """Which of the fetched orders and customers AccountView has already, in one read per hundred
        instead of one per order. Each answer serves the first try of its order only; a later try
        (after a lost answer, in another process) looks again."""
        with self._lock:
            orders = [o for n in numbers if (o := self._fetched.get(n))]
        emails = {(o.customer.email or "").lower() for o in orders}
        self.articles.prefetch(orders, extra=self._rounding_article())
        find = (
            self.books.sales_order_numbers
            if self.settings.write_as == "sales_order"
            else self.books.sales_invoice_numbers
        )
        in_books = find(numbers)
        with self._lock:
            self._first_answers.update({n: in_books.get(n) for n in numbers})
        if not self.settings.force_default_debtor:
            self.customers.known(
                self.books.debtor_numbers_by_email(e for e in emails if e and "," not in e), asked=emails
            )

    def check_connections(self) -> None:
        """Read AccountView's reference data now: a broken connection stops the run before any order."""
        self._vat_codes()

    # -- one order -------------------------------------------------------------------------------------

    def sync(self, number: str, *, claimer: str = "") -> OrderResult:
        """Send one order, or skip or park it; records the outcome. Raises RetryableError (nothing
        recorded) when a try failed for a passing reason: try again, or `park_for_retry`."""
        with self._lock:
            order = self._fetched.pop(number, None)
        payload_in = None
        try:
            order = order or self.shop.get_order(number)
            payload_in = order_source(order)
            return self._send(order, payload_in, claimer or number)
        except RetryableError:
            if order is not None:
                with self._lock:
                    self._fetched[number] = order
            raise
        except (NeedsAttention, BrokenConnection) as error:
            return self._record(number, error.outcome, str(error), payload_in=payload_in)
        except ValidationError as error:  # the mapped record breaks the AccountView connector's rules
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            reason = (
                f"The mapped order does not fit AccountView: {error.title}.{where}: {first['msg']} "
                f"(value {first.get('input')!r}). Correct the order in the shop, or the mapping."
            )
            return self._record(number, Outcome.NEEDS_ATTENTION, reason, payload_in=payload_in)

    def park_for_retry(self, number: str, error: BaseException) -> OrderResult:
        """Record an order whose tries all failed for passing reasons; the next run tries it again."""
        with self._lock:
            self._fetched.pop(number, None)
        reason = f"{error} (tried several times; the next run tries again)"
        return self._record(number, Outcome.RETRY, reason)

    def _send(self, order: Order, payload_in: dict[str, Any], claimer: str) -> OrderResult:
        # 2. What the settings leave out is skipped; credit orders are another flow's.
        skip = self._reason_to_skip(order)
        if skip:
            return self._record(order.number, Outcome.SKIPPED, skip, payload_in=payload_in)
        if order.is_credit:
            raise NeedsAttention(
                f"Order {order.number} is a credit order (for order {order.credited_order_number}). "
                "Credit orders are not sent by the orders flow: book the credit in AccountView.",
                field="credited_order_number",
                value=order.credited_order_number,
            )
        # 3. Already in AccountView? Skip.
        link = self.links.find(ENTITY, order.number)
        if link is not None:  # sent before: its activity says so already, and stays
            return OrderResult(
                order.number,
                Outcome.SKIPPED.value,
                f"already in AccountView as {self._kind()} {link.target_key}",
                link.target_key,
            )
        found = self._found_in_books(order.number)
        if found:
            return self._record(order.number, Outcome.SKIPPED, found[0], target_key=found[1], payload_in=payload_in)
        # 4–6. Read and check everything before the first write: a parked order leaves nothing behind.
        order_totals.check_lines(order)
        plan = self.customers.plan(order)  # 4. the debtor: linked, matched on e-mail, or to create
        codes = self.articles.resolve(order, extra=self._rounding_article())  # 5. every article exists
        order_totals.check_vat(order, self.settings, self._vat_codes())  # 6. VAT codes, totals, payment
        self._document(order, plan.number or "-", None, codes)
        # 7. Write: the debtor and delivery address, then the sales order or invoice.
        customer = self.customers.commit(plan, claimer)
        document = self._document(order, customer.number, customer.delivery_code, codes)
        target = self._write(document)
        # 8. Link it and record what was received and sent (the run advances the cursor).
        self.links.write(ENTITY, order.number, target)
        return self._record(
            order.number,
            Outcome.SENT,
            self._sent_reason(customer, target),
            target_key=target,
            payload_in=payload_in,
            payload_out=self._payload_out(plan, customer, document),
        )

    def _reason_to_skip(self, order: Order) -> str:
        if order.is_test and not self.settings.include_test_orders:
            return "a test order; test orders are not sent (see the settings)"
        if order.status not in self.settings.statuses:
            return f"status {order.status} is not one of the statuses to send ({self.settings.statuses})"
        return ""

    def _found_in_books(self, number: str) -> tuple[str, str] | None:
        """An order written before we could link it (a lost answer, a crash): link it now."""
        with self._lock:
            asked = number in self._first_answers
            key = self._first_answers.pop(number, None)
        if not asked:
            found = (
                self.books.find_sales_order(number)
                if self.settings.write_as == "sales_order"
                else self.books.find_sales_invoice(number)
            )
            key = None if found is None else found.number if isinstance(found, SalesOrder) else found.invoice_number
        if key is None:
            return None
        self.links.write(ENTITY, number, key)
        return (
            f"found in AccountView as {self._kind()} {key} by its reference {number}; linked, not sent again",
            key,
        )

    def _kind(self) -> str:
        return "sales order" if self.settings.write_as == "sales_order" else "invoice"

    def _rounding_article(self) -> tuple[str, ...]:
        if self.settings.rounding_article and self.settings.write_as == "sales_order":
            return (self.settings.rounding_article,)
        return ()

    def _document(
        self, order: Order, debtor: str, delivery_code: str | None, codes: dict[str, str]
    ) -> SalesOrderIn | SalesInvoiceIn:
        """The mapped, balanced and checked document: raises NeedsAttention before any write."""
        document: SalesOrderIn | SalesInvoiceIn
        if self.settings.write_as == "sales_order":
            document = self.maps.sales_order(
                order, debtor_number=debtor, delivery_code=delivery_code, article_codes=codes
            )
            document = order_totals.balance_sales_order(order, document, self._vat_codes(), self.settings)
        else:
            if not self.settings.revenue_accounts:
                raise NeedsAttention(
                    "Orders are written as invoices, but no revenue accounts are set. Set the "
                    "revenue account per line type in the integration's settings.",
                    field="revenue_accounts",
                )
            document = self.maps.invoice(order, debtor_number=debtor, journal=self._journal())
            document = order_totals.balance_invoice(order, document, self.settings)
        self._check_payment(order, document)
        return document

    def _check_payment(self, order: Order, document: SalesOrderIn | SalesInvoiceIn) -> None:
        shop_value = order.payment_method or "(none)"
        for code, table, what, setting in (
            (document.payment_method, "payment_methods", "payment method", "payment methods"),
            (document.payment_condition, "payment_conditions", "payment terms", "payment terms"),
        ):
            if code and code.upper() not in self._codes(table):
                raise NeedsAttention(
                    f"The {what} {code} (for the shop's '{shop_value}') does not exist in "
                    f"AccountView. Correct the {setting} table in the integration's settings.",
                    field=table,
                    value=code,
                )

    def _write(self, document: SalesOrderIn | SalesInvoiceIn) -> str:
        # Looked up by its reference at the start of this try: no second lookup before writing.
        truncate = self.settings.truncate_long_fields
        if isinstance(document, SalesOrderIn):
            return self.books.create_sales_order(document, truncate=truncate, look_first=False).number
        return self.books.create_sales_invoice(document, truncate=truncate, look_first=False).invoice_number

    def _sent_reason(self, customer: Customer, target: str) -> str:
        return f"{self._kind()} {target} for debtor {customer.number} ({customer.how})"

    @staticmethod
    def _payload_out(plan: DebtorPlan, customer: Customer, document: SalesOrderIn | SalesInvoiceIn) -> dict[str, Any]:
        return {
            "debtor": {
                "number": customer.number,
                "how": customer.how,
                "sent": plan.debtor.model_dump(mode="json") if plan.debtor else None,
            },
            "delivery_address": customer.delivery_code,
            "warnings": plan.warnings,
            type(document).__name__: document.model_dump(mode="json"),
        }

    def _record(
        self,
        number: str,
        outcome: Outcome,
        reason: str,
        *,
        target_key: str = "",
        payload_in: Any = None,
        payload_out: Any = None,
    ) -> OrderResult:
        self.links.record(Record(ENTITY, number, outcome, reason, target_key, payload_in, payload_out))
        return OrderResult(number, outcome.value, reason, target_key)

    # -- AccountView's reference data, read once per run ----------------------------------------------

    def _vat_codes(self) -> dict[str, VatCode]:
        return cast(
            dict[str, VatCode],
            self._cached("vat", lambda: {v.code.upper(): v for v in self.books.vat_codes()}),
        )

    def _codes(self, table: str) -> set[str]:
        def read() -> set[str]:
            if table == "payment_methods":
                return {m.code.upper() for m in self.books.payment_methods()}
            return {c.code.upper() for c in self.books.payment_conditions()}

        return cast(set[str], self._cached(table, read))

    def _journal(self) -> str:
        def read() -> str:
            if self.settings.invoice_journal:
                return self.settings.invoice_journal.upper()
            journal = self.books.sales_journal()
            if journal is None:
                raise NeedsAttention(
                    "AccountView has no journal named Verkoopboek. Set the invoice journal in the "
                    "integration's settings.",
                    field="invoice_journal",
                )
            return journal.code

        return cast(str, self._cached("journal", read))

    def _cached(self, name: str, read: Callable[[], Any]) -> Any:
        with self._reference_lock:  # held while reading: concurrent orders wait for the one read
            if name not in self._reference:
                self._reference[name] = read()
            return self._reference[name]


# -- running a flow ------------------------------------------------------------------------------------


def cursor_after(candidates: list[tuple[str, str]], results: dict[str, str]) -> str | None:
    """How far the cursor may move: to the last order before the first one to be tried again
    (a passing failure, or a broken connection: both go again by themselves once it passes)."""
    position = None
    for number, moment in candidates:
        if results.get(number) in (Outcome.RETRY.value, Outcome.BROKEN_CONNECTION.value):
            break
        position = moment
    return position


def sync_in_process(
    flow: OrdersFlow,
    *,
    full: bool = False,
    tries: int = 4,
    wait: float = 0.2,
    progress: Callable[[Progress], None] | None = None,
    workers: int = 1,
) -> list[OrderResult]:
    """One run without the engine (tests, benchmarks, a dry look): the same recipe and cursor rule,
    `workers` orders at a time, passing failures tried `tries` times here instead of as durable steps."""
    flow.check_connections()
    candidates = flow.fetch(None if full else flow.links.read_cursor(CURSOR))
    results: list[OrderResult] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for result in pool.map(lambda number: _with_tries(flow, number, tries, wait), [n for n, _ in candidates]):
            results.append(result)
            if progress:
                progress(Progress(len(results), len(candidates), result))
    position = cursor_after(candidates, {r.number: r.outcome for r in results})
    if position:
        flow.links.advance_cursor(CURSOR, position)
    return results


def _with_tries(flow: OrdersFlow, number: str, tries: int, wait: float) -> OrderResult:
    for attempt in range(tries):
        try:
            return flow.sync(number)
        except RetryableError as error:
            if attempt == tries - 1:
                return flow.park_for_retry(number, error)
            time.sleep(wait * 2**attempt)
    raise AssertionError("unreachable")


# -- the durable run: DBOS workflows through koppel.sync.units -----------------------------------------

_flows: OrderedDict[tuple[int, int], OrdersFlow] = OrderedDict()
_flows_lock = threading.Lock()
_listeners: dict[int, Callable[[Progress], None]] = {}
_KEPT_FLOWS = 4


def _flow_for(integration_id: int, run_id: int) -> OrdersFlow:
    """This process's flow object of a run: clients and caches live as long as the run."""
    from koppel.flows.links import EngineLinks
    from koppel.sync.clients import integration_clients

    with _flows_lock:
        flow = _flows.get((integration_id, run_id))
        if flow is None:
            wiring = integration_clients(integration_id)
            flow = OrdersFlow(
                wiring.shop,
                wiring.books,
                OrdersSettings.model_validate(wiring.flows.get("orders") or {}),
                EngineLinks(integration_id, run_id),
                mapping_overrides=wiring.mapping_overrides,
            )
            _flows[(integration_id, run_id)] = flow
            while len(_flows) > _KEPT_FLOWS:
                _flows.popitem(last=False)
        _flows.move_to_end((integration_id, run_id))
        return flow


def _declare() -> tuple[Callable[..., Any], Callable[..., Any], Callable[[int, list[str]], dict[str, Any]]]:
    """Declare the run and unit workflows (importing this module registers them with DBOS)."""
    from koppel.sync import units

    @units.step(retries=3, interval_seconds=1.0, name="orders.fetch")
    def fetch_orders(integration_id: int, run_id: int, cursor: str | None) -> list[list[str]]:
        flow = _flow_for(integration_id, run_id)
        flow.check_connections()
        found = [[number, moment] for number, moment in flow.fetch(cursor)]
        listener = _listeners.get(integration_id)
        if listener:
            listener(Progress(0, len(found)))
        return found

    @units.step(retries=5, interval_seconds=1.0, backoff_rate=2.0, name="orders.sync")
    def sync_order(integration_id: int, run_id: int, number: str, claimer: str) -> dict[str, str]:
        return asdict(_flow_for(integration_id, run_id).sync(number, claimer=claimer))

    @units.step(name="orders.park_for_retry")
    def park_for_retry(integration_id: int, run_id: int, number: str, reason: str) -> dict[str, str]:
        return asdict(_flow_for(integration_id, run_id).park_for_retry(number, RetryableError(reason)))

    @units.unit_of_work("orders", name="order")
    def order_unit(integration_id: int, key: str, run_id: int) -> dict[str, Any]:
        number = key.split("@", 1)[0]
        claimer = units.unit_id("orders", integration_id, key)
        try:
            result = sync_order(integration_id, run_id, number, claimer)
        except Exception as error:  # the step's tries are used up
            errors = getattr(error, "errors", None) or [error]
            result = park_for_retry(integration_id, run_id, number, str(errors[-1]))
        listener = _listeners.get(integration_id)
        if listener:
            listener(Progress(0, 0, OrderResult(**result)))
        return {**result, "run": run_id}

    @units.flow_run("orders")  # type: ignore[arg-type]  # returns the orders besides the counts
    def orders_run(integration_id: int, full: bool) -> dict[str, Any]:
        run_id = units.start_run(integration_id, "orders")
        cursor = None if full else units.read_cursor(integration_id, CURSOR)
        try:
            candidates = [(n, m) for n, m in fetch_orders(integration_id, run_id, cursor)]
        except Exception as error:
            errors = getattr(error, "errors", None) or [error]
            units.finish_run(run_id, {}, error=str(errors[-1]))
            return {"error": str(errors[-1]), "orders": []}
        handles = [units.start_unit(order_unit, integration_id, number, run_id) for number, _ in candidates]
        results = [outcome_of(handle, number, run_id) for handle, (number, _) in zip(handles, candidates, strict=True)]
        again = {
            i: units.start_unit(order_unit, integration_id, f"{r['number']}@{run_id}", run_id)
            for i, r in enumerate(results)
            if r["run"] != run_id and r["outcome"] in PARKED
        }
        for index, handle in again.items():
            results[index] = outcome_of(handle, results[index]["number"], run_id)
        return finish(integration_id, run_id, candidates, results)

    def finish(integration_id: int, run_id: int, candidates: list[tuple[str, str]],
               results: list[dict[str, Any]]) -> dict[str, Any]:
        for result in results:
            if result["run"] != run_id:  # finished in an earlier run: nothing happened now
                result.update(outcome=Outcome.SKIPPED.value, reason=f"already handled: {result['reason']}")
        position = cursor_after(candidates, {r["number"]: r["outcome"] for r in results}) if candidates else None
        if position:
            units.advance_cursor(integration_id, CURSOR, position)
        counts = {o.value: sum(1 for r in results if r["outcome"] == o.value) for o in Outcome}
        units.finish_run(run_id, counts)
        return {
            **counts,
            "orders": [{k: r[k] for k in ("number", "outcome", "reason", "target_key")} for r in results],
        }

    def outcome_of(handle: Any, number: str, run_id: int) -> dict[str, Any]:
        """A unit's result; a unit that failed outright (its database was gone, …) is tried next run."""
        try:
            return cast(dict[str, Any], handle.get_result())
        except Exception as error:
            return asdict(OrderResult(number, Outcome.RETRY.value, f"the unit of work failed: {error}")) | {
                "run": run_id
            }

    def retry(integration_id: int, numbers: list[str]) -> dict[str, Any]:
        """Send these orders again, each in a fresh unit of work, as one run (not a workflow itself:
        each order's unit is durable, and the cursor is left alone)."""
        run_id = units.start_run(integration_id, "orders")
        handles = [units.start_unit(order_unit, integration_id, f"{n}@retry-{run_id}", run_id) for n in numbers]
        results = [outcome_of(handle, number, run_id) for handle, number in zip(handles, numbers, strict=True)]
        return finish(integration_id, run_id, [], results)

    return orders_run, order_unit, retry


orders_run, order_unit, _retry = _declare()


def run_orders(
    integration_name: str, *, full: bool = False, progress: Callable[[Progress], None] | None = None
) -> RunSummary:
    """Run the orders flow of an integration once, now, and wait for it (see the module docstring)."""
    from koppel.sync import clients, engine, units

    integration_id = clients.integration_id(integration_name)
    launched = not engine.is_running()
    if launched:
        engine.launch(executor_id=engine.one_off_executor_id("sync-orders"))
    done, total = 0, 0

    def report(event: Progress) -> None:
        nonlocal done, total
        if event.result is None:
            total = event.total
        else:
            done += 1
        if progress:
            progress(Progress(done, max(total, done), event.result))

    _listeners[integration_id] = report
    try:
        outcome = units.start_flow_run("orders", integration_id, full=full).get_result()
    finally:
        _listeners.pop(integration_id, None)
        if launched:
            engine.shutdown()
    return summary_of(integration_name, cast(dict[str, Any], outcome))


def retry_orders(integration_name: str, numbers: list[str]) -> RunSummary:
    """Send these orders again now, after the cause that parked them was fixed. An order that is in
    AccountView already is skipped: a retry never writes an order twice."""
    from koppel.sync import clients, engine

    integration_id = clients.integration_id(integration_name)
    launched = not engine.is_running()
    if launched:
        engine.launch(executor_id=engine.one_off_executor_id("retry-orders"))
    try:
        outcome = _retry(integration_id, [str(n).strip() for n in numbers])
    finally:
        if launched:
            engine.shutdown()
    return summary_of(integration_name, outcome)


def summary_of(integration_name: str, outcome: dict[str, Any]) -> RunSummary:
    results = [OrderResult(**item) for item in outcome.get("orders", [])]
    return RunSummary(integration_name, results, error=str(outcome.get("error", "")))


__all__ = [
    "OrderResult",
    "OrdersFlow",
    "Progress",
    "RunSummary",
    "retry_orders",
    "run_orders",
    "sync_in_process",
]
