"""Operators' admin of connections and integrations. Settings are checked by the same settings models as
`koppel integration apply` (the models' `clean`), so a bad value is shown on its field and never stored."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from koppel.connectors.accountview.profile import AccountViewProfile, evidence
from koppel.core.integrations.models import Connection, Integration, Schedule


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Credentials are never shown: they are set with `koppel integration apply` or the wizard."""

    list_display = ("name", "workspace", "system", "broken_reason", "updated_at")
    list_filter = ("system", "workspace")
    exclude = ("secrets_encrypted",)
    readonly_fields = ("accountview_profile",)

    @admin.display(description="AccountView profile (set under settings.profile; `koppel check` tries it)")
    def accountview_profile(self, connection: Connection) -> SafeString | str:
        """Every profile setting in force, whether set or default, with its evidence."""
        if connection.system != Connection.System.ACCOUNTVIEW:
            return "–"
        given = dict((connection.settings or {}).get("profile") or {})
        try:
            profile = AccountViewProfile.model_validate(given)
        except ValueError:
            return "the stored profile is invalid: save the settings to see why"
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            (
                (name, getattr(profile, name), "set" if name in given else "default", evidence(name))
                for name in AccountViewProfile.model_fields
            ),
        )
        return format_html("<table><tr><th>setting</th><th>value</th><th></th><th>evidence</th></tr>{}</table>",
                           rows)


class ScheduleInline(admin.TabularInline):
    model = Schedule
    extra = 0


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "shop", "books", "enabled", "paused_reason")
    list_filter = ("enabled", "workspace")
    inlines = [ScheduleInline]
