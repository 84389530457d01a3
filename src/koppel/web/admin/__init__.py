"""The Django admin, for platform operators (superusers) only: the model lives in `koppel.core`,
its admin pages here, registered when the URLs load."""

from koppel.web.admin import accounts, activity, integrations

__all__ = ["accounts", "activity", "integrations"]
