"""What the two systems of an integration actually hold, read for the wizard's choices: the shop's order
statuses, payment methods and VAT rates; AccountView's VAT codes, payment methods and terms, articles,
revenue accounts, journals and debtors. Reads only (the web never writes to a remote system), each read
once per page, and a failed read becomes a message on the page instead of an error."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cached_property
from itertools import islice
from typing import Any, TypeVar

from django.utils.translation import gettext_lazy as _

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.core.integrations.models import Connection, Integration
from koppel.errors import KoppelError
from koppel.sync.clients import books_client, shop_client

T = TypeVar("T")
Choices = list[tuple[str, str]]
RECENT_ORDERS = 100  # the shop's payment methods and rates are read from this many recent orders
MAX_ARTICLES = 2000  # an article list longer than this is typed with suggestions, checked on save


def open_shop(connection: Connection) -> MijnWebwinkelClient:
    return shop_client(connection.settings, connection.credentials)


def open_books(connection: Connection) -> AccountViewClient:
    return books_client(connection.pk, connection.settings, connection.credentials)


class Holdings:
    """The choices an integration's settings pick from, read lazily from both systems. `problems` collects
    what could not be read, to show on the page."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.problems: list[str] = []

    @cached_property
    def shop(self) -> MijnWebwinkelClient:
        return open_shop(self.integration.shop)

    @cached_property
    def books(self) -> AccountViewClient:
        return open_books(self.integration.books)

    def close(self) -> None:
        for name in ("shop", "books"):
            if name in self.__dict__:
                self.__dict__[name].close()

    def _read(self, what: Any, read: Callable[[], T], empty: T) -> T:
        try:
            return read()
        except (KoppelError, ValueError) as error:
            self.problems.append(f"{what}: {error}")
            return empty

    # --- the shop -------------------------------------------------------------------------------------

    @cached_property
    def order_statuses(self) -> Choices:
        return self._read(_("the shop's order statuses"), lambda: [
            (str(s.status), s.description or str(s.status)) for s in self.shop.order_statuses()], [])

    @cached_property
    def paid_statuses(self) -> list[str]:
        """The statuses a shop calls paid (MijnWebwinkel's own names in Dutch, English or German): the
        orders a merchant wants in the books. Credit statuses are not among them."""
        credit: set[str] = self._read(_("the shop's order statuses"), lambda: {
            str(s.status) for s in self.shop.order_statuses() if s.credit_order}, set())
        return [value for value, label in self.order_statuses
                if value not in credit and any(word in label.lower() for word in ("betaald", "paid", "bezahlt"))]

    @cached_property
    def _recent_orders(self) -> list[Any]:
        return self._read(_("the shop's recent orders"),
                          lambda: list(islice(self.shop.iter_orders(), RECENT_ORDERS)), [])

    @cached_property
    def payment_method_names(self) -> list[str]:
        """The payment methods the shop's recent orders name (MijnWebwinkel has no list of them)."""
        return sorted({o.payment_method for o in self._recent_orders if o.payment_method})

    @cached_property
    def vat_keys(self) -> list[str]:
        """The VAT keys the shop's orders will ask for: each rate it charges, each other country's rate
        (EU one-stop shop: 'BE:21'), and the two tax cases."""
        regions: list[Any] = self._read(_("the shop's tax regions"), lambda: list(self.shop.tax_regions()), [])
        rates: set[str] = {"0"}
        by_country: set[str] = set()
        for index, region in enumerate(regions):
            found = {region.tax_rate, region.shipping_tax_rate, region.transaction_tax_rate,
                     *(o.tax_rate for o in getattr(region, "overrides", []) or [])}
            for fraction in filter(None, found):
                rate = _percent(fraction)
                rates.add(rate)
                if index and len(region.region_code) == 2:  # the first region is the shop's own country
                    by_country.add(f"{region.region_code.upper()}:{rate}")
        ordered = sorted(rates, key=Decimal, reverse=True) + sorted(by_country)
        return [*ordered, "reverse_charge", "export"]

    @cached_property
    def shop_category_choices(self) -> Choices:
        return self._read(_("the shop's categories"), lambda: [
            (str(c.id), f"{c.id} · {c.title}") for c in islice(self.shop.iter_categories(), MAX_ARTICLES)], [])

    # --- AccountView ----------------------------------------------------------------------------------

    @cached_property
    def vat_codes(self) -> list[Any]:
        return self._read(_("AccountView's VAT codes"), self.books.vat_codes, [])

    def vat_code_choices(self) -> Choices:
        return [(v.code, f"{v.code} · {v.description} ({v.percentage.normalize()}%)") for v in self.vat_codes]

    def vat_code_for(self, key: str) -> str:
        """The AccountView VAT code that fits a VAT key: same percentage, reverse charge for 'reverse_charge'."""
        reverse = key == "reverse_charge"
        rate = Decimal(0) if key in ("reverse_charge", "export") else Decimal(key.split(":")[-1])
        for code in self.vat_codes:
            if code.percentage == rate and bool(code.reverse_charge) == reverse:
                return str(code.code)
        return ""

    @cached_property
    def payment_method_choices(self) -> Choices:
        return self._read(_("AccountView's payment methods"), lambda: [
            (m.code, f"{m.code} · {m.description}") for m in self.books.payment_methods()], [])

    @cached_property
    def payment_term_choices(self) -> Choices:
        return self._read(_("AccountView's payment terms"), lambda: [
            (c.code, f"{c.code} · {c.description}") for c in self.books.payment_conditions()], [])

    @cached_property
    def article_choices(self) -> Choices:
        return self._read(_("AccountView's articles"), lambda: [
            (a.code, f"{a.code} · {a.description}") for a in islice(self.books.iter_articles(), MAX_ARTICLES)], [])

    def missing_articles(self, codes: list[str]) -> list[str]:
        """Which of these article codes AccountView does not hold (asked, not taken from a list)."""
        wanted = [c for c in codes if c]
        if not wanted:
            return []
        found = self._read(_("AccountView's articles"), lambda: self.books.get_articles(wanted), None)
        if found is None:
            return []  # could not ask: the problem is shown, the run parks what is missing
        known = {code.upper() for code in found}
        return [code for code in wanted if code.upper() not in known]

    def missing_debtor(self, number: str) -> bool:
        found = self._read(_("AccountView's debtors"), lambda: self.books.get_debtor(number) is not None, True)
        return not found

    @cached_property
    def ledger_account_choices(self) -> Choices:
        return self._read(_("AccountView's ledger accounts"), lambda: [
            (a.number, f"{a.number} · {a.name}") for a in self.books.ledger_accounts()], [])

    @cached_property
    def journal_choices(self) -> Choices:
        return self._read(_("AccountView's journals"), lambda: [
            (j.code, f"{j.code} · {j.name}") for j in self.books.journals()], [])

    @cached_property
    def article_group_choices(self) -> Choices:
        return self._read(_("AccountView's article groups"), lambda: [
            (g.code, f"{g.code} · {g.description}") for g in self.books.article_groups()], [])


def _percent(fraction: Decimal) -> str:
    """0.21 → '21', 0.055 → '5.5' (MijnWebwinkel's tax regions hold fractions)."""
    return format((Decimal(fraction) * 100).normalize(), "f")
