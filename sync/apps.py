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

        # What the sync adds to the integration pages and API (integrations does not
        # import the sync either).
        from integrations.extensions import SyncContributions, enable_panel_add, sync_register

        from .selectors import (
            bulk_send_job_get,
            bulk_send_job_latest,
            integration_sync_summaries,
            last_inbound_event,
        )
        from .services.bulk import bulk_send_start
        from .webhooks.setup import webhook_events, webhook_path, webhook_url

        # The Enable step's first section: the Jira webhook, registered from the page.
        enable_panel_add("sync/partials/webhook_section.html", _webhook_panel_context)
        # Then a way to see what Enable with Send all (or Send all) would do, before it does.
        enable_panel_add("sync/partials/preview_enable_panel.html", _preview_panel_context)

        sync_register(
            SyncContributions(
                webhook_url=webhook_url,
                webhook_path=webhook_path,
                webhook_events=webhook_events(),
                sync_summaries=integration_sync_summaries,
                last_webhook_delivery=last_inbound_event,
                bulk_send_start=bulk_send_start,
                bulk_send_latest=bulk_send_job_latest,
                bulk_send_get=bulk_send_job_get,
            )
        )


def _webhook_panel_context(request, integration) -> dict:
    from .views import webhook_panel_context

    return webhook_panel_context(request, integration)


def _preview_panel_context(request, integration) -> dict:
    from accounts import policy

    role = policy.role_in_account(user=request.user, account_id=integration.account_id)
    return {
        "integration": integration,
        "can_admin": policy.role_allows(role, policy.Action.ADMINISTER),
    }
