"""The wizard's forms before the flows' questions: the workspace and integration name, the shop's and
AccountView's credentials. Connection settings and credentials are checked by their one settings model
(`core/integrations/settings.py`), so the wizard accepts exactly what `koppel integration apply` accepts."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlparse

from django import forms
from django.core.validators import validate_slug
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ValidationError

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection, Integration
from koppel.core.integrations.settings import SYSTEM_MODELS

NEW = "new"


def check_base_url(url: str) -> None:
    """Remote systems only over https; plain http only on this machine (the sandboxes)."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if parsed.scheme == "https" and host:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parsed.scheme == "http" and loopback:
        return
    raise forms.ValidationError(_("Use an https:// address (plain http only for this machine)."))


class StartForm(forms.Form):
    workspace = forms.ChoiceField(label=_("Workspace"))
    new_workspace = forms.CharField(label=_("New workspace name"), required=False, max_length=80,
                                    validators=[validate_slug])
    name = forms.CharField(label=_("Name of the integration"), max_length=80, validators=[validate_slug],
                           help_text=_("Letters, digits and dashes, e.g. my-shop."))

    def __init__(self, workspaces: list[Workspace], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["workspace"].choices = [(str(w.pk), w.name) for w in workspaces] + [
            (NEW, _("A new workspace"))]
        if workspaces:
            self.fields["workspace"].initial = str(workspaces[0].pk)

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if Integration.objects.filter(name=name).exists():
            raise forms.ValidationError(_("This name is taken: choose another."))
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("workspace") == NEW:
            new = (data.get("new_workspace") or "").strip()
            if not new:
                self.add_error("new_workspace", _("Name the new workspace."))
            elif Workspace.objects.filter(name=new).exists():
                self.add_error("new_workspace", _("This name is taken: choose another."))
        return data


class ConnectionForm(forms.Form):
    """A new connection's settings and credentials, or one of the workspace's connections of that system."""

    system: str = ""
    settings_fields: tuple[str, ...] = ()
    credential_fields: tuple[str, ...] = ()

    existing = forms.ChoiceField(label=_("Connection"), required=False)
    base_url = forms.CharField(label=_("Address of the API"), max_length=200)

    def __init__(self, connections: list[Connection], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections = {str(c.pk): c for c in connections}
        self.fields["existing"].choices = [("", _("A new connection"))] + [
            (str(c.pk), c.name) for c in connections]
        settings_model = SYSTEM_MODELS[self.system][0]
        self.fields["base_url"].initial = settings_model.model_fields["base_url"].default

    def clean_base_url(self) -> str:
        url = str(self.cleaned_data.get("base_url") or "").strip().rstrip("/")
        check_base_url(url)
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("existing"):
            if data["existing"] not in self.connections:
                self.add_error("existing", _("Choose one of the connections listed."))
            for name in (*self.credential_fields, "base_url"):  # not asked when an existing one is chosen
                self.errors.pop(name, None)
            return data
        settings_model, credentials_model = SYSTEM_MODELS[self.system]
        self.settings_answer = self._check(settings_model, {k: data.get(k) for k in self.settings_fields})
        self.credentials_answer = self._check(credentials_model, {k: data.get(k) for k in self.credential_fields})
        return data

    def _check(self, model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
        present = {k: v for k, v in values.items() if v not in (None, "")}
        try:
            return model.model_validate(present).model_dump(mode="json", exclude_unset=True)
        except ValidationError as error:
            for problem in error.errors():
                name = str(problem["loc"][0]) if problem["loc"] else None
                self.add_error(name if name in self.fields else None, str(problem["msg"]))
            return {}

    def chosen(self) -> Connection | None:
        return self.connections.get(self.cleaned_data.get("existing") or "")


class ShopForm(ConnectionForm):
    system = "mijnwebwinkel"
    settings_fields = ("base_url",)
    credential_fields = ("token", "partner_token")

    token = forms.CharField(label=_("API key"), required=False, max_length=200, widget=forms.PasswordInput(
        render_value=True), help_text=_("In your shop's admin: Settings → API → API key."))
    partner_token = forms.CharField(label=_("Partner token"), required=False, max_length=200,
                                    widget=forms.PasswordInput(render_value=True),
                                    help_text=_("The partner token you received with your API access."))


class BooksForm(ConnectionForm):
    system = "accountview"
    settings_fields = ("base_url", "company_id")
    credential_fields = ("client_id", "client_secret")

    client_id = forms.CharField(label=_("Client ID"), required=False, max_length=200,
                                help_text=_("AccountView Net developer portal: your app's Client ID."))
    client_secret = forms.CharField(label=_("Client secret"), required=False, max_length=200,
                                    widget=forms.PasswordInput(render_value=True),
                                    help_text=_("Shown beside the Client ID in the developer portal."))
    company_id = forms.CharField(label=_("Company"), required=False, max_length=200,
                                 help_text=_("The administration's company code or id, as AccountView shows it "
                                             "under Company settings."))


class FlowChoiceForm(forms.Form):
    """Which flows run: one switch per flow the settings model knows."""

    def __init__(self, flows: list[tuple[str, Any, Any, bool]], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label, help_text, enabled in flows:
            self.fields[name] = forms.BooleanField(label=label, help_text=help_text, required=False,
                                                   initial=enabled)
