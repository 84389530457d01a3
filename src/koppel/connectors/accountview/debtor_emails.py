"""Debtors by e-mail address when AccountView's `Equal` tells upper from lower case (profile setting
`equal_case_sensitive`): an address an accountant typed as `Jan.Jansen@Example.nl` must be found for the
shop's `jan.jansen@example.nl`, or the customer would be created twice. No filter can ask that, so this
index holds every debtor's address in lower case: read in full once, then only the debtors changed since
the newest change it has seen (`CNG_DATE`), so a lookup costs one small read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

Row = dict[str, Any]
# Changes committed in the same moment as the newest row read may not have been visible yet: re-read them.
OVERLAP = timedelta(minutes=1)


class DebtorEmailIndex:
    """E-mail (lower case) → debtor number, for every debtor. `read_debtors(since)` yields rows with
    `SUB_NR`, `MAIL_BUS` and `CNG_DATE` of the debtors changed on or after `since` (all when None)."""

    def __init__(self, read_debtors: Callable[[datetime | None], Iterable[Row]]) -> None:
        self._read = read_debtors
        self._lock = threading.Lock()
        self._number_by_email: dict[str, str] = {}
        self._email_by_number: dict[str, str] = {}
        self._newest_change: datetime | None = None

    def numbers(self, emails: Iterable[str]) -> dict[str, str]:
        """The debtor number of each address that a debtor has, compared without regard to case (the
        lowest debtor number when several share one)."""
        with self._lock:
            self._refresh()
            return {e: n for e in emails if (n := self._number_by_email.get(e.strip().lower()))}

    def forget(self, number: str) -> None:
        """Drop a debtor the index still holds but AccountView no longer has under that address (deleted,
        merged, or its number given to another customer): a deletion leaves no changed row to read."""
        with self._lock:
            email = self._email_by_number.pop(number, None)
            if email and self._number_by_email.get(email) == number:
                del self._number_by_email[email]

    def _refresh(self) -> None:
        since = self._newest_change - OVERLAP if self._newest_change else None
        for row in self._read(since):
            number = str(row.get("SUB_NR") or "").strip()
            email = str(row.get("MAIL_BUS") or "").strip().lower()
            old = self._email_by_number.get(number)
            if old and old != email and self._number_by_email.get(old) == number:
                del self._number_by_email[old]
            self._email_by_number[number] = email
            if email:
                current = self._number_by_email.get(email)
                if current is None or _number_order(number) < _number_order(current):
                    self._number_by_email[email] = number
            changed = _when(row.get("CNG_DATE"))
            if changed and (self._newest_change is None or changed > self._newest_change):
                self._newest_change = changed


def _number_order(number: str) -> tuple[int, str]:
    return (len(number), number)  # server-assigned numbers are digits: shorter is lower


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
