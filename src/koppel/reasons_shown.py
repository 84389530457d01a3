"""A stored reason shown in a language: its template translated, its values filled in after.

The dashboard (the `reason` filter, the settings pages, the connection checks) and the alerts (their e-mails
and webhooks, in the workspace's language) both show reasons this way, so it sits beside koppel.reasons
rather than in either. The translations are Django's catalog: koppel/web/reasons/locale (msgid = the English
template), found through that installed app in every process (web, worker, CLI).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import translation
from django.utils.translation import gettext

from koppel.reasons import Reason, from_args, reason_in


def translated(text: str, args: Mapping[str, Any] | None = None) -> str:
    """`text` (the English reason as stored) in the active language, from its stored form `args`.

    The stored text is shown as it is when there is no form, when the form does not make that same
    text again (the text was changed since, e.g. an address erased from it), or when a translation
    does not fit its values.
    """
    rebuilt = text if isinstance(text, Reason) and args is None else from_args(text, args)
    if not isinstance(rebuilt, Reason) or str(rebuilt) != str(text):
        return str(text)
    return _in_language(rebuilt)


def outline(template: str, blank: str = "…") -> str:
    """A reason's template in the active language with each of its fields shown as `blank`: what the reasons
    made with it have in common (e.g. "Order … is a credit order …"), to head a group of them."""
    try:
        return gettext(template).format_map(_Blank(blank))
    except (KeyError, ValueError, IndexError):
        return template.format_map(_Blank(blank))


class _Blank(dict[str, str]):
    def __init__(self, blank: str) -> None:
        super().__init__()
        self.blank = blank

    def __missing__(self, key: str) -> str:
        return self.blank


def said(error: BaseException) -> str:
    """What an error says (a connector's, a flow's), in the active language when it was made with a reason."""
    return translated(reason_in(error))


def _in_language(reason: Reason) -> str:
    values = {name: _in_language(value) if isinstance(value, Reason) else value
              for name, value in reason.params.items()}
    try:
        return gettext(reason.template).format_map(values)
    except (KeyError, ValueError, IndexError):  # a translation naming a field the template has not
        return reason.template.format_map(values)


def in_language(language: str, text: str, args: Mapping[str, Any] | None = None) -> str:
    """`translated`, in `language` rather than the active one (an alert in its workspace's language)."""
    with translation.override(language):
        return translated(text, args)
