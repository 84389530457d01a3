"""`{% load reasons %}{{ activity|reason }}`: a record's reason in the user's language."""

from __future__ import annotations

from collections.abc import Mapping

from django import template

from koppel.web.reasons.translate import translated

register = template.Library()


@register.filter(name="reason")
def reason(value: object) -> str:
    """The reason of an activity row, a run's record (a dict with `reason` and `reason_args`), or a
    reason itself; "" when there is none."""
    if value is None:
        return ""
    if isinstance(value, str):
        return translated(value)
    if isinstance(value, Mapping):
        return translated(value.get("reason") or "", value.get("reason_args"))
    return translated(getattr(value, "reason", "") or "", getattr(value, "reason_args", None))
