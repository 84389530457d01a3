""""Test connection": a few reads that prove a connection's credentials work, what they reached (the
shop, the AccountView company), and, when they don't, a message that says which value is wrong and what
to do. Reads only: the web never writes to a remote system.

The order of the reads is what makes the message precise. MijnWebwinkel: the order statuses need the
partner token alone, so a refusal there is the partner token; the store needs both, so a refusal after
that is the API key. AccountView: the company list needs only the grant, so a refusal there is the grant
(revoked or expired); then one row of each business object the flows use, so a refusal there is the
user's rights on that business object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Company
from koppel.core.integrations.models import Connection
from koppel.errors import BrokenConnection, KoppelError, RetryableError
from koppel.reasons_shown import said
from koppel.sync.clients import books_client, shop_client


@dataclass
class CheckResult:
    ok: bool
    message: str
    reached: str = ""
    companies: list[Company] = field(default_factory=list)


def check_connection(connection: Connection) -> CheckResult:
    """Try the connection; never raises for anything the remote system or the credentials do."""
    try:
        if connection.system == Connection.System.MIJNWEBWINKEL:
            return _check_shop(connection)
        return _check_books(connection)
    except KeyError as exc:
        return CheckResult(False, _("The connection has no %(value)s yet: fill it in and save.") % {
            "value": exc.args[0]})


def _check_shop(connection: Connection) -> CheckResult:
    with shop_client(connection.settings, connection.credentials) as client:
        try:
            client.order_statuses()
        except BrokenConnection as exc:
            return CheckResult(False, _("MijnWebwinkel refused the partner token (%(status)s). Check the partner "
                                        "token with your Koppel provider.") % {"status": exc.status or "?"})
        except RetryableError as exc:
            return _unreachable("MijnWebwinkel", exc)
        try:
            store = client.check_connection()
        except BrokenConnection as exc:
            return CheckResult(False, _("MijnWebwinkel refused the API key (%(status)s): the partner token works, "
                                        "so the shop's API key is wrong or was withdrawn. Copy it again from "
                                        "your shop's back office.") % {"status": exc.status or "?"})
        except KoppelError as exc:
            return _unreachable("MijnWebwinkel", exc)
    name = getattr(store, "name", "") or ""
    return CheckResult(True, _("Connected to the shop %(shop)s.") % {"shop": name}, reached=name)


# What the flows read and write in AccountView, by the profile setting naming its business object.
BOOKS_OBJECTS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("debtor_bo", lambda: _("debtors")),
    ("article_bo", lambda: _("articles")),
    ("article_group_bo", lambda: _("article groups")),
    ("sales_order_bo", lambda: _("sales orders")),
    ("vat_bo", lambda: pgettext("business object", "VAT codes")),  # a word in a sentence, not a label
    ("journal_bo", lambda: _("journals")),
)


def _check_books(connection: Connection) -> CheckResult:
    if not connection.credentials.get("tokens"):
        return CheckResult(False, _("AccountView is not connected yet: click Connect and allow Koppel access."))
    with books_client(connection.pk, connection.settings, connection.credentials) as client:
        try:
            companies = client.companies()
        except BrokenConnection:
            return CheckResult(False, _("AccountView no longer accepts Koppel's access: the grant was revoked "
                                        "or has expired. Click Reconnect and allow access again."))
        except KoppelError as exc:
            return _unreachable("AccountView", exc)
        company = _company(client, companies, str(connection.settings.get("company_id", "")))
        if company is None:
            names = ", ".join(f"{c.code} ({c.description})" for c in companies) or _("none")
            return CheckResult(False, _("The company %(company)s is not among the companies this grant reaches: "
                                        "%(names)s. Correct the company, or reconnect as a user who has it.")
                               % {"company": connection.settings.get("company_id", ""), "names": names},
                               companies=companies)
        for setting, label in BOOKS_OBJECTS:
            code = getattr(client.profile, setting)
            try:
                next(iter(client.read(code, page_size=1)), None)
            except BrokenConnection:
                return CheckResult(False, _("AccountView refuses to show %(what)s (%(code)s) in %(company)s: give "
                                            "the AccountView user rights on %(what)s, or link the Koppel app to "
                                            "a user who has them.")
                                   % {"what": label(), "code": code, "company": company.description},
                                   companies=companies)
            except RetryableError as exc:
                return _unreachable("AccountView", exc, companies)
            except KoppelError as exc:
                return CheckResult(False, _("AccountView answered a read of %(what)s (%(code)s) with an error: "
                                            "%(error)s") % {"what": label(), "code": code, "error": said(exc)},
                                   companies=companies)
    reached = f"{company.code} — {company.description}"
    return CheckResult(True, _("Connected to the AccountView company %(company)s.") % {"company": reached},
                       reached=reached, companies=companies)


def _company(client: AccountViewClient, companies: list[Company], wanted: str) -> Company | None:
    client.company_id = next((c.id for c in companies if wanted.lower() in (c.id.lower(), c.code.lower())), None)
    return next((c for c in companies if c.id == client.company_id), None) if wanted else None


def _unreachable(system: str, exc: KoppelError, companies: list[Any] | None = None) -> CheckResult:
    if exc.status == 503 and system == "AccountView":
        message = _("AccountView's link to your administration is offline: the AccountView server or its "
                    "relay at your office is not running. Start it, then test again.")
    else:
        message = _("%(system)s could not be reached: %(error)s. Try again in a minute; if it lasts, check "
                    "the address.") % {"system": system, "error": said(exc)}
    return CheckResult(False, message, companies=companies or [])
