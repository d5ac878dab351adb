"""Admin for integrations and their mappings, scoped to the staff user's accounts. Secrets
(API token, personal access token, webhook secret) are never shown or editable here."""

from django.contrib import admin

from accounts.admin_scoping import AccountScopedAdmin

from .models import (
    FieldMapping,
    Integration,
    LinkedTo,
    RecordMapping,
    RelationshipMapping,
    ValueMapping,
)

SECRET_FIELDS = (
    "api_token_encrypted",
    "personal_access_token_encrypted",
    "webhook_secret_encrypted",
)


@admin.register(Integration)
class IntegrationAdmin(AccountScopedAdmin):
    list_display = ("name", "account", "workspace", "is_template", "state", "project_key")
    list_filter = ("state", "is_template", "deployment")
    search_fields = ("name", "project_key")
    exclude = SECRET_FIELDS
    readonly_fields = ("webhook_token", "configuration_fetched_at", "created_at", "updated_at")


@admin.register(RecordMapping)
class RecordMappingAdmin(AccountScopedAdmin):
    account_path = "integration__account"
    list_display = ("integration", "position", "record_kind", "target", "default_issue_type_id")
    list_filter = ("record_kind", "target")


@admin.register(LinkedTo)
class LinkedToAdmin(AccountScopedAdmin):
    account_path = "record_mapping__integration__account"
    list_display = ("record_mapping", "parent_kind", "jira_field", "automatic")


@admin.register(FieldMapping)
class FieldMappingAdmin(AccountScopedAdmin):
    account_path = "record_mapping__integration__account"
    list_display = ("record_mapping", "position", "local_field", "jira_field_id", "direction")


@admin.register(ValueMapping)
class ValueMappingAdmin(AccountScopedAdmin):
    account_path = "field_mapping__record_mapping__integration__account"
    list_display = ("field_mapping", "position", "local_value", "jira_value_name")


@admin.register(RelationshipMapping)
class RelationshipMappingAdmin(AccountScopedAdmin):
    account_path = "integration__account"
    list_display = ("integration", "record_kind", "position", "link_type", "jira_link_type_name")
    list_filter = ("record_kind", "sync_direction")
