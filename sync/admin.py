"""Admin for the sync engine's rows, scoped to the staff user's accounts (superusers see all).

Everything here is written by the engine, so it is read-only: an operator looks (webhook
bodies included, pretty-printed) and acts through the product's Retry, Approve and Accept,
which keep the log and the outbox consistent. No secret is stored on these rows: the webhook
intake keeps only Jira's delivery headers, never the signature or an Authorization header.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from accounts.admin_scoping import AccountScopedAdmin

from .models import (
    BulkSendJob,
    ImportCandidate,
    InboundEvent,
    IssueLinkMirror,
    JiraLink,
    OutboxEntry,
    SyncLogEntry,
)

# Headers an admin may see; anything else a future intake kept is hidden, to be safe.
VISIBLE_HEADERS = {
    "x-atlassian-webhook-identifier",
    "x-atlassian-webhook-retry",
    "x-atlassian-webhook-flow",
    "user-agent",
}


def _pretty(value) -> str:
    return format_html("<pre style='white-space:pre-wrap;max-width:70em'>{}</pre>", value)


class ReadOnlySyncAdmin(AccountScopedAdmin):
    account_path = "integration__account"
    list_select_related = ("integration",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlySyncAdmin):
    list_display = (
        "event_type",
        "jira_issue_id",
        "integration",
        "status",
        "attempts",
        "received_at",
    )
    list_filter = ("status", "event_type")
    search_fields = ("delivery_id", "jira_issue_id")
    exclude = ("body", "raw_body", "headers")

    def get_readonly_fields(self, request, obj=None):
        fields = [f for f in super().get_readonly_fields(request, obj) if f not in self.exclude]
        return [*fields, "body_pretty", "headers_shown"]

    @admin.display(description="Body")
    def body_pretty(self, obj) -> str:
        return _pretty(json.dumps(obj.body, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.display(description="Headers")
    def headers_shown(self, obj) -> str:
        headers = {k: v for k, v in (obj.headers or {}).items() if k.lower() in VISIBLE_HEADERS}
        return _pretty(json.dumps(headers, indent=2, sort_keys=True))


@admin.register(JiraLink)
class JiraLinkAdmin(ReadOnlySyncAdmin):
    list_display = ("record", "jira_key", "jira_kind", "integration", "last_synced_at")
    list_filter = ("jira_kind",)
    search_fields = ("jira_key", "jira_id", "record__reference")
    list_select_related = ("integration", "record")


@admin.register(IssueLinkMirror)
class IssueLinkMirrorAdmin(ReadOnlySyncAdmin):
    list_display = ("jira_link_id", "record_link", "integration", "created_at")
    search_fields = ("jira_link_id",)


@admin.register(OutboxEntry)
class OutboxEntryAdmin(ReadOnlySyncAdmin):
    list_display = ("action", "record", "integration", "status", "attempts", "created_at")
    list_filter = ("status", "action")
    search_fields = ("record__reference", "last_error")
    list_select_related = ("integration", "record")


@admin.register(ImportCandidate)
class ImportCandidateAdmin(ReadOnlySyncAdmin):
    list_display = ("jira_key", "summary", "record_kind", "integration", "status", "created_at")
    list_filter = ("status", "record_kind")
    search_fields = ("jira_key", "summary")
    exclude = ("issue",)

    def get_readonly_fields(self, request, obj=None):
        fields = [f for f in super().get_readonly_fields(request, obj) if f != "issue"]
        return [*fields, "issue_pretty"]

    @admin.display(description="Jira issue")
    def issue_pretty(self, obj) -> str:
        return _pretty(json.dumps(obj.issue, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(SyncLogEntry)
class SyncLogEntryAdmin(ReadOnlySyncAdmin):
    list_display = ("created_at", "level", "action", "record", "jira_key", "integration")
    list_filter = ("level", "action")
    search_fields = ("message", "jira_key", "record__reference")
    list_select_related = ("integration", "record")


@admin.register(BulkSendJob)
class BulkSendJobAdmin(ReadOnlySyncAdmin):
    list_display = ("integration", "status", "total", "sent", "failed", "skipped", "started_at")
    list_filter = ("status",)
