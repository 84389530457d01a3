"""What happened to each record of an integration: a searchable list, one record's page (what came in and
what went out, side by side), and the actions on records (retry now, skip and unskip, forget the link
and resync, bulk retry of a filtered selection of parked records), each written down with who did it.
Per workspace, its privacy settings: retention and metadata-only (owners change them), erasing a
customer's data by e-mail (queued for a worker, its state followed on the page), and exporting one record's
activity.

Every action goes through `koppel.sync.record_actions`: the web starts work on the engine, it never
writes to a remote system itself.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from koppel.core.accounts.models import Workspace
from koppel.core.activity.models import Activity, RecordAction, RetryOffer
from koppel.core.integrations.models import Integration
from koppel.errors import Outcome
from koppel.sync import erasure, record_actions, remote_pages, retry_offers, sync_now
from koppel.sync.links import PARKED
from koppel.web.tenancy import Role, get_scoped, workspace_view
from koppel.web.wizard import texts
from koppel.web.wizard.texts import flow_label

log = logging.getLogger(__name__)
PAGE_SIZE = 50
OFFER_SHOWN_DAYS = 7   # a settings change's offer with nothing left to retry stays on the records page this long
PARKED_FILTER = "parked"   # the outcome filter that means any parked outcome
# What a record is, as the merchant reads it (the flows' entities; another shows as stored).
KINDS = {"order": gettext_lazy("order"), "product": gettext_lazy("product"), "variant": gettext_lazy("variant"),
         "category": gettext_lazy("category"), "stock": gettext_lazy("stock"), "debtor": gettext_lazy("debtor")}


# Where a long value may wrap: after these, the way an e-mail address, a dotted field name or a path reads (not
# in a number: "60.50" stays whole).
BREAK_AFTER = re.compile(r"([@_/]|\.(?!\d))")


def kind(entity: str) -> str:
    return str(KINDS.get(entity, entity))


def breakable(text: str) -> SafeString:
    """A value shown in a narrow cell (an e-mail address, a field name like `SalesOrderIn.Lines.1.ART_CODE`): it
    may wrap after @ . _ and /, never inside a word ("jan@exam|ple.nl"); the style breaks a word only when one
    piece alone is wider than its cell."""
    return mark_safe(BREAK_AFTER.sub(r"\1<wbr>", escape(text)))  # noqa: S308  (escaped first; only <wbr> added)


# ---- the list --------------------------------------------------------------------------------------


class Filters(forms.Form):
    q = forms.CharField(required=False, label=gettext_lazy("Search"),
                        help_text=gettext_lazy("order number, SKU, e-mail, or words of the reason"))
    outcome = forms.ChoiceField(required=False, label=gettext_lazy("Outcome"))
    entity = forms.ChoiceField(required=False, label=gettext_lazy("Kind"))
    since = forms.DateField(required=False, label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label=gettext_lazy("Until"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data: Any, entities: list[str]) -> None:
        super().__init__(data)
        outcome: Any = self.fields["outcome"]
        outcome.choices = [("", _("any")), (PARKED_FILTER, _("parked (any reason)"))] + [
            (o.value, texts.outcome(o.value)) for o in Outcome]
        entity: Any = self.fields["entity"]
        entity.choices = [("", _("any"))] + [(e, kind(e)) for e in entities]

    def apply(self, records: QuerySet[Activity]) -> QuerySet[Activity]:
        if not self.is_valid():
            return records.none()
        data = self.cleaned_data
        if text := data["q"].strip():
            records = records.filter(Q(key__icontains=text) | Q(target_key__icontains=text)
                                     | Q(reason__icontains=text) | Q(payload_in__icontains=text))
        if data["outcome"] == PARKED_FILTER:
            records = records.filter(outcome__in=PARKED)
        elif data["outcome"]:
            records = records.filter(outcome=data["outcome"])
        if data["entity"]:
            records = records.filter(entity=data["entity"])
        if data["since"]:
            records = records.filter(updated_at__gte=_moment(data["since"]))
        if data["until"]:
            records = records.filter(updated_at__lt=_moment(data["until"], end=True))
        return records


def _moment(day: date, *, end: bool = False) -> datetime:
    moment = timezone.make_aware(datetime.combine(day, time.min))
    return moment + timezone.timedelta(days=1) if end else moment


def _integration(request: HttpRequest, workspace: Workspace, integration_id: int) -> Integration:
    return get_scoped(Integration.objects.filter(workspace=workspace), request.user, pk=integration_id)


def _filtered(request: HttpRequest, integration: Integration, data: Any) -> tuple[Filters, QuerySet[Activity]]:
    records = Activity.objects.filter(integration=integration)
    entities = sorted(set(records.values_list("entity", flat=True).distinct()))
    filters = Filters(data, entities)
    return filters, filters.apply(records).order_by("-updated_at", "-pk")


def email_of(payload: Any) -> str:
    """The customer's e-mail address where the payload has one (the first field named like e-mail)."""
    if isinstance(payload, dict):
        for name, value in payload.items():
            if "mail" in str(name).lower() and isinstance(value, str) and "@" in value:
                return value
        for value in payload.values():
            if found := email_of(value):
                return found
    elif isinstance(payload, list):
        for value in payload:
            if found := email_of(value):
                return found
    return ""


