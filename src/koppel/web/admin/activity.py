from django.contrib import admin

from koppel.core.activity.models import Activity, Cursor, Link, Run


class ReadOnly(admin.ModelAdmin):
    """What the engine writes is read here, never edited by hand."""

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(ReadOnly):
    list_display = ("integration", "entity", "key", "outcome", "target_key", "attempts", "updated_at", "reason")
    list_filter = ("outcome", "entity", "integration")
    search_fields = ("key", "target_key", "reason")


@admin.register(Run)
class RunAdmin(ReadOnly):
    list_display = ("integration", "flow", "status", "started_at", "finished_at", "counts")
    list_filter = ("status", "flow", "integration")


@admin.register(Link)
class LinkAdmin(ReadOnly):
    list_display = ("integration", "entity", "source_key", "target_key", "updated_at")
    list_filter = ("entity", "integration")
    search_fields = ("source_key", "target_key")


@admin.register(Cursor)
class CursorAdmin(ReadOnly):
    list_display = ("integration", "name", "value", "updated_at")
