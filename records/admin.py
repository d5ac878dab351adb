from django.contrib import admin

from accounts.admin_scoping import AccountScopedAdmin

from .models import Record, RecordLink, Tag


@admin.register(Record)
class RecordAdmin(AccountScopedAdmin):
    account_path = "workspace__account"
    list_display = ("reference", "name", "kind", "status", "workspace", "updated_at")
    list_filter = ("kind", "status")
    search_fields = ("reference", "name")
    raw_id_fields = ("initiative", "release", "epic", "feature", "assignee", "created_by")
    readonly_fields = ("reference", "number", "next_requirement_number", "created_at", "updated_at")
    list_select_related = ("workspace",)

    def has_add_permission(self, request) -> bool:
        # A record's reference number is allocated by records.services.record_create, under
        # the workspace's lock: records are added in the app (or the API), not here.
        return False


@admin.register(RecordLink)
class RecordLinkAdmin(AccountScopedAdmin):
    account_path = "workspace__account"
    list_display = ("source", "link_type", "target", "workspace", "created_at")
    list_filter = ("link_type",)
    raw_id_fields = ("source", "target", "created_by")
    list_select_related = ("source", "target", "workspace")


@admin.register(Tag)
class TagAdmin(AccountScopedAdmin):
    account_path = "workspace__account"
    list_display = ("name", "workspace")
    search_fields = ("name",)
