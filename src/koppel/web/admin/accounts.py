from django.contrib import admin

from koppel.core.accounts.models import Membership, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "retention_days", "metadata_only", "created_at")
    inlines = [MembershipInline]
