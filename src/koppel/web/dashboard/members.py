"""Who may see a workspace, with which role. Owners invite people (a link valid for a week, mailed to them
when a mail server is configured and shown to the owner either way), change roles and remove members; a
workspace always keeps at least one owner. Everyone sees the list."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from koppel.alerts.channels import ChannelError
from koppel.core.accounts.models import ROLE_CHOICES, Invitation, Membership, Workspace
from koppel.web.dashboard.invitation_mail import NoMailServer, mail_invitation
from koppel.web.tenancy import Role, workspace_view


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLE_CHOICES, initial=Role.MEMBER.value)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLE_CHOICES)


@workspace_view()
def members(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    return _members_page(request, workspace, InviteForm())


def _members_page(request: HttpRequest, workspace: Workspace, invite_form: InviteForm) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    is_owner = membership.allows(Role.OWNER)
    return render(request, "dashboard/members.html", {
        "workspace": workspace, "membership": membership, "is_owner": is_owner,
        "memberships": workspace.memberships.select_related("user").order_by("user__username"),
        "invitations": workspace.invitations.filter(accepted_at=None, expires_at__gt=timezone.now())
        .order_by("-created_at") if is_owner else [],
        "invite_form": invite_form, "roles": ROLE_CHOICES,
        "invite_link": request.session.pop("koppel.invite_link", ""),
    })


@require_POST
@workspace_view(Role.OWNER)
def invite(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _members_page(request, workspace, form)
    invitation, token = Invitation.send(workspace, form.cleaned_data["email"], form.cleaned_data["role"],
                                        request.user)
    link = request.build_absolute_uri(reverse("dashboard:accept", args=[token]))
    request.session["koppel.invite_link"] = link
    facts = {"email": invitation.email}
    # The invitation stands whatever the mail does: the link below works either way.
    try:
        mail_invitation(invitation, link, request.user.get_username())
    except NoMailServer:
        messages.warning(request, _("Invitation for %(email)s made, but not mailed: this Koppel installation sends "
                                    "no mail. Pass the link below on to them; it works once, for a week. To have "
                                    "invitations mailed, ask whoever runs Koppel to set up a mail server.") % facts)
        _tell_operators(request, _("For operators: the mail server is set with %(setting)s.")
                        % {"setting": "KOPPEL_SMTP_HOST"})
    except ChannelError as error:
        messages.warning(request, _("Invitation for %(email)s made, but the mail could not be sent: the mail server "
                                    "of this Koppel installation did not take it. Pass the link below on to them; "
                                    "it works once, for a week. If this keeps happening, ask whoever runs Koppel "
                                    "to check the mail server.") % facts)
        _tell_operators(request, _("For operators: sending failed with %(error)s") % {"error": error})
    else:
        messages.success(request, _("Invitation mailed to %(email)s. The link is below too; it works once, for "
                                    "a week.") % facts)
    return redirect("dashboard:members", workspace.pk)


@require_POST
@workspace_view(Role.OWNER)
def change_role(request: HttpRequest, workspace: Workspace, membership_id: int) -> HttpResponse:
    member = get_object_or_404(workspace.memberships, pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
    elif member.role == Role.OWNER and form.cleaned_data["role"] != Role.OWNER and _last_owner(workspace):
        messages.error(request, _("A workspace needs an owner: make someone else owner first."))
    else:
        member.role = form.cleaned_data["role"]
        member.save(update_fields=["role"])
        messages.success(request, _("%(user)s is now %(role)s.") % {
            "user": member.user.get_username(), "role": member.get_role_display()})
    return redirect("dashboard:members", workspace.pk)


@require_POST
@workspace_view(Role.OWNER)
def remove(request: HttpRequest, workspace: Workspace, membership_id: int) -> HttpResponse:
    member = get_object_or_404(workspace.memberships, pk=membership_id)
    if member.role == Role.OWNER and _last_owner(workspace):
        messages.error(request, _("A workspace needs an owner: make someone else owner first."))
    else:
        member.delete()
        messages.success(request, _("%(user)s no longer has access.") % {"user": member.user.get_username()})
    return redirect("dashboard:members", workspace.pk)


@require_POST
@workspace_view(Role.OWNER)
def withdraw(request: HttpRequest, workspace: Workspace, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(workspace.invitations, pk=invitation_id, accepted_at=None)
    invitation.delete()
    messages.success(request, _("The invitation for %(email)s is withdrawn.") % {"email": invitation.email})
    return redirect("dashboard:members", workspace.pk)


def _tell_operators(request: HttpRequest, text: str) -> None:
    """What only the people running Koppel can act on (a setting's name, a mail server's error) is shown to
    staff users alone: a merchant can't change the installation, and its words mean nothing to them."""
    if request.user.is_staff:
        messages.info(request, text)


def _last_owner(workspace: Workspace) -> bool:
    return workspace.memberships.filter(role=Role.OWNER).count() <= 1


class SignUpForm(UserCreationForm):  # type: ignore[type-arg]
    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined,misc]
        model = get_user_model()
        fields = ("username",)


def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: a signed-in user joins; someone without an account makes one (the password
    validators apply) or signs in first. An unknown, used or expired link is 404, whoever asks."""
    invitation = Invitation.objects.filter(token_hash=Invitation.hash(token)).select_related("workspace").first()
    if invitation is None or not invitation.is_open:
        raise Http404
    form = None
    if request.method == "POST":
        if request.user.is_authenticated:
            _join(invitation, request.user)
            messages.success(request, _("Welcome to %(workspace)s.") % {"workspace": invitation.workspace.name})
            return redirect("dashboard:workspace", invitation.workspace_id)
        form = SignUpForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                user = form.save()
                user.email = invitation.email
                user.save(update_fields=["email"])
                _join(invitation, user)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to %(workspace)s.") % {"workspace": invitation.workspace.name})
            return redirect("dashboard:workspace", invitation.workspace_id)
    return render(request, "dashboard/accept.html", {
        "invitation": invitation, "form": form or SignUpForm(),
        "login_url": f"{reverse('login')}?next={request.path}"})


def _join(invitation: Invitation, user: object) -> None:
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_open:
            raise Http404
        Membership.objects.get_or_create(workspace=locked.workspace, user=user,
                                         defaults={"role": locked.role})
        locked.accepted_at = timezone.now()
        locked.accepted_by = user  # type: ignore[assignment]
        locked.save(update_fields=["accepted_at", "accepted_by"])