def _can_act(request: HttpRequest) -> bool:
    return bool(request.membership.allows(Role.MEMBER))  # type: ignore[attr-defined]


@workspace_view(Role.READ_ONLY)
def record_list(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    integration = _integration(request, workspace, integration_id)
    filters, records = _filtered(request, integration, request.GET)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"activity": a, "email": breakable(email_of(a.payload_in)), "outcome": texts.outcome(a.outcome),
             "key": breakable(a.key), "target_key": breakable(a.target_key),
             "kind": kind(a.entity)} for a in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "records/list.html", {
        "workspace": workspace, "integration": integration, "filters": filters, "page": page, "rows": rows,
        "query": query.urlencode(), "parked_count": record_actions.parked(records).count(),
        "can_act": _can_act(request), **_offers_context(integration)})


@workspace_view(Role.MEMBER)
@require_POST
def bulk_retry(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    """Retry the parked records of the filtered selection (the filters come with the form)."""
    integration = _integration(request, workspace, integration_id)
    filters, records = _filtered(request, integration, request.POST)
    chosen = list(record_actions.parked(records).select_related("integration"))
    started = record_actions.retry(chosen, request.user.get_username())
    messages.success(request, _("%(count)d parked records are being sent again.") % {"count": started})
    query = {k: v for k, v in request.POST.items() if k in filters.fields and v}
    url = redirect("records:list", workspace.pk, integration.pk).url + ("?" + _encode(query) if query else "")
    return redirect(url)


def _encode(query: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(query)


# ---- records a settings change freed ---------------------------------------------------------------


def offers_of(integration: Integration) -> list[dict[str, Any]]:
    """The integration's retry offers as its records page shows them: per flow, what the check found. An offer
    whose records were all retried or would all still park is shown for `OFFER_SHOWN_DAYS` after the change."""
    shown = []
    recent = timezone.now() - timezone.timedelta(days=OFFER_SHOWN_DAYS)
    for offer in RetryOffer.objects.filter(integration=integration).order_by("flow"):
        waiting = retry_offers.waiting(offer)
        if not waiting and offer.status == RetryOffer.Status.READY and offer.started_at < recent:
            continue
        reasons: dict[str, list[dict[str, Any]]] = {}
        for entry in offer.still_parked:
            reasons.setdefault(entry["reason"], []).append(entry)
        shown.append({"offer": offer, "waiting": waiting, "flow": flow_label(offer.flow)[0],
                      "checking": offer.status == RetryOffer.Status.CHECKING and not retry_offers.stalled(offer),
                      "stalled": retry_offers.stalled(offer), "reasons": list(reasons.values()),
                      "limited": offer.checked < offer.candidates})
    return shown


@workspace_view(Role.READ_ONLY)
def offers(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    """The offers part of the records page, which polls it (HTMX) while a check runs; opened by itself (a link,
    the address bar) it is the records page, at the offers."""
    integration = _integration(request, workspace, integration_id)
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(reverse("records:list", args=[workspace.pk, integration.pk]) + "#offers")
    return render(request, "records/_offers.html", {
        "workspace": workspace, "integration": integration, "can_act": _can_act(request),
        **_offers_context(integration)})


def _offers_context(integration: Integration) -> dict[str, Any]:
    shown = offers_of(integration)
    return {"offers": shown, "offers_checking": any(o["checking"] for o in shown)}


@workspace_view(Role.MEMBER)
@require_POST
def take_offer(request: HttpRequest, workspace: Workspace, integration_id: int, flow: str) -> HttpResponse:
    """Retry the records the new settings would let through (the rest stay as they are)."""
    integration = _integration(request, workspace, integration_id)
    offer = get_scoped(RetryOffer.objects.filter(integration=integration), request.user, role=Role.MEMBER,
                       flow=flow)
    started = retry_offers.take(offer, request.user.get_username())
    if started:
        messages.success(request, _("%(count)d records are being sent again.") % {"count": started})
    else:
        messages.error(request, _("Nothing to retry: these records were sent or retried already."))
    return redirect("records:list", workspace.pk, integration.pk)


# ---- one record ------------------------------------------------------------------------------------


def _activity(request: HttpRequest, workspace: Workspace, activity_id: int, role: Role = Role.READ_ONLY) -> Activity:
    return get_scoped(Activity.objects.filter(integration__workspace=workspace).select_related(
        "integration__shop", "integration__books", "run"), request.user, role=role, pk=activity_id)


def fields_of(payload: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A payload as (field, value) rows: nested objects as dotted names, lists numbered from 1."""
    if isinstance(payload, dict):
        items: list[tuple[str, Any]] = [(f"{prefix}{name}", value) for name, value in payload.items()]
    elif isinstance(payload, list):
        items = [(f"{prefix}{number}", value) for number, value in enumerate(payload, start=1)]
    else:
        return [(prefix.rstrip(".") or "value", "" if payload is None else str(payload))]
    rows: list[tuple[str, str]] = []
    for name, value in items:
        if isinstance(value, dict | list) and value:
            rows += fields_of(value, f"{name}.")
        else:
            rows.append((name, "—" if value is None or value in ({}, []) else str(value)))
    return rows


def changes_of(activity: Activity) -> dict[str, Any] | None:
    """For a record sent again: what changed from what was sent before it (`Activity.changes`), as rows of
    field, kind, before and after; None when there is nothing to compare (a first send, metadata only)."""
    kept = activity.changes
    if not isinstance(kept, dict) or not isinstance(kept.get("fields"), list):
        return None
    rows = [{"path": breakable(c["path"]), "kind": c["kind"], "old": breakable(_shown(c["old"])),
             "new": breakable(_shown(c["new"]))}
            for c in kept["fields"] if c.get("kind") != "more"]
    more = sum(int(c["new"]) for c in kept["fields"] if c.get("kind") == "more")
    since = parse_datetime(str(kept.get("since") or ""))
    return {"since": since, "rows": rows, "more": more}


def _shown_fields(payload: Any) -> list[tuple[SafeString, SafeString]]:
    return [(breakable(name), breakable(value)) for name, value in fields_of(payload)] if payload is not None else []


def _shown(value: Any) -> str:
    """A value of a difference as text: an object or list as its fields, never as JSON."""
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return "; ".join(f"{name}: {shown}" for name, shown in fields_of(value)) or "—"
    return str(value)


def fix_settings(flow: str, activity: Activity) -> list[dict[str, Any]]:
    """The settings that fix a parked record, or one a setting skipped (a status not sent): each with the flow
    whose settings page asks it (another flow's for "<flow>.<setting>"), its label and its question's id on that
    page (`q-<name>`, which opens "More settings" around it)."""
    if activity.outcome == Outcome.SENT.value:
        return []
    fixes = []
    for named in record_actions.settings_to_fix(flow, activity.reason, activity.reason_args):
        owner, _, name = named.rpartition(".")
        fixes.append({"flow": owner or flow, "name": name, "label": texts.label(owner or flow, name, None)[0],
                      "anchor": f"q-{name}"})
    return fixes


@workspace_view(Role.READ_ONLY)
def record(request: HttpRequest, workspace: Workspace, activity_id: int) -> HttpResponse:
    activity = _activity(request, workspace, activity_id)
    flow = record_actions.flow_of(activity.entity)
    actions = RecordAction.objects.filter(integration_id=activity.integration_id, entity=activity.entity,
                                          key=activity.key).order_by("-at", "-pk")
    return render(request, "records/record.html", {
        "workspace": workspace, "integration": activity.integration, "activity": activity,
        "outcome": texts.outcome(activity.outcome), "kind": kind(activity.entity),
        "came_in": _shown_fields(activity.payload_in), "went_out": _shown_fields(activity.payload_out),
        "changes": changes_of(activity), "email": breakable(email_of(activity.payload_in)),
        "actions": actions, "skipped": record_actions.is_skipped(activity),
        "pages": remote_pages.pages_of(activity.integration, activity.entity, activity.key, activity.target_key),
        "flow": flow, "parked": activity.outcome in PARKED,
        "fix_settings": fix_settings(flow, activity),
        "metadata_only": workspace.metadata_only, "can_act": _can_act(request)})


@workspace_view(Role.READ_ONLY)
def shop_article(request: HttpRequest, workspace: Workspace, activity_id: int) -> HttpResponse:
    """The link to a record's article in the shop's back office, once its address is read from the shop (the
    record's page asks for it with HTMX, so the page itself never waits for the shop)."""
    activity = _activity(request, workspace, activity_id)
    pages = remote_pages.pages_of(activity.integration, activity.entity, activity.key, activity.target_key)
    page = next((p for p in pages if p.article_id is not None), None)
    if page is None:
        return HttpResponse("")
    return render(request, "records/_remote_page.html", {"page": remote_pages.look_up(activity.integration, page)})


def _acted(request: HttpRequest, workspace: Workspace, activity: Activity, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("records:record", workspace.pk, activity.pk)


@workspace_view(Role.MEMBER)
@require_POST
def retry(request: HttpRequest, workspace: Workspace, activity_id: int) -> HttpResponse:
    activity = _activity(request, workspace, activity_id, Role.MEMBER)
    if not record_actions.retry([activity], request.user.get_username()):
        messages.error(request, _("This record can't be sent again: it is skipped, or no flow sends it."))
        return redirect("records:record", workspace.pk, activity.pk)
    return _acted(request, workspace, activity, _("%(key)s is being sent again.") % {"key": activity.key})


@workspace_view(Role.MEMBER)
@require_POST
def skip(request: HttpRequest, workspace: Workspace, activity_id: int) -> HttpResponse:
    activity = _activity(request, workspace, activity_id, Role.MEMBER)
    record_actions.skip(activity, request.user.get_username())
    return _acted(request, workspace, activity, _("%(key)s is skipped: it is never sent until someone unskips it.")
                  % {"key": activity.key})


@workspace_view(Role.MEMBER)
@require_POST
def unskip(request: HttpRequest, workspace: Workspace, activity_id: int) -> HttpResponse:
    activity = _activity(request, workspace, activity_id, Role.MEMBER)
    record_actions.unskip(activity, request.user.get_username())
    return _acted(request, workspace, activity, _("%(key)s is no longer skipped and is being sent.")
                  % {"key": activity.key})


@workspace_view(Role.MEMBER)
@require_POST
def resync(request: HttpRequest, workspace: Workspace, activity_id: int) -> HttpResponse:
    activity = _activity(request, workspace, activity_id, Role.MEMBER)
    record_actions.forget_and_resync(activity, request.user.get_username())
    return _acted(request, workspace, activity, _("The link of %(key)s is forgotten; it is being sent again.")
                  % {"key": activity.key})


@workspace_view(Role.READ_ONLY, change_role=Role.READ_ONLY)
@require_POST
def export(request: HttpRequest, workspace: Workspace, activity_id: int) -> HttpResponse:
    """One record's activity as a JSON download (the merchant's copy); any member may take it, and the
    record's history says who did (a POST: taking a copy is written down)."""
    activity = _activity(request, workspace, activity_id)
    data = record_actions.export_record(activity, request.user.get_username())
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False, default=str),
                            content_type="application/json; charset=utf-8")
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{activity.entity}-{activity.key}")
    response["Content-Disposition"] = f'attachment; filename="koppel-{name}.json"'
    return response


# ---- privacy ---------------------------------------------------------------------------------------


class PrivacyForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Workspace
        fields = ["retention_days", "metadata_only"]
        labels = {"retention_days": gettext_lazy("Keep activity for (days)"),
                  "metadata_only": gettext_lazy("Metadata only")}
        help_texts = {"retention_days": gettext_lazy("Activity and runs older than this are deleted."),
                      "metadata_only": gettext_lazy("Never store what came in or went out: only keys, outcomes "
                                                    "and reasons. Switching it on deletes the data kept so far.")}

    def clean_retention_days(self) -> int:
        days = int(self.cleaned_data["retention_days"])
        if not 1 <= days <= 3650:
            raise forms.ValidationError(_("Between 1 and 3650 days."))
        return days


class EraseForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("The customer's e-mail address"))


@workspace_view(Role.READ_ONLY, change_role=Role.OWNER)
def privacy(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = PrivacyForm(request.POST if request.method == "POST" else None, instance=workspace)
    was_metadata_only = workspace.metadata_only
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The privacy settings are saved."))
        if workspace.metadata_only and not was_metadata_only:
            dropped = record_actions.drop_payloads(workspace)
            messages.success(request, _("The data of %(count)d records kept so far is deleted.") % {"count": dropped})
        return redirect("records:privacy", workspace.pk)
    return _privacy_page(request, workspace, form, EraseForm())


def _privacy_page(request: HttpRequest, workspace: Workspace, form: PrivacyForm, erase_form: EraseForm,
                  requested: dict[str, Any] | None = None) -> HttpResponse:
    is_owner = request.membership.allows(Role.OWNER)  # type: ignore[attr-defined]
    erasures: list[dict[str, Any]] | None = []
    if is_owner:
        try:
            shown = [e for e in erasure.recent(workspace.pk) if not requested or e.erasure != requested["erasure"]]
            erasures = [_erasure_context(workspace, e) for e in shown]
        except Exception:
            log.warning("could not read the erasures of workspace %s", workspace.pk, exc_info=True)
            erasures = None  # the page says the queue can't be read
    return render(request, "records/privacy.html", {
        "workspace": workspace, "form": form, "erase_form": erase_form, "requested": requested,
        "erasures": erasures, "integrations": workspace.integrations.order_by("name"), "is_owner": is_owner})


def _erasure_context(workspace: Workspace, state: erasure.ErasureState) -> dict[str, Any]:
    """What an erasure's fragment shows, and where it polls while the erasure is not finished."""
    context: dict[str, Any] = {"workspace": workspace, "e": state,
                               "follow_url": reverse("records:erasure", args=[workspace.pk, state.erasure])}
    if state.state == "queued":
        context["workers_running"] = sync_now.workers_running()
    return context


@workspace_view(Role.OWNER)
@require_POST
def erase(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """The right to erasure: queued for a worker (on a big store it takes minutes); the page says it was asked
    for, with the address (only in this answer: it is kept nowhere), and follows its state."""
    erase_form = EraseForm(request.POST)
    requested = None
    if erase_form.is_valid():
        email = erase_form.cleaned_data["email"]
        try:
            asked = erasure.request(workspace, email, request.user.get_username())
        except Exception:
            log.exception("an erasure for workspace %s could not be queued", workspace.pk)  # the address is not logged
            messages.error(request, _("The workers' queue can't be reached right now: nothing was erased. "
                                      "Try again in a moment."))
            return _privacy_page(request, workspace, PrivacyForm(instance=workspace), erase_form)
        state = erasure.state_of(workspace.pk, asked.erasure) or erasure.ErasureState(asked.erasure, "unreadable")
        requested = {"email": email, "erasure": asked.erasure, "new": asked.new,
                     "state": _erasure_context(workspace, state)}
        erase_form = EraseForm()
    return _privacy_page(request, workspace, PrivacyForm(instance=workspace), erase_form, requested)


@workspace_view(Role.OWNER)
def erasure_state(request: HttpRequest, workspace: Workspace, erasure_id: str) -> HttpResponse:
    """One erasure's state, which the privacy page polls (HTMX) until it is done or failed; opened by itself,
    the privacy page (which lists the latest erasures)."""
    state = erasure.state_of(workspace.pk, erasure_id)
    if state is None:
        raise Http404
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(reverse("records:privacy", args=[workspace.pk]) + f"#erasure-{state.erasure}")
    return render(request, "records/_erasure.html", _erasure_context(workspace, state))
