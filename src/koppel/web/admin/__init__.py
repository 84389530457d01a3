"""The Django admin, for platform operators (superusers) only: the model lives in `koppel.core`,
its admin pages here, registered when the URLs load. Staff without superuser rights are refused too:
the admin shows every workspace's records, which only an operator may see."""

from django.contrib import admin
from django.http import HttpRequest

from koppel.web.admin import accounts, activity, integrations


def _operators_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


admin.site.has_permission = _operators_only  # type: ignore[method-assign]

__all__ = ["accounts", "activity", "integrations"]
