"""`{% load reasons %}{{ activity|reason }}`: a record's reason in the user's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from koppel.reasons_shown import translated

register = template.Library()


@register.filter(name="reason")
def reason(value: object, args: Mapping[str, Any] | None = None) -> str:
    """The reason of an activity row, a run's record (a dict with `reason` and `reason_args`), or a
    reason itself; "" when there is none. A stored text with its stored form beside it, such as a run's
    error: `{{ run.error|reason:run.error_args }}`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return translated(value, args)
    if isinstance(value, Mapping):
        return translated(value.get("reason") or "", value.get("reason_args"))
    return translated(getattr(value, "reason", "") or "", getattr(value, "reason_args", None))
