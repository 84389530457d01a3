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

Running it is the runner's (`koppel.sync.runner`): this module declares the flow (`ORDERS`: the
entity "order", `OrdersSettings`, and how a run's `OrdersFlow` is made from the integration's
clients), and `koppel sync orders` runs it. What the runner stores between steps is ids: order
numbers, outcomes, AccountView keys and the parked reason (which may quote the offending value);
the order itself is read inside the step, and its payloads go to the activity log only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from pydantic import ValidationError

from koppel.connectors.accountview.amounts import PriceRules
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
from koppel.reasons import Reason, fixed_in, reason
from koppel.sync.clients import IntegrationClients
from koppel.sync.daily_totals import REVENUE, measure
from koppel.sync.links import TargetLinks
from koppel.sync.runner import Flow, declare

ENTITY = "order"


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
        self.maps = OrderMaps(
            settings,
            mapping_overrides,
            collective_account=books.profile.debtor_collective_account,
            code_page=books.profile.code_page,
        )
        self._mapping_overrides = mapping_overrides
        self.customers = Customers(books, links, self.maps, settings)
        self.articles = Articles(books, shop, settings, cast(TargetLinks, links))
        self._fetched: dict[str, Order] = {}
        self._first_answers: dict[str, str | None] = {}  # order number → AV key, asked for many at once
        self._reference: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._reference_lock = threading.Lock()

    # -- 1. fetch --------------------------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> list[tuple[str, str]]:
        """(order number, status-change moment) of the orders to look at, oldest first; the orders
        themselves stay in this process for the units that follow. AccountView's reference data is
        read first: a broken connection stops the run before any order."""
        self._vat_codes()
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
        linked = self.links.linked(ENTITY, list(found))  # skipped by their link: nothing to ask AccountView
        self._ask_books_first([number for number in found if number not in linked])
        return sorted(found.items(), key=lambda item: (item[1], item[0]))

    def newly_selected(self, before: OrdersSettings, most: int) -> list[str]:
        """The orders these settings select and `before` left out (a status added, test orders taken in,
        `orders_from` moved earlier), not linked: the newest `most`, newest first. The runs' cursor moved past
        them while they were left out, so no run looks at them again by itself. Reads only; the orders stay
        here for `sync`."""
        settings = self.settings
        added = [status for status in settings.statuses if status not in before.statuses]
        wider = (settings.include_test_orders and not before.include_test_orders) or (
            before.orders_from is not None and (settings.orders_from is None
                                                or settings.orders_from < before.orders_from))
        if not added and not wider:
            return []
        left_out = [
            order for order in self.shop.iter_orders(  # only the added statuses, unless more than they widened
                statuses=settings.statuses if wider else added, created_since=settings.orders_from,
                include_test=settings.include_test_orders)
            if not _selected(order, before) and (settings.include_test_orders or not order.is_test)]
        linked = self.links.linked(ENTITY, [order.number for order in left_out])
        newest = sorted((o for o in left_out if o.number not in linked), key=lambda o: (o.created_at, o.number))
        chosen = newest[-most:][::-1] if most > 0 else []
        with self._lock:
            self._fetched.update((order.number, order) for order in chosen)
        return [order.number for order in chosen]

    def _ask_books_first(self, numbers: list[str]) -> None:
        """Which of the fetched orders and customers AccountView has already, in one read per hundred
        instead of one per order. Each answer serves the first try of its order only; a later try
        (after a lost answer, in another process) looks again."""
        if not numbers:
            return
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

    # -- one order -------------------------------------------------------------------------------------

    def sync(self, number: str, *, claimer: str = "") -> Record:
        """Send one order, or skip or park it, and say what happened (the runner records it with the
        order's link). Raises RetryableError when a try failed for a passing reason."""
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
        except (NeedsAttention, BrokenConnection) as error:  # a field that is a setting: the setting fixes it
            setting = error.field if error.field in OrdersSettings.model_fields else None
            return self._record(number, error.outcome, fixed_in(setting, str(error)), payload_in=payload_in)
        except ValidationError as error:  # the mapped record breaks the AccountView connector's rules
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            unfit = reason(
                "The mapped order does not fit AccountView: {model}.{field}: {problem} (value {value}). "
                "Correct the order in the shop, or the mapping.",
                model=error.title, field=where, problem=first["msg"], value=repr(first.get("input")),
            )
            return self._record(number, Outcome.NEEDS_ATTENTION, unfit, payload_in=payload_in)

    def _send(self, order: Order, payload_in: dict[str, Any], claimer: str) -> Record:
        # 2. What the settings leave out is skipped; credit orders are parked unless the settings book them.
        skip = self._reason_to_skip(order)
        if skip:
            return self._record(order.number, Outcome.SKIPPED, skip, payload_in=payload_in)
        if order.is_credit and self.settings.credit_orders == "park":
            raise NeedsAttention(
                reason("Order {order} is a credit order (for order {original}). Book the credit in AccountView, "
                       "or set credit orders to 'book' in the integration's settings (credit_orders) to have "
                       "them booked as a credit of the original.",
                       order=order.number, original=order.credited_order_number),
                field="credit_orders",
                value=order.credited_order_number,
            )
        # 3. Already in AccountView? Skip.
        link = self.links.find(ENTITY, order.number)
        if link is not None:  # sent before: its activity says so already, and stays
            return Record(
                ENTITY,
                order.number,
                Outcome.SKIPPED,
                reason("already in AccountView as {kind} {target}", kind=self._kind(), target=link.target_key),
                link.target_key,
                earlier_stands=True,
            )
        found = self._found_in_books(order.number)
        if found:
            return self._record(
                order.number, Outcome.SKIPPED, found[0], target_key=found[1], payload_in=payload_in, link=True
            )
        # 4–6. Read and check everything before the first write: a parked order leaves nothing behind.
        order_totals.check_lines(order)
        if order.is_credit:  # 4. the original's debtor, not the shop's customer
            return self._send_credit(order, payload_in)
        plan = self.customers.plan(order)  # 4. the debtor: linked, matched on e-mail, or to create
        codes = self.articles.resolve(order, extra=self._rounding_article())  # 5. every article exists
        order_totals.check_vat(order, self.settings, self._vat_codes())  # 6. VAT codes, totals, payment
        self._document(order, plan.number or "-", None, codes)
        # 7. Write: the debtor and delivery address, then the sales order or invoice.
        customer = self.customers.commit(plan, claimer)
        document = self._document(order, customer.number, customer.delivery_code, codes, plan.warnings)
        target = self._write(document)
        # 8. Link it and record what was received and sent (the runner writes both at once).
        return self._record(
            order.number,
            Outcome.SENT,
            self._sent_reason(customer, target),
            target_key=target,
            payload_in=payload_in,
            payload_out=self._payload_out(plan, customer, document),
            link=True,
            measures=revenue(order),
        )

    def _send_credit(self, order: Order, payload_in: dict[str, Any]) -> Record:
        """A credit order as a credit of the original's document in AccountView (a sales order or invoice with
        negative amounts), for the original's debtor, referring to it; once, like any order (its own number
        is its reference)."""
        original = str(order.credited_order_number)
        debtor, credited = self._credited_document(order, original)
        codes = self.articles.resolve(order, extra=self._rounding_article())  # 5. every article exists
        order_totals.check_vat(order, self.settings, self._vat_codes())  # 6. VAT codes, totals, payment
        reference = f"Credit {original} ({self._kind()} {credited})"
        document = self._document(order, debtor, None, codes)
        if isinstance(document, SalesOrderIn):
            document = document.model_copy(update={"note": reference})
        else:
            document = document.model_copy(update={"description": reference[:40]})
        target = self._write(document)  # 7.
        return self._record(  # 8.
            order.number,
            Outcome.SENT,
            reason("credit {kind} {target} for debtor {debtor}, crediting order {original} ({kind} {credited})",
                   kind=self._kind(), target=target, debtor=debtor, original=original, credited=credited),
            target_key=target,
            payload_in=payload_in,
            payload_out={
                "credits": {"order": original, "document": credited, "debtor": debtor},
                type(document).__name__: document.model_dump(mode="json"),
            },
            link=True,
            measures=revenue(order),
        )

    def _credited_document(self, order: Order, original: str) -> tuple[str, str]:
        """(debtor number, document number) of the credited order in AccountView; parks when it isn't there."""
        if self.settings.write_as == "sales_order":
            found = self.books.find_sales_order(original)
            if found is not None:
                return found.debtor_number, found.number
        else:
            invoice = self.books.find_sales_invoice(original)
            if invoice is not None:
                return invoice.debtor_number, invoice.invoice_number
        raise NeedsAttention(
            reason("Credit order {order} credits order {original}, which is not in AccountView as a {kind}. Send "
                   "order {original} first (or book both by hand), then retry this credit order.",
                   order=order.number, original=original, kind=self._kind()),
            field="credited_order_number",
            value=original,
        )

    def _reason_to_skip(self, order: Order) -> str:
        if order.is_test and not self.settings.include_test_orders:
            return fixed_in("include_test_orders", reason("a test order; test orders are not sent (see the settings)"))
        if order.status not in self.settings.statuses:
            return fixed_in("statuses", reason("status {status} is not one of the statuses to send ({statuses})",
                                               status=order.status, statuses=str(self.settings.statuses)))
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
        return (
            reason("found in AccountView as {kind} {target} by its reference {order}; linked, not sent again",
                   kind=self._kind(), target=key, order=number),
            key,
        )

    def _kind(self) -> Reason:
        return reason("sales order") if self.settings.write_as == "sales_order" else reason("invoice")

    def _rounding_article(self) -> tuple[str, ...]:
        if self.settings.rounding_article and self.settings.write_as == "sales_order":
            return (self.settings.rounding_article,)
        return ()

    def _document(
        self,
        order: Order,
        debtor: str,
        delivery_code: str | None,
        codes: dict[str, str],
        warnings: list[str] | None = None,  # what the maps changed on the way is added here
    ) -> SalesOrderIn | SalesInvoiceIn:
        """The mapped document, priced so AccountView books the shop's amounts (`order_totals`), and checked:
        raises NeedsAttention before any write."""
        document: SalesOrderIn | SalesInvoiceIn
        rules = PriceRules.of(self.books.profile)
        if self.settings.write_as == "sales_order":
            document = self._maps_for(order).sales_order(
                order, debtor_number=debtor, delivery_code=delivery_code, article_codes=codes, warnings=warnings
            )
            document = order_totals.settle_sales_order(order, document, self.settings, self._vat_codes(), rules)
        else:
            if not self.settings.revenue_accounts:
                raise NeedsAttention(
                    reason("Orders are written as invoices, but no revenue accounts are set. Set the "
                           "revenue account per line type in the integration's settings."),
                    field="revenue_accounts",
                )
            document = self._maps_for(order).invoice(
                order, debtor_number=debtor, journal=self._journal(), warnings=warnings
            )
            document = order_totals.settle_invoice(order, document, self.settings, self._vat_codes(), rules)
        self._check_payment(order, document)
        return document

    def _maps_for(self, order: Order) -> OrderMaps:
        """The maps with the VAT codes of the order's destination country (EU one-stop shop)."""
        country = order_totals.destination(order)
        settings = self.settings.for_destination(country)
        if settings is self.settings:
            return self.maps
        collective = self.books.profile.debtor_collective_account
        return cast(
            OrderMaps,
            self._cached(
                f"maps {country}",
                lambda: OrderMaps(
                    settings,
                    self._mapping_overrides,
                    collective_account=collective,
                    code_page=self.books.profile.code_page,
                ),
            ),
        )

    def _check_payment(self, order: Order, document: SalesOrderIn | SalesInvoiceIn) -> None:
        shop_value = order.payment_method or reason("(none)")
        for code, table, setting, unknown in (
            (document.payment_method, "payment_methods", "payment_methods",
             reason("The payment method {code} (for the shop's '{shop_value}') does not exist in AccountView. "
                    "Correct the payment methods table in the integration's settings.",
                    code=document.payment_method, shop_value=shop_value)),
            (document.payment_condition, "payment_conditions", "payment_terms",
             reason("The payment terms {code} (for the shop's '{shop_value}') does not exist in AccountView. "
                    "Correct the payment terms table in the integration's settings.",
                    code=document.payment_condition, shop_value=shop_value)),
        ):
            if code and code.upper() not in self._codes(table):
                raise NeedsAttention(
                    unknown,
                    field=setting,
                    value=code,
                )

    def _write(self, document: SalesOrderIn | SalesInvoiceIn) -> str:
        # Looked up by its reference at the start of this try: no second lookup before writing.
        truncate = self.settings.truncate_long_fields
        if isinstance(document, SalesOrderIn):
            return self.books.create_sales_order(document, truncate=truncate, look_first=False).number
        return self.books.create_sales_invoice(document, truncate=truncate, look_first=False).invoice_number

    def _sent_reason(self, customer: Customer, target: str) -> Reason:
        return reason("{kind} {target} for debtor {debtor} ({how})", kind=self._kind(), target=target,
                      debtor=customer.number, how=customer.how_said())

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
        link: bool = False,
        measures: dict[str, Decimal] | None = None,
    ) -> Record:
        return Record(ENTITY, number, outcome, reason, target_key, payload_in, payload_out, link=link,
                      measures=measures or {})

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
                    reason("AccountView has no journal named Verkoopboek. Set the invoice journal in the "
                           "integration's settings."),
                    field="invoice_journal",
                )
            return journal.code

        return cast(str, self._cached("journal", read))

    def _cached(self, name: str, read: Callable[[], Any]) -> Any:
        with self._reference_lock:  # held while reading: concurrent orders wait for the one read
            if name not in self._reference:
                self._reference[name] = read()
            return self._reference[name]


def revenue(order: Order) -> dict[str, Decimal]:
    """What a sent order adds to the revenue booked (the insights keep sums per day, never the order): its
    total incl. VAT in its currency, a credit order's negative. A shop that names no currency sells in euros
    (MijnWebwinkel's default)."""
    total = -abs(order.total) if order.is_credit else order.total
    return {measure(REVENUE, order.currency or "EUR"): total}


def _open(integration: IntegrationClients, settings: OrdersSettings, links: Links) -> OrdersFlow:
    return OrdersFlow(
        integration.shop, integration.books, settings, links, mapping_overrides=integration.mapping_overrides
    )


def _selected(order: Order, settings: OrdersSettings) -> bool:
    """Whether these settings take this order in (the first run's selection: statuses, test orders, orders_from)."""
    return (order.status in settings.statuses and (settings.include_test_orders or not order.is_test)
            and (settings.orders_from is None or order.created_at.date() >= settings.orders_from))


ORDERS = declare(Flow(name="orders", entity=ENTITY, settings=OrdersSettings, open=_open))
