"""The setup wizard: workspace → shop → books → flows → each flow's questions → dry run → activate.

Until both connections work, the wizard's progress is kept in the session (`Draft`); from then on the
integration exists, paused, and every later step is a page of that integration, the same pages that
change its settings afterwards. Every record is taken through `koppel.web.tenancy`: another workspace's
ids answer 404. Nothing is saved that its settings model refuses, and a step saves all of its answer or
nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from pydantic import BaseModel, ValidationError

from koppel.core.accounts.models import Membership, Workspace
from koppel.core.activity.models import Run
from koppel.core.integrations.models import Connection, Integration, Schedule
from koppel.core.integrations.settings import flow_settings_model
from koppel.errors import KoppelError
from koppel.mapping.expressions import EvaluatorBusy
from koppel.reasons_shown import said
from koppel.sync import dry_run as dry_runs
from koppel.sync import runner
from koppel.web.dashboard.connections import COMPANIES, start_connect
from koppel.web.datamapper.maps import evaluating_for
from koppel.web.records.offers import after_settings_saved
from koppel.web.runs.views import outcome_counts, status_label
from koppel.web.tenancy import Role, get_scoped, workspace_view, workspaces_of
from koppel.web.wizard import texts
from koppel.web.wizard.forms import NEW, BooksForm, ConnectionForm, FlowChoiceForm, ShopForm, StartForm
from koppel.web.wizard.remote import Holdings, open_books, open_shop
from koppel.web.wizard.settings_form import FlowSettingsForm

DRY_RUN_RECORDS = 10  # orders (the newest) and products (the first) a dry run tries
STEPS = ("workspace", "shop", "books", "flows", "questions", "dry_run", "activate")


class Draft:
    """The wizard's progress before the integration exists, in the session: workspace, name, connections."""

    KEY = "koppel.wizard"

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.data: dict[str, Any] = dict(request.session.get(self.KEY) or {})

    def get(self, name: str) -> Any:
        return self.data.get(name)

    def set(self, **values: Any) -> None:
        self.data.update(values)
        self.request.session[self.KEY] = self.data

    def clear(self) -> None:
        self.request.session.pop(self.KEY, None)


def _page(request: HttpRequest, template: str, step: str, **context: Any) -> HttpResponse:
    return render(request, f"wizard/{template}", {"step": step, "steps": STEPS, **context})


