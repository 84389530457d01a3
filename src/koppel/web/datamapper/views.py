"""The datamapper pages of one integration: every flow's maps as tables with the overrides marked, the
form that adds, changes or removes an override of one target field, its live preview on a recent record the
map is for, or an example (HTMX, also for read-only members: it changes nothing), and saving, which refuses what
`koppel integration apply` refuses and saves nothing then.

Expressions run in the dashboard's evaluators on the workspace's behalf (maps.evaluating_for): a preview or save
beyond the workspace's share, or when every evaluator is busy, is answered 429 with "busy, try again" at once."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Integration
from koppel.mapping import FieldMap, InvalidOverrides, load_default_map, merge_overrides
from koppel.mapping.expressions import EvaluatorBusy
from koppel.web.datamapper import maps, words
from koppel.web.tenancy import Role, get_scoped, workspace_view
from koppel.web.wizard.texts import flow_label

log = logging.getLogger(__name__)
ORIGINS = ("source", "const", "expr")


def _integration(request: HttpRequest, workspace: Workspace, integration_id: int) -> Integration:
    found: Integration = get_scoped(Integration.objects.filter(workspace=workspace), request.user, pk=integration_id)
    return found


def _busy(exc: EvaluatorBusy) -> str:
    if exc.yours:
        return _("Busy: an expression of yours is still being evaluated. Try again in a moment.")
    return _("Busy: every expression evaluator is in use. Try again in a moment.")


def _map_name(data: QueryDict) -> str:
    name = data.get("map", "")
    if name not in maps.known_maps():
        raise Http404
    return name


@workspace_view()
def index(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    integration = _integration(request, workspace, integration_id)
    flows = [(flow_label(flow)[0], [maps.map_table(integration, name) for name in names])
             for flow, names in maps.FLOW_MAPS.items()]
    return render(request, "datamapper/index.html", {
        "workspace": workspace, "integration": integration, "flows": flows,
        "can_change": request.membership.allows(Role.MEMBER),  # type: ignore[attr-defined]
    })


@dataclass
class Change:
    """The form: one target field of one map, where its value comes from and what is done to it."""

    map_name: str
    target: str = ""
    origin: str = "source"
    value: str = ""
    transforms: str = "[]"
    only_create: bool = False
    keeps_transforms: bool = False  # the request gave no transforms: the default's stay
    errors: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, map_name: str, data: QueryDict) -> Change:
        origin = data.get("origin", "source")
        return cls(map_name, data.get("target", "").strip(), origin if origin in ORIGINS else "source",
                   data.get("value", ""), data.get("transforms", "").strip() or "[]", data.get("only_create") == "on",
                   keeps_transforms="transforms" not in data)

    @classmethod
    def of_field(cls, map_name: str, fieldmap: FieldMap) -> Change:
        origin = next((o for o in ORIGINS if getattr(fieldmap, o) is not None), "const")
        value = getattr(fieldmap, origin)
        return cls(map_name, fieldmap.target, origin,
                   value if isinstance(value, str) else json.dumps(value) if value is not None else "",
                   json.dumps([s.model_dump(exclude_defaults=True) if s.args else s.name for s in fieldmap.transforms]),
                   fieldmap.only_create)

    def overrides(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The map's overrides with this field's change in place (only what differs from the default)."""
        if not self.target:
            self.errors.append(_("Choose the target field."))
        try:
            transforms = json.loads(self.transforms)
        except ValueError:
            transforms = None
        if not isinstance(transforms, list):
            self.errors.append(_("Transforms must be a JSON list, e.g. [\"trim\", {\"name\": \"truncate\", "
                                 "\"args\": {\"length\": 40}}]."))
            transforms = []
        default = load_default_map(self.map_name).field(self.target)
        change: dict[str, Any] = {self.origin: self.value}
        same = default is not None and (
            self.keeps_transforms or transforms == json.loads(Change.of_field(self.map_name, default).transforms))
        if not same:
            change["transforms"] = transforms
        if default is None or self.only_create != default.only_create:
            change["only_create"] = self.only_create
        new = {**stored, "fields": {**(stored.get("fields") or {}), self.target: change}}
        new["remove"] = [t for t in stored.get("remove") or [] if t != self.target]
        return _tidy(new)


def _tidy(overrides: dict[str, Any]) -> dict[str, Any]:
    """No empty keys left behind (so a map whose overrides are all undone has none)."""
    return {key: value for key, value in overrides.items() if value}


def _form_context(request: HttpRequest, workspace: Workspace, integration: Integration, change: Change,
                  ) -> dict[str, Any]:
    default = load_default_map(change.map_name)
    default_field = default.field(change.target)
    samples = maps.samples(integration, change.map_name)
    inputs = next((found for r in samples.records if (found := maps.map_inputs(integration, change.map_name, r))), [])
    return {
        "workspace": workspace, "integration": integration, "change": change, "spec": default,
        "dictionary": [(name, words.target_text(t)) for name, t in sorted(default.targets().items())],
        "default_field": default_field, "default_note": words.said(default_field.note) if default_field else "",
        "description": words.said(default.description), "samples": samples,
        "paths": maps.source_paths(inputs[0]) if inputs else [],
        "can_change": request.membership.allows(Role.MEMBER),  # type: ignore[attr-defined]
    }


