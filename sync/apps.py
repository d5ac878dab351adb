from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync"

    def ready(self) -> None:
        # Record changes -> outbox entries, in the change's transaction.
        # What the sync adds to records' reads (records does not import the sync).
        from records.extensions import record_api_field_add, record_prefetch_add

        from . import receivers  # noqa: F401
        from .api.record_fields import jira_field

        record_prefetch_add("jira_links")
        record_api_field_add("jira", jira_field)
