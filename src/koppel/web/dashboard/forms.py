"""The forms of a connection: its name, where the system is, and its credentials, with help saying where
the system's own screens show each value. Everything is checked by the system's one settings model
(koppel.core.integrations.settings) before anything is saved, and a refusal is shown on its field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from koppel.core.accounts.models import Workspace
from koppel.core.integrations.models import Connection
from koppel.core.integrations.settings import SYSTEM_MODELS

SECRET_KEPT = _("Leave empty to keep the one stored.")


class ConnectionForm(forms.Form):
    """Create or change one connection of a workspace. Secret fields are never shown back; left empty on
    a change, the stored value stays."""

    system: str
    settings_fields: tuple[str, ...]
    secret_fields: tuple[str, ...]

    name = forms.SlugField(label=_("Name"), max_length=80,
                           help_text=_("A short name for this connection, e.g. books or shop."))

    def __init__(self, *args: Any, workspace: Workspace, connection: Connection | None = None,
                 **kwargs: Any) -> None:
        self.workspace = workspace
        self.connection = connection
        if connection is not None:
            kwargs.setdefault("initial", {"name": connection.name, **{
                key: value for key, value in connection.settings.items() if key in self.settings_fields}})
            kwargs["initial"].update({key: value for key, value in connection.credentials.items()
                                      if key in self.base_fields and key not in self.secret_fields})
        super().__init__(*args, **kwargs)
        for key in self.secret_fields:
            field = self.fields[key]
            field.required = connection is None or not connection.credentials.get(key)
            if connection is not None and connection.credentials.get(key):
                field.help_text = f"{field.help_text} {SECRET_KEPT}"

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        taken = Connection.objects.filter(workspace=self.workspace, name=name)
        if self.connection is not None:
            taken = taken.exclude(pk=self.connection.pk)
        if taken.exists():
            raise ValidationError(_("This workspace has a connection of that name already."))
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        settings_model, credentials_model = SYSTEM_MODELS[self.system]
        given_settings = {key: cleaned[key] for key in self.settings_fields if cleaned.get(key)}
        self.new_settings = {**(self.connection.settings if self.connection else {}), **given_settings}
        stored = dict(self.connection.credentials) if self.connection else {}
        self.given_credentials = {key: cleaned[key] for key in self.credential_fields() if cleaned.get(key)}
        self._check(settings_model, self.new_settings)
        self._check(credentials_model, {key: value for key, value in self._merged(stored).items()
                                        if key in credentials_model.model_fields})
        return cleaned

    def _merged(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The stored credentials with the ones given; without the OAuth tokens when they belong to a
        client that is being replaced (keeping them would mix two apps' grants)."""
        merged = {**stored, **self.given_credentials}
        if self.replaces_grant(stored, self.given_credentials):
            for key in ("tokens", "refresh_token"):
                merged.pop(key, None)
        return merged

    def credential_fields(self) -> tuple[str, ...]:
        return tuple(name for name in self.base_fields if name not in ("name", *self.settings_fields))

    def replaces_grant(self, stored: dict[str, Any], given: dict[str, Any]) -> bool:
        return False

    def _check(self, model: type[BaseModel], value: dict[str, Any]) -> None:
        try:
            model.model_validate(value)
        except PydanticError as exc:
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else None
                self.add_error(field if field in self.fields else None, str(error["msg"]))

    @transaction.atomic
    def save(self) -> Connection:
        """Create or update the connection, settings and credentials together. The stored credentials are
        read again under the row's lock, the one a token refresh takes: AccountView's refresh tokens
        rotate, and writing back the ones read before a refresh would bring back a dead token."""
        if self.connection is None:
            connection = Connection(workspace=self.workspace, system=self.system)
        else:
            connection = Connection.objects.select_for_update().get(pk=self.connection.pk)
        connection.credentials = self._merged(connection.credentials if connection.pk else {})
        connection.name = self.cleaned_data["name"]
        connection.settings = self.new_settings
        connection.save()  # the model checks the settings once more
        return connection


class AccountViewForm(ConnectionForm):
    system = "accountview"
    settings_fields = ("base_url", "company_id")
    secret_fields = ("client_secret",)

    base_url = forms.CharField(
        label=_("AccountView address"), initial="https://www.accountview.net",
        help_text=_("Leave as it is unless your provider gave you another address; it must start with https://."))
    client_id = forms.CharField(
        label=_("Client ID (API-sleutel)"),
        help_text=_("On accountview.net under Ontwikkelaar (Developer), open the application you added for "
                    "Koppel: the portal shows it as API-sleutel."))
    client_secret = forms.CharField(
        label=_("Client secret (API-secret)"), widget=forms.PasswordInput(render_value=False),
        help_text=_("Shown next to the API-sleutel as API-secret. Use this pair for Koppel only."))
    company_id = forms.CharField(
        label=_("Company"),
        help_text=_("On accountview.net under Ondernemingen (Companies), open the company to connect: its ID is "
                    "in the address bar. Its code (ondernemingscode) works too."))

    def replaces_grant(self, stored: dict[str, Any], given: dict[str, Any]) -> bool:
        return any(key in given and given[key] != stored.get(key) for key in ("client_id", "client_secret"))


class MijnWebwinkelForm(ConnectionForm):
    system = "mijnwebwinkel"
    settings_fields = ("base_url",)
    secret_fields = ("token", "partner_token")

    base_url = forms.CharField(
        label=_("MijnWebwinkel API address"), initial="https://api.myonlinestore.com",
        help_text=_("Leave as it is unless told otherwise; it must start with https://."))
    token = forms.CharField(
        label=_("API key (store token)"), widget=forms.PasswordInput(render_value=False),
        help_text=_("The key of your shop for this integration, from your shop's back office, where "
                    "MijnWebwinkel lists the API keys (koppelingen) of your shop."))
    partner_token = forms.CharField(
        label=_("Partner token"), widget=forms.PasswordInput(render_value=False),
        help_text=_("Issued by MijnWebwinkel (MyOnlineStore) to the partner who runs Koppel when they "
                    "registered as a partner: ask your Koppel provider for it."))


FORMS: dict[str, type[ConnectionForm]] = {form.system: form for form in (AccountViewForm, MijnWebwinkelForm)}
