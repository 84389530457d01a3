"""The customer of an order in AccountView: the debtor matched on e-mail, created when there is none
(a company debtor with its contact person, or a person debtor), or the configured default debtor; and
the order's delivery address as one of the debtor's delivery addresses.

Recurring customers cost no AccountView call: a debtor link (hashed e-mail → debtor number, with a
hash of what was last sent) answers, and a debtor is updated only when what the shop says about it changed.
An update sends the debtor map's update-mode row: only the fields the map does not mark `only_create`, so
the name and address the accountant curates in AccountView stay.
Creation is claimed through the link's unique constraint first, so two workers never create the same
customer twice; within a process, orders of one customer wait for each other instead.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import DebtorIn, DeliveryAddressIn
from koppel.connectors.mijnwebwinkel.models import Order
from koppel.errors import NeedsAttention, RetryableError
from koppel.flows.links import Links
from koppel.flows.order_mapping import OrderMaps
from koppel.flows.settings import OrdersSettings
from koppel.reasons import reason

DEBTOR = "debtor"
DELIVERY_ADDRESS = "delivery-address"
_CLAIM = "claim:"


@dataclass
class DebtorPlan:
    """Who the order's debtor is, decided before anything is written."""

    how: str  # "default", "linked", "matched" or "new"
    email: str = ""
    number: str = ""  # known unless the debtor must be created
    debtor: DebtorIn | None = None  # what the shop says about the customer, to create it
    update: DebtorIn | None = None  # what an update sends: the map without its only_create fields
    delivery: DeliveryAddressIn | None = None  # a delivery address other than the invoice address
    warnings: list[str] = field(default_factory=list)

    @property
    def payload_hash(self) -> str:
        """What an update would send, hashed: a debtor is updated only when this changed."""
        return _hash(self.update.model_dump(mode="json")) if self.update else ""


@dataclass(frozen=True)
class Customer:
    """The debtor an order is booked on, and how it was found."""

    number: str
    how: str  # default, linked, matched, created, updated
    delivery_code: str | None = None

    def how_said(self) -> str:
        """How the debtor was found, as a sent order's reason says it (in the reader's language)."""
        return _HOW_SAID.get(self.how, self.how)


_HOW_SAID = {"default": reason("default"), "linked": reason("linked"), "matched": reason("matched"),
             "created": reason("created"), "updated": reason("updated")}


def email_key(email: str) -> str:
    """A debtor link's key: the e-mail hashed, so the link table holds no address."""
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def _hash(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]


