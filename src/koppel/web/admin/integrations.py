from django.contrib import admin

from koppel.core.integrations.models import Connection, Integration, Schedule


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Credentials are never shown: they are set with `koppel integration apply` or the wizard."""

    list_display = ("name", "workspace", "system", "broken_reason", "updated_at")
    list_filter = ("system", "workspace")
    exclude = ("secrets_encrypted",)


class ScheduleInline(admin.TabularInline):
    model = Schedule
    extra = 0


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "shop", "books", "enabled", "paused_reason")
    list_filter = ("enabled", "workspace")
    inlines = [ScheduleInline]