@workspace_view()
def edit(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    """GET: the form for `?map=…&target=…` (empty target: a new field). POST: save the change."""
    integration = _integration(request, workspace, integration_id)
    data = request.POST if request.method == "POST" else request.GET
    map_name = _map_name(data)
    if request.method == "POST":
        return _save(request, workspace, integration, Change.read(map_name, data))
    table = maps.map_table(integration, map_name)
    row = next((r for r in table.rows if r.target == data.get("target") and r.fieldmap is not None), None)
    if row is not None and row.fieldmap is not None:
        change = Change.of_field(map_name, row.fieldmap)
    else:
        change = Change(map_name, data.get("target", ""))
    return render(request, "datamapper/edit.html", _form_context(request, workspace, integration, change))


def _save(request: HttpRequest, workspace: Workspace, integration: Integration, change: Change) -> HttpResponse:
    status = 422
    try:
        with transaction.atomic(), maps.evaluating_for(workspace.pk):
            # the row is locked so two people saving at once cannot lose each other's overrides
            locked = Integration.objects.select_for_update().get(pk=integration.pk)
            overrides = change.overrides(maps.overrides_of(locked, change.map_name))
            if not change.errors:
                change.errors += maps.check_change(locked, change.map_name, overrides, change.target)
            if not change.errors:
                everything = _tidy({**(locked.mapping_overrides or {}), change.map_name: overrides})
                Integration.objects.filter(pk=locked.pk).update(mapping_overrides=everything,
                                                                updated_at=timezone.now())
                log.info("mapping override of %s.%s saved for integration %s by %s", change.map_name,
                         change.target, locked.name, request.user)
    except EvaluatorBusy as exc:
        change.errors.append(_busy(exc))
        status = 429
    if change.errors:
        context = _form_context(request, workspace, integration, change)
        return render(request, "datamapper/edit.html", context, status=status)
    messages.success(request, _("The mapping of %(field)s is saved.") % {"field": change.target})
    return redirect(reverse("datamapper:index", args=[workspace.pk, integration.pk]) + f"#{change.map_name}")


@workspace_view()
@require_POST
def undo(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    """`action=reset`: the field is mapped as the default map says again; `action=remove`: the field is
    no longer filled at all."""
    integration = _integration(request, workspace, integration_id)
    map_name = _map_name(request.POST)
    target = request.POST.get("target", "")
    removing = request.POST.get("action") == "remove"
    try:
        with transaction.atomic(), maps.evaluating_for(workspace.pk):
            locked = Integration.objects.select_for_update().get(pk=integration.pk)
            stored = maps.overrides_of(locked, map_name)
            fields = {k: v for k, v in (stored.get("fields") or {}).items() if k != target}
            remove = [t for t in stored.get("remove") or [] if t != target]
            if removing and load_default_map(map_name).field(target) is not None:
                remove.append(target)
            overrides = _tidy({**stored, "fields": fields, "remove": remove})
            problems = maps.check_change(locked, map_name, overrides, target)
            if problems:
                messages.error(request, " ".join(problems))
            else:
                everything = _tidy({**(locked.mapping_overrides or {}), map_name: overrides})
                Integration.objects.filter(pk=locked.pk).update(mapping_overrides=everything,
                                                                updated_at=timezone.now())
                messages.success(request, _("The mapping of %(field)s is saved.") % {"field": target})
    except EvaluatorBusy as exc:  # the page it goes back to shows why nothing changed
        messages.error(request, _busy(exc))
    return redirect(reverse("datamapper:index", args=[workspace.pk, integration.pk]) + f"#{map_name}")


@workspace_view()
def preview(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    """The map with the form's change applied to a recent record the map is for, else to a built-in example (HTMX
    part; GET: it changes nothing)."""
    integration = _integration(request, workspace, integration_id)
    map_name = _map_name(request.GET)
    change = Change.read(map_name, request.GET)
    overrides = change.overrides(maps.overrides_of(integration, map_name)) if change.target else \
        maps.overrides_of(integration, map_name)
    samples = maps.samples(integration, map_name)
    chosen = next((r for r in samples.records if r.key == request.GET.get("record")), samples.records[0])
    results = []
    try:
        merge_overrides(load_default_map(map_name), overrides)
    except InvalidOverrides as exc:
        change.errors += exc.problems
    status = 200
    if not change.errors:
        try:
            with maps.evaluating_for(workspace.pk):
                results = [(source, maps.preview(integration, map_name, overrides, source))
                           for source in maps.map_inputs(integration, map_name, chosen)]
        except EvaluatorBusy as exc:
            change.errors.append(_busy(exc))
            status = 429  # the edit page tells HTMX to show it (htmx-config there)
    return render(request, "datamapper/_preview.html", {
        "change": change, "samples": samples, "results": results,
        "sent_for": words.sent_for(maps.KINDS[map_name].entity, chosen.key, chosen.is_example),
        "worked_out": maps.KINDS[map_name].worked_out,
    }, status=status)
