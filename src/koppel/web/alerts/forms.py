"""The forms of a workspace's alert settings: its policy (language, quiet hours, reminders, thresholds)
and its channels (e-mail recipients or a webhook URL with its signing secret, and which alerts go there)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext_lazy as _

from koppel.core.alerts.models import AlertPolicy, Channel, Kind

KIND_LABELS = {
    Kind.BROKEN_CONNECTION: _("Broken connection"), Kind.PARKED: _("Records need attention"),
    Kind.SILENT_FLOW: _("No successful run"), Kind.SILENT_ORDERS: _("No orders"),
    Kind.STUCK_RUN: _("Run takes far too long"), Kind.CHANNEL_FAILING: _("Another alert channel fails"),
}


class PolicyForm(forms.ModelForm):
    class Meta:
        model = AlertPolicy
        fields = ["language", "time_zone", "quiet_from", "quiet_until", "remind_after_hours", "digest_minutes",
                  "offline_minutes", "probe_minutes", "orders_silence_hours", "run_silence_minutes"]
        labels = {"language": _("Language of the alerts"), "time_zone": _("Time zone"),
                  "quiet_from": _("Quiet from"), "quiet_until": _("Quiet until"),
                  "remind_after_hours": _("Remind after (hours)"),
                  "digest_minutes": _("Parked records at most every (minutes)"),
                  "offline_minutes": _("Unreachable counts as broken after (minutes)"),
                  "probe_minutes": _("Try a broken connection every (minutes)"),
                  "orders_silence_hours": _("No orders is unusual after (hours; empty: learned)"),
                  "run_silence_minutes": _("No successful run is unusual after (minutes; empty: automatic)")}
        help_texts = {name: "" for name in fields}  # the labels say it, in the page's language
        widgets = {"quiet_from": forms.TimeInput(attrs={"type": "time"}),
                   "quiet_until": forms.TimeInput(attrs={"type": "time"})}

    def clean_time_zone(self) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        value = str(self.cleaned_data["time_zone"])
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(_("Unknown time zone %(zone)s (e.g. Europe/Amsterdam).") % {"zone": value}) from None
        return value


class ChannelForm(forms.Form):
    via = forms.ChoiceField(label=_("Send by"), choices=[("email", _("e-mail")), ("webhook", _("webhook"))])
    target = forms.CharField(label=_("Recipients or URL"), max_length=2000,
                             help_text=_("E-mail: addresses separated by commas. Webhook: the https address."))
    secret = forms.CharField(label=_("Webhook secret"), required=False, max_length=200,
                             help_text=_("Signs every webhook (X-Koppel-Signature, HMAC-SHA256)."))
    kinds = forms.MultipleChoiceField(label=_("Which alerts"), required=False, widget=forms.CheckboxSelectMultiple,
                                      choices=[(k.value, label) for k, label in KIND_LABELS.items()],
                                      help_text=_("None ticked: all of them."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target = str(data.get("target", "")).strip()
        if data.get("via") == "email":
            for address in [a.strip() for a in target.replace(";", ",").split(",") if a.strip()] or [""]:
                try:
                    validate_email(address)
                except ValidationError:
                    self.add_error("target", _("%(address)s is no e-mail address.") % {"address": address or "''"})
        elif data.get("via") == "webhook":
            try:
                URLValidator(schemes=["https", "http"])(target)
            except ValidationError:
                self.add_error("target", _("Enter the webhook's full address (https://…)."))
        data["target"] = target
        return data

    def save(self, workspace_id: int) -> Channel:
        channel = Channel(workspace_id=workspace_id, via=self.cleaned_data["via"], target=self.cleaned_data["target"],
                          kinds=list(self.cleaned_data["kinds"]))
        channel.secret = self.cleaned_data.get("secret", "")
        channel.save()
        return channel
