"""A connection's pages: add one, change its credentials, connect AccountView through its consent page
(OAuth authorization code: Connect → AccountView → our callback), and "Test connection".

The OAuth grant itself is koppel.sync.grants; this module only checks who may start or finish it. The
callback carries no workspace in its URL, so the connection the state names is fetched through the
user's workspaces like any other id, and the state is bound to the browser session that started it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection
from koppel.reasons_shown import said
from koppel.sync.grants import GrantError, finish_grant, grant_connection, start_grant
from koppel.web.dashboard.checks import check_connection
from koppel.web.dashboard.forms import FORMS
from koppel.web.tenancy import Role, get_scoped, workspace_view

COMPANIES = "koppel.accountview.companies"  # session key: what the last grant reached, per connection
RETURN_TO = "koppel.accountview.return_to"  # session key: the page each connection's connect started from
# The settings a connection's page shows (the AccountView profile has its own page in the operators' admin).
SETTING_LABELS = {"base_url": gettext_lazy("Address"), "company_id": gettext_lazy("Company"),
                  "api_version": gettext_lazy("API version"), "language": gettext_lazy("Content language"),
                  "rate_per_second": gettext_lazy("Calls per second at most")}


def _connection(request: HttpRequest, workspace: Workspace, connection_id: int,
                role: Role = Role.READ_ONLY) -> Connection:
    return get_scoped(Connection.objects.filter(workspace=workspace), request.user, pk=connection_id, role=role)


@workspace_view()
def detail(request: HttpRequest, workspace: Workspace, connection_id: int) -> HttpResponse:
    connection = _connection(request, workspace, connection_id)
    companies = request.session.get(COMPANIES, {}).get(str(connection.pk), [])
    return render(request, "dashboard/connection.html", {
        "workspace": workspace, "connection": connection, "companies": companies,
        "connected": bool(connection.credentials.get("tokens")),
        "can_change": request.membership.allows(Role.MEMBER),  # type: ignore[attr-defined]
        "redirect_uri": _redirect_uri(request),
        "settings": [(SETTING_LABELS.get(key, key), value) for key, value in sorted(connection.settings.items())
                     if key in SETTING_LABELS],
    })


@workspace_view(Role.MEMBER)
def create(request: HttpRequest, workspace: Workspace, system: str) -> HttpResponse:
    form_class = FORMS[system]
    form = form_class(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        connection = form.save()
        messages.success(request, _("The connection %(name)s is saved.") % {"name": connection.name})
        return redirect("dashboard:connection", workspace.pk, connection.pk)
    return render(request, "dashboard/connection_form.html", {
        "workspace": workspace, "form": form, "system": Connection.System(system).label,
        "redirect_uri": _redirect_uri(request) if system == Connection.System.ACCOUNTVIEW else ""})


@workspace_view(Role.MEMBER)
def edit(request: HttpRequest, workspace: Workspace, connection_id: int) -> HttpResponse:
    connection = _connection(request, workspace, connection_id, Role.MEMBER)
    form = FORMS[connection.system](request.POST or None, workspace=workspace, connection=connection)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The connection %(name)s is saved.") % {"name": connection.name})
        return redirect("dashboard:connection", workspace.pk, connection.pk)
    return render(request, "dashboard/connection_form.html", {
        "workspace": workspace, "form": form, "connection": connection, "system": connection.get_system_display(),
        "redirect_uri": _redirect_uri(request) if connection.system == Connection.System.ACCOUNTVIEW else ""})


@require_POST
@workspace_view(Role.MEMBER)
def connect(request: HttpRequest, workspace: Workspace, connection_id: int) -> HttpResponse:
    """Connect or Reconnect: off to AccountView's consent page, with a state bound to this session."""
    connection = _connection(request, workspace, connection_id, Role.MEMBER)
    if connection.system != Connection.System.ACCOUNTVIEW:
        raise Http404
    return start_connect(request, connection, reverse("dashboard:connection", args=[workspace.pk, connection.pk]))


