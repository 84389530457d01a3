"""Every page reaches records only through the workspaces its user is a member of.

The rules, for every view, form, HTMX endpoint and download:
- read records through `scoped(...)` or fetch one with `get_scoped(...)`: a record of a workspace the user
  is not a member of is answered 404, exactly like a record that does not exist (never 403: a stranger must
  not learn that an id exists);
- a member whose role is too low for the action (a read-only user posting, a member managing members) gets
  403: they know the record, they may not change it;
- views under a workspace take `workspace_id` from the URL and use `@workspace_view(role)`, which hands
  them the workspace and puts it and the user's membership on the request.

Which workspace a record belongs to is found by following its foreign keys (an Activity through its
Integration), so a new model is covered without being registered here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from koppel.core.accounts.models import Membership, Role, Workspace

__all__ = ["Role", "ScopedMixin", "get_scoped", "require_role", "scoped", "workspace_of", "workspace_view",
           "workspaces_of"]
M = TypeVar("M", bound=models.Model)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def workspaces_of(user: Any) -> models.QuerySet[Workspace]:
    """The workspaces the user is a member of, in any role (none for an anonymous user)."""
    if not getattr(user, "is_authenticated", False):
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def workspace_path(model: type[models.Model]) -> str:
    """The lookup from a model to its workspace: "" for Workspace itself, "workspace" for a Connection,
    "integration__workspace" for an Activity. The shortest path along foreign keys wins."""
    if model not in _paths:
        _paths[model] = _find_workspace_path(model)
    return _paths[model]


_paths: dict[type[models.Model], str] = {}


def _find_workspace_path(model: type[models.Model]) -> str:
    if model is Workspace:
        return ""
    queue: deque[tuple[type[models.Model], str]] = deque([(model, "")])
    seen = {model}
    while queue:
        current, path = queue.popleft()
        for field in current._meta.get_fields():
            # A nullable key counts too: filtering through it leaves out the rows without a workspace
            # (e.g. the operators' own alert channels), which is what a member must not see anyway.
            if not (field.many_to_one or field.one_to_one) or not field.concrete:
                continue
            target = field.related_model
            step = f"{path}__{field.name}" if path else field.name
            if target is Workspace:
                return step
            if isinstance(target, type) and target not in seen:
                seen.add(target)
                queue.append((target, step))
    raise TypeError(f"{model.__name__} does not belong to a workspace: it cannot be shown in the dashboard")


def scoped(source: type[M] | models.QuerySet[M], user: Any) -> models.QuerySet[M]:
    """Only the records of the workspaces the user is a member of."""
    queryset: models.QuerySet[M] = (
        source._default_manager.all() if isinstance(source, type) else source  # type: ignore[attr-defined]
    )
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    path = workspace_path(cast(type[models.Model], queryset.model))
    prefix = f"{path}__" if path else ""
    return queryset.filter(**{f"{prefix}memberships__user": user})


def workspace_of(record: models.Model) -> Workspace | None:
    """The workspace a record belongs to, following the same path as `scoped` (None: it has none)."""
    current: Any = record
    for name in filter(None, workspace_path(type(record)).split("__")):
        current = getattr(current, name)
    return current


def membership(user: Any, workspace: Workspace) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, workspace=workspace).first()


def require_role(user: Any, workspace: Workspace | None, role: Role) -> Membership:
    """The user's membership if their role allows `role`; 404 for a stranger, 403 for a member whose
    role is too low."""
    found = membership(user, workspace) if workspace is not None else None
    if found is None:
        raise Http404
    if not found.allows(role):
        raise PermissionDenied
    return found


def get_scoped(source: type[M] | models.QuerySet[M], user: Any, *, role: Role = Role.READ_ONLY,
               **lookup: Any) -> M:
    """One record by `lookup`, only if it lies in one of the user's workspaces (404 otherwise, as if it
    did not exist) and the user's role there allows `role` (403 otherwise)."""
    record = get_object_or_404(scoped(source, user), **lookup)
    require_role(user, workspace_of(record), role)
    return record


View = Callable[..., HttpResponse]


def workspace_view(role: Role = Role.READ_ONLY, *, change_role: Role = Role.MEMBER) -> Callable[[View], View]:
    """A view under /w/<workspace_id>/…: signed-in users only; the workspace is looked up among the
    user's own (404 otherwise) and handed to the view as its second argument. Reading needs `role`;
    a request that changes something (not GET/HEAD/OPTIONS) needs at least `change_role` too."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, workspace_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
            workspace = get_object_or_404(workspaces_of(request.user), pk=workspace_id)
            needed = role if request.method in SAFE_METHODS else max(role, change_role, key=lambda r: r.rank)
            found = require_role(request.user, workspace, needed)
            request.workspace = workspace  # type: ignore[attr-defined]
            request.membership = found  # type: ignore[attr-defined]
            return view(request, workspace, *args, **kwargs)

        return wrapper

    return decorate


class ScopedMixin(LoginRequiredMixin):
    """For class-based views over one model: the queryset is the user's workspaces' records only, and
    a request that changes something needs `change_role` in the record's workspace."""

    role: Role = Role.READ_ONLY
    change_role: Role = Role.MEMBER
    request: HttpRequest

    def get_queryset(self) -> models.QuerySet[Any]:
        return scoped(super().get_queryset(), self.request.user)  # type: ignore[misc]

    def get_object(self, queryset: models.QuerySet[Any] | None = None) -> Any:
        record = super().get_object(queryset)  # type: ignore[misc]
        needed = self.role if self.request.method in SAFE_METHODS else self.change_role
        require_role(self.request.user, workspace_of(record), needed)
        return record


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context for the layout: the user's workspaces with their integrations and connections."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {}
    workspaces = workspaces_of(user).prefetch_related("integrations", "connections")
    return {"nav_workspaces": workspaces, "current_workspace": getattr(request, "workspace", None)}