class Customers:
    """Debtors of one run of the orders flow."""

    def __init__(self, books: AccountViewClient, links: Links, maps: OrderMaps, settings: OrdersSettings) -> None:
        self.books = books
        self.links = links
        self.maps = maps
        self.settings = settings
        self._default_checked: bool | None = None
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._first_answers: dict[str, str | None] = {}  # e-mail → debtor number, asked for many at once
        self._guard = threading.Lock()

    # -- deciding (reads only) -------------------------------------------------------------------------

    def known(self, numbers: dict[str, str], *, asked: set[str]) -> None:
        """What AccountView answered for many e-mails at once: each answer serves one lookup."""
        with self._guard:
            self._first_answers.update({email: numbers.get(email) for email in asked if email})

    def _debtor_number(self, email: str) -> str | None:
        with self._guard:
            asked = email in self._first_answers
            number = self._first_answers.pop(email, None)
        if asked:
            return number
        found = self.books.find_debtor_by_email(email)
        return found.number if found else None

    def plan(self, order: Order) -> DebtorPlan:
        """Find the debtor, or map the one to create; raises NeedsAttention naming what is wrong."""
        email = (order.customer.email or "").strip().lower()
        if self.settings.force_default_debtor or (not email and self.settings.default_debtor):
            plan = DebtorPlan(how="default", number=self._default_debtor())
        elif not email:
            raise NeedsAttention(
                reason("The order has no customer e-mail address, and customers are matched on e-mail. Add the "
                       "e-mail address to the order in the shop, or set a default debtor in the integration's "
                       "settings."),
                field="debtor.email",
                value=None,
            )
        else:
            link = self.links.find(DEBTOR, email_key(email))
            number, how = "", "new"
            if link is not None and not link.target_key.startswith(_CLAIM):
                number, how = link.target_key, "linked"
            debtor, warnings = self.maps.debtor(order)
            update, _ = self.maps.debtor(order, mode="update")  # its warnings are the create row's, or fewer
            plan = DebtorPlan(how=how, email=email, number=number, debtor=debtor, update=update, warnings=warnings)
        if self.ships_elsewhere(order):
            plan.delivery, more = self.maps.delivery_address(order, plan.number or "-")
            plan.warnings += more
        return plan

    def _default_debtor(self) -> str:
        number = (self.settings.default_debtor or "").strip().upper()
        if not number:
            raise NeedsAttention(
                reason("The settings force the default debtor, but no default debtor is set. Set "
                       "one in the integration's settings."),
                field="default_debtor",
            )
        if self._default_checked is None:
            self._default_checked = self.books.get_debtor(number) is not None
        if not self._default_checked:
            raise NeedsAttention(
                reason("The default debtor {debtor} set in the integration's settings does not exist "
                       "in AccountView. Create it there, or correct the setting.", debtor=number),
                field="default_debtor",
                value=number,
            )
        return number

    @staticmethod
    def ships_elsewhere(order: Order) -> bool:
        """The order goes to another address than its invoice address (then the debtor gets a delivery address;
        the datamapper previews that map on such an order)."""
        delivery = order.debtor.address.delivery
        if delivery is None:
            return False
        invoice = order.billing_address
        keys = ("name", "company", "street", "number", "zipcode", "city", "country_code")
        return any(
            (getattr(delivery, k) or "").strip().casefold() != (getattr(invoice, k) or "").strip().casefold()
            for k in keys
        )

    # -- writing ---------------------------------------------------------------------------------------

    def commit(self, plan: DebtorPlan, claimer: str) -> Customer:
        """Create or update the debtor as planned, then its delivery address."""
        if plan.how == "default":
            customer = Customer(plan.number, "default")
        else:
            with self._lock(plan.email):
                customer = self._linked_debtor(plan, claimer)
        if plan.delivery is None:
            return customer
        return Customer(customer.number, customer.how, self._delivery_code(customer.number, plan.delivery))

    def _linked_debtor(self, plan: DebtorPlan, claimer: str) -> Customer:
        assert plan.debtor is not None
        link = self.links.find(DEBTOR, email_key(plan.email))
        if link is not None and not link.target_key.startswith(_CLAIM):
            return self._maybe_update(link.target_key, "linked", plan, link.payload_hash, claimer)
        found = self._debtor_number(plan.email)
        if found is not None:
            if link is not None:  # a claim whose debtor was made, but whose link was not written yet
                self.links.forget(DEBTOR, email_key(plan.email))
            self.links.write(DEBTOR, email_key(plan.email), found)
            return self._maybe_update(found, "matched", plan, "", claimer)
        return self._create(plan, claimer, link.target_key if link else None)

    def _maybe_update(self, number: str, how: str, plan: DebtorPlan, sent_hash: str, claimer: str) -> Customer:
        if not self.settings.update_existing_debtor or plan.payload_hash == sent_hash or plan.update is None:
            return Customer(number, how)
        try:
            self.books.update_debtor(number, plan.update, truncate=self.settings.truncate_long_fields)
        except NeedsAttention:
            if self.books.get_debtor(number) is not None:
                raise
            # The debtor is gone from AccountView (deleted, or merged by the accountant): an update holds only
            # what the map does not mark only_create, so the debtor is created in full, as for a new customer.
            self.links.forget(DEBTOR, email_key(plan.email))
            return self._create(plan, claimer, None)
        self.links.remember_sent(DEBTOR, email_key(plan.email), plan.payload_hash)
        return Customer(number, "updated")

    def _create(self, plan: DebtorPlan, claimer: str, claim: str | None) -> Customer:
        assert plan.debtor is not None
        mine = f"{_CLAIM}{claimer}"
        if claim is None:
            claim = self.links.write(DEBTOR, email_key(plan.email), mine).target_key
        if claim != mine:
            if not claim.startswith(_CLAIM):
                return Customer(claim, "linked")
            raise RetryableError(
                reason("Another order of this customer is creating the debtor right now; this order follows when "
                       "it is done."),
                field="debtor.email",
            )
        try:
            created = self.books.create_debtor(plan.debtor, truncate=self.settings.truncate_long_fields)
        except Exception:
            # Release the claim: the next try looks the e-mail up first (a lost answer is found then).
            self.links.forget(DEBTOR, email_key(plan.email))
            raise
        # The debtor exists in AccountView before the claim is replaced: whoever looks in between finds it.
        self.links.forget(DEBTOR, email_key(plan.email))
        self.links.write(DEBTOR, email_key(plan.email), created.number, plan.payload_hash)
        return Customer(created.number, "created")

    def _delivery_code(self, number: str, address: DeliveryAddressIn) -> str:
        key = f"{number}:{_hash(address.model_dump(mode='json'))}"
        link = self.links.find(DELIVERY_ADDRESS, key)
        if link is not None:
            return link.target_key
        with self._lock(key):
            made = self.books.add_delivery_address(number, address, truncate=self.settings.truncate_long_fields)
            return self.links.write(DELIVERY_ADDRESS, key, made.code).target_key

    @contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks[key]
        with lock:
            yield