# --- 1. workspace and name -----------------------------------------------------------------------------


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """The wizard's first step, and the list of integrations to change the settings of."""
    mine = list(Workspace.objects.filter(memberships__user=request.user,
                                         memberships__role__in=[Role.OWNER, Role.MEMBER]).order_by("name"))
    form = StartForm(mine, request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if form.cleaned_data["workspace"] == NEW:
                workspace = Workspace.objects.create(name=form.cleaned_data["new_workspace"].strip())
                Membership.objects.create(workspace=workspace, user=request.user, role=Role.OWNER)
            else:
                workspace = next(w for w in mine if str(w.pk) == form.cleaned_data["workspace"])
        Draft(request).set(workspace=workspace.pk, name=form.cleaned_data["name"], shop=None, books=None,
                           answered=[])
        return redirect("wizard:shop", workspace_id=workspace.pk)
    integrations = Integration.objects.filter(workspace__in=workspaces_of(request.user)).select_related(
        "workspace").order_by("workspace__name", "name")
    return _page(request, "start.html", "workspace", form=form, integrations=integrations)


def _draft_for(request: HttpRequest, workspace: Workspace) -> Draft:
    draft = Draft(request)
    if draft.get("workspace") != workspace.pk or not draft.get("name"):
        raise Http404  # a step of a wizard this browser did not start here
    return draft


# --- 2. the shop --------------------------------------------------------------------------------------


def _connections(workspace: Workspace, system: str) -> list[Connection]:
    return list(workspace.connections.filter(system=system).order_by("name"))


@workspace_view(Role.MEMBER)
def shop(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    draft = _draft_for(request, workspace)
    form = ShopForm(_connections(workspace, "mijnwebwinkel"), request.POST or None)
    if request.method == "POST" and form.is_valid():
        connection = form.chosen() or _draft_connection(workspace, draft, "shop", form.system)
        problem, reached = _test_shop(connection, form)
        if not problem:
            _save_connection(connection, form)
            draft.set(shop=connection.pk)
            messages.success(request, _("Connected to the shop %(store)s.") % {"store": reached})
            return redirect("wizard:books", workspace_id=workspace.pk)
        form.add_error(None, problem)
    return _page(request, "shop.html", "shop", form=form, workspace=workspace, draft=draft.data)


@workspace_view(Role.MEMBER)
@require_POST
def test_shop(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """HTMX: "Test connection" with what the form holds now; saves nothing."""
    form = ShopForm(_connections(workspace, "mijnwebwinkel"), request.POST)
    if not form.is_valid():
        return render(request, "wizard/_test_result.html", {"problem": _("Correct the fields marked first."),
                                                            "form_errors": form.errors})
    connection = form.chosen() or Connection(workspace=workspace, system=form.system)
    problem, reached = _test_shop(connection, form)
    return render(request, "wizard/_test_result.html", {"problem": problem, "reached": reached})


def _test_shop(connection: Connection, form: ConnectionForm) -> tuple[str, str]:
    """(problem, the store reached): a read that proves the credentials, or why it failed."""
    if form.chosen() is None:
        connection.settings = form.settings_answer
        connection.credentials = form.credentials_answer
    try:
        with open_shop(connection) as client:
            store = client.check_connection()
    except (KoppelError, ValueError) as error:
        return _("The shop did not accept these credentials: %(error)s") % {"error": said(error)}, ""
    return "", store.name or store.primary_domain or str(store.id or "")


def _save_connection(connection: Connection, form: ConnectionForm) -> None:
    if form.chosen() is not None:
        return
    connection.settings = form.settings_answer
    connection.credentials = form.credentials_answer
    connection.full_clean(exclude=["secrets_encrypted"])
    connection.save()


def _draft_connection(workspace: Workspace, draft: Draft, role: str, system: str) -> Connection:
    """The connection this wizard made for `role` before (entered again: changed, not made twice), or a new one."""
    made = workspace.connections.filter(pk=draft.get(role) or 0, system=system).first()
    return made or Connection(workspace=workspace, system=system,
                              name=_free_name(workspace, f"{draft.get('name')}-{role}"))


def _free_name(workspace: Workspace, wanted: str) -> str:
    name, number = wanted[:70], 2
    while workspace.connections.filter(name=name).exists():
        name, number = f"{wanted[:70]}-{number}", number + 1
    return name


# --- 3. the books ---------------------------------------------------------------------------------------


@workspace_view(Role.MEMBER)
def books(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """Enter the AccountView app's credentials and connect (OAuth), or pick a connected connection."""
    draft = _draft_for(request, workspace)
    if not draft.get("shop"):
        return redirect("wizard:shop", workspace_id=workspace.pk)
    form = BooksForm(_connections(workspace, "accountview"), request.POST or None)
    connected = _connected_books(workspace, draft)
    if request.method == "POST" and form.is_valid():
        connection: Connection | None = form.chosen()
        if connection is None:
            connection = _draft_connection(workspace, draft, "books", form.system)
            _save_connection(connection, form)
        draft.set(books=connection.pk)
        if _has_grant(connection) and form.chosen() is not None:
            return redirect("wizard:books", workspace_id=workspace.pk)
        return _start_grant(request, connection)
    return _page(request, "books.html", "books", form=form, workspace=workspace, connected=connected,
                 companies=_companies_reached(request, draft.get("books")))


def _connected_books(workspace: Workspace, draft: Draft) -> Connection | None:
    found = workspace.connections.filter(pk=draft.get("books") or 0, system="accountview").first()
    return found if found is not None and _has_grant(found) else None


def _has_grant(connection: Connection) -> bool:
    credentials = connection.credentials if connection.secrets_encrypted else {}
    return bool(credentials.get("tokens") or credentials.get("refresh_token"))


def _start_grant(request: HttpRequest, connection: Connection) -> HttpResponse:
    """Through the dashboard's one AccountView callback (AccountView's portal takes one Redirect URI per
    application), which brings the browser back to the books step."""
    return start_connect(request, connection, reverse("wizard:books", kwargs={"workspace_id": connection.workspace_id}))


def _companies_reached(request: HttpRequest, connection_id: int | None) -> list[str] | None:
    reached = request.session.get(COMPANIES, {}).get(str(connection_id))
    return None if reached is None else [f"{c['code']} · {c['description']}" for c in reached]


@workspace_view(Role.MEMBER)
@require_POST
def create_integration(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """Both connections work: the integration is made, paused until it is activated."""
    draft = _draft_for(request, workspace)
    made = Integration.objects.filter(pk=draft.get("integration") or 0, workspace=workspace).first()
    if made is not None:  # posted twice
        return redirect("wizard:flows", workspace_id=workspace.pk, integration_id=made.pk)
    shop_row = get_scoped(workspace.connections.filter(system="mijnwebwinkel"), request.user,
                          pk=draft.get("shop") or 0)
    books_row = _connected_books(workspace, draft)
    if books_row is None:
        messages.error(request, _("Connect AccountView first."))
        return redirect("wizard:books", workspace_id=workspace.pk)
    problem = _test_books(books_row)
    if problem:
        messages.error(request, problem)
        return redirect("wizard:books", workspace_id=workspace.pk)
    if Integration.objects.filter(name=draft.get("name")).exists():
        messages.error(request, _("This name is taken: choose another."))
        return redirect("wizard:start")
    integration = Integration.objects.create(workspace=workspace, name=draft.get("name"), shop=shop_row,
                                             books=books_row, enabled=False)
    draft.set(integration=integration.pk)
    return redirect("wizard:flows", workspace_id=workspace.pk, integration_id=integration.pk)


def _test_books(connection: Connection) -> str:
    try:
        with open_books(connection) as client:
            client.vat_codes()
    except KoppelError as error:
        return _("AccountView could not be read: %(error)s") % {"error": said(error)}
    return ""


# --- 4. flows and their questions -------------------------------------------------------------------------


def _integration(request: HttpRequest, workspace: Workspace, integration_id: int) -> Integration:
    role = Role.READ_ONLY if request.method in ("GET", "HEAD") else Role.MEMBER
    return get_scoped(Integration.objects.filter(workspace=workspace).select_related("shop", "books"),
                      request.user, role=role, pk=integration_id)


def _stored(integration: Integration) -> dict[str, Any]:
    return dict(flow_settings_model().model_validate(integration.flows or {}).model_dump(mode="json"))


def _available(flow: str) -> bool:
    try:
        runner.find(flow)
    except LookupError:
        return False
    return True


def _in_wizard(request: HttpRequest, integration: Integration) -> bool:
    return Draft(request).get("integration") == integration.pk and not integration.enabled


@workspace_view()
def flows(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    integration = _integration(request, workspace, integration_id)
    stored = _stored(integration)
    offered = [(name, *texts.flow_label(name), bool(stored[name].get("enabled")) and _available(name))
               for name in stored if _available(name)]
    form = FlowChoiceForm(offered, request.POST or None)
    if request.method == "POST" and form.is_valid():
        answer = {name: {**stored[name], "enabled": bool(form.cleaned_data.get(name))} for name in stored}
        if not any(answer[name]["enabled"] for name, *_rest in offered):
            form.add_error(None, _("Switch on at least one flow."))
        elif _save_flows(request, integration, answer, form=None):
            return redirect(_next_flow_page(request, integration, after=None))
    unavailable = [texts.flow_label(name)[0] for name in stored if not _available(name)]
    return _page(request, "flows.html", "flows", form=form, workspace=workspace, integration=integration,
                 unavailable=unavailable, in_wizard=_in_wizard(request, integration))


@workspace_view()
def flow_settings(request: HttpRequest, workspace: Workspace, integration_id: int, flow: str) -> HttpResponse:
    """A flow's questions: in the wizard, and as the flow's settings page afterwards."""
    integration = _integration(request, workspace, integration_id)
    found = flow_settings_model().model_fields.get(flow)
    model = found.annotation if found is not None else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise Http404
    draft = Draft(request)
    first_time = _in_wizard(request, integration) and flow not in (draft.get("answered") or [])
    holdings = Holdings(integration)
    try:
        form = FlowSettingsForm(flow, model, _stored(integration)[flow], holdings,
                                first_time=first_time, data=request.POST or None)
        if request.method == "POST" and form.is_valid():
            stored = _stored(integration)
            if _save_flows(request, integration, {**stored, flow: form.settings()}, form=form):
                if _in_wizard(request, integration):
                    draft.set(answered=[*(draft.get("answered") or []), flow])
                    return redirect(_next_flow_page(request, integration, after=flow))
                messages.success(request, _("Saved."))
                return redirect(request.path)
        return _page(request, "flow_settings.html", "questions", form=form, workspace=workspace,
                     integration=integration, flow=flow, flow_label=texts.flow_label(flow)[0],
                     problems=holdings.problems, in_wizard=_in_wizard(request, integration),
                     essential=[i for i in form.items() if i["question"].essential],
                     more=[i for i in form.items() if not i["question"].essential])
    finally:
        holdings.close()


def _save_flows(request: HttpRequest, integration: Integration, answer: dict[str, Any],
                form: FlowSettingsForm | None) -> bool:
    """Check the integration's flow settings with the one settings model and save them with their schedules,
    all or nothing (as `koppel integration apply` does); False with the model's complaints on the form."""
    try:  # a custom stock formula is tried while validating: in the dashboard's evaluators, never the flows'
        with evaluating_for(integration.workspace_id):
            complete = flow_settings_model().model_validate(answer).model_dump(mode="json")
    except ValidationError as error:
        if form is not None:
            form.refuse(error)
        else:
            messages.error(request, "; ".join(str(p["msg"]) for p in error.errors()))
        return False
    except EvaluatorBusy as busy:  # nothing saved; the same words as the datamapper's
        message = (_("Busy: an expression of yours is still being evaluated. Try again in a moment.") if busy.yours
                   else _("Busy: every expression evaluator is in use. Try again in a moment."))
        if form is not None:
            form.add_error(None, message)
        else:
            messages.error(request, message)
        return False
    before = _stored(integration)
    with transaction.atomic():
        integration.flows = complete
        integration.save(update_fields=["flows", "updated_at"])
        for flow, settings in complete.items():
            schedule = Schedule.objects.filter(integration=integration, flow=flow).first() or Schedule(
                integration=integration, flow=flow)
            schedule.interval_seconds = settings["interval_seconds"]
            schedule.enabled = settings["enabled"]
            schedule.save()
    after_settings_saved(request, integration, before, complete)  # records the change may have freed
    return True


def _next_flow_page(request: HttpRequest, integration: Integration, *, after: str | None) -> str:
    """The next switched-on flow's questions, then the dry run (in the wizard); the same page otherwise."""
    if not _in_wizard(request, integration):
        return reverse("wizard:flows", args=[integration.workspace_id, integration.pk])
    names = [name for name, settings in _stored(integration).items() if settings.get("enabled")]
    later = names[names.index(after) + 1:] if after in names else names
    if later:
        return reverse("wizard:flow_settings", args=[integration.workspace_id, integration.pk, later[0]])
    return reverse("wizard:dry_run", args=[integration.workspace_id, integration.pk])


# --- 5. dry run, 6. activate -------------------------------------------------------------------------------


@workspace_view()
def dry_run(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    """What the first run would do to the newest orders (and the first products), writing nothing."""
    integration = _integration(request, workspace, integration_id)
    reports = None
    if request.method == "POST":
        reports = [_dry_report(integration, name) for name, settings in _stored(integration).items()
                   if settings.get("enabled") and _available(name)]
        if request.htmx:
            return render(request, "wizard/_dry_run_results.html", {"reports": reports})
    return _page(request, "dry_run.html", "dry_run", workspace=workspace, integration=integration,
                 reports=reports, in_wizard=_in_wizard(request, integration), records=DRY_RUN_RECORDS,
                 tried=_tried(integration))


def _tried(integration: Integration) -> str:
    """What the dry run tries, for its page to say: "orders", "products", or "both"."""
    on = {name for name, settings in _stored(integration).items() if settings.get("enabled") and _available(name)}
    orders, others = "orders" in on, bool(on - {"orders"})
    return "both" if orders and others else "orders" if orders else "products"


def _dry_report(integration: Integration, flow: str) -> dict[str, Any]:
    report = dry_runs.dry_run(integration.pk, flow, limit=DRY_RUN_RECORDS, newest=flow == "orders")
    rows = [{"key": r.key, "outcome": r.outcome, "label": texts.outcome(r.outcome), "reason": r.reason}
            for r in report.results]
    counts = texts.counted(report.counts)
    return {"flow": flow, "label": texts.flow_label(flow)[0], "looked_at": report.looked_at, "rows": rows,
            "counts": counts, "error": report.error}


@workspace_view()
def activate(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    integration = _integration(request, workspace, integration_id)
    if request.method == "POST":
        integration.enabled = True
        integration.paused_reason = ""
        integration.save(update_fields=["enabled", "paused_reason", "updated_at"])
        Draft(request).clear()
        messages.success(request, _("The integration is active: the first run starts within a minute."))
        return redirect("wizard:activate", workspace_id=workspace.pk, integration_id=integration.pk)
    switched_on = [texts.flow_label(name)[0] for name, settings in _stored(integration).items()
                   if settings.get("enabled")]
    return _page(request, "activate.html", "activate", workspace=workspace, integration=integration,
                 switched_on=switched_on)


@workspace_view()
def runs(request: HttpRequest, workspace: Workspace, integration_id: int) -> HttpResponse:
    """(HTMX) the latest runs, the part the activate page polls until one finished; in a browser's address
    bar, the integration's one runs page (Sync now and runs)."""
    integration = _integration(request, workspace, integration_id)
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("runs:integration", workspace.pk, integration.pk)
    latest = list(Run.objects.filter(integration=integration).order_by("-started_at")[:5])
    # "total" is the run's own sum, not an outcome: the outcomes' counts already say it.
    rows = [{"flow": texts.flow_label(r.flow)[0], "status": status_label(r.status), "run": r,
             "started_at": r.started_at, "counts": [(label, number) for _value, label, number in outcome_counts(
                 {k: v for k, v in (r.counts or {}).items() if k != "total"})]} for r in latest]
    finished = any(r.finished_at for r in latest)
    context = {"rows": rows, "finished": finished, "workspace": workspace, "integration": integration}
    return render(request, "wizard/_runs.html", context)