def start_connect(request: HttpRequest, connection: Connection, return_to: str) -> HttpResponse:
    """Send the browser to AccountView's consent page for `connection` (the caller checked the user may
    change it). Every connect comes back through the one callback below, since AccountView's portal takes
    one Redirect URI per application; the callback then returns the browser to `return_to` (a path)."""
    try:
        started = start_grant(connection.pk, _redirect_uri(request), bound_to=_session_key(request))
    except GrantError as exc:
        messages.error(request, said(exc))
        return HttpResponseRedirect(return_to)
    back = request.session.get(RETURN_TO, {})
    back[str(connection.pk)] = return_to
    request.session[RETURN_TO] = back
    return HttpResponseRedirect(started.url)


@login_required
def accountview_callback(request: HttpRequest) -> HttpResponse:
    """Where AccountView sends the browser back: the state names the connection, which must be one the
    user may change; the grant is finished and the companies it reaches are shown on the connection."""
    state = request.GET.get("state", "")
    try:
        connection_id = grant_connection(state)
    except GrantError as exc:
        messages.error(request, said(exc))
        return redirect("dashboard:home")
    connection: Connection = get_scoped(Connection, request.user, pk=connection_id, role=Role.MEMBER)
    try:
        result = finish_grant(state, code=request.GET.get("code"), error=request.GET.get("error"),
                              bound_to=_session_key(request))
    except GrantError as exc:
        messages.error(request, said(exc))
    else:
        reached = request.session.get(COMPANIES, {})
        reached[str(connection.pk)] = [{"code": c.code, "description": c.description,
                                        "chosen": result.company is not None and c.id == result.company.id}
                                       for c in result.companies]
        request.session[COMPANIES] = reached
        if result.company is None:
            messages.warning(request, _("AccountView is connected, but the company %(company)s is not among the "
                                        "companies it reaches: change the company to one of those listed.")
                             % {"company": connection.settings.get("company_id", "")})
        else:
            _store_company_id(connection, result.company.id)
            messages.success(request, _("AccountView is connected to %(company)s.")
                             % {"company": f"{result.company.code} — {result.company.description}"})
    back = request.session.get(RETURN_TO, {})
    return_to = back.pop(str(connection.pk), "")
    request.session[RETURN_TO] = back
    if not url_has_allowed_host_and_scheme(return_to, allowed_hosts=None):
        return_to = reverse("dashboard:connection", args=[connection.workspace_id, connection.pk])
    return HttpResponseRedirect(return_to)


def _store_company_id(connection: Connection, company_id: str) -> None:
    """The form offers the company's code, as AccountView shows it, but AccountView's API names a company
    by its id: once the grant has found the company, its id is what the connection keeps. Only the
    settings are written: the grant has just stored fresh tokens on the same row."""
    if connection.settings.get("company_id") != company_id:
        Connection.objects.filter(pk=connection.pk).update(settings={**connection.settings, "company_id": company_id})


@require_POST
@workspace_view(Role.MEMBER)
def test(request: HttpRequest, workspace: Workspace, connection_id: int) -> HttpResponse:
    """Test connection: a fragment for HTMX, the connection page with a message otherwise."""
    connection = _connection(request, workspace, connection_id, Role.MEMBER)
    result = check_connection(connection)
    if result.ok and connection.broken_reason:
        Connection.objects.filter(pk=connection.pk).update(broken_reason="")
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "dashboard/connection_test.html", {"result": result})
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("dashboard:connection", workspace.pk, connection.pk)


def _redirect_uri(request: HttpRequest) -> str:
    """Our callback's address as the browser reaches us (https behind a TLS proxy): AccountView's app must
    list exactly this Redirect URI."""
    return request.build_absolute_uri(reverse("dashboard:accountview_callback"))


def _session_key(request: HttpRequest) -> str:
    if request.session.session_key is None:
        request.session.save()
    return request.session.session_key or ""
