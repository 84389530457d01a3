"""A stored reason shown in the active language: see koppel.reasons_shown, where the dashboard and the alerts
both read it."""

from koppel.reasons_shown import outline, said, translated

__all__ = ["outline", "said", "translated"]
