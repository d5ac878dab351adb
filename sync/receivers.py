"""Record changes -> outbox entries, in the same transaction as the change (see
records.signals). Thin: the rules are in sync.services.outbound."""

from __future__ import annotations

from django.dispatch import receiver

from integrations.signals import integration_deleting, integration_webhook_changed
from records.signals import record_changed, record_link_created, record_link_deleting


@receiver(record_changed, dispatch_uid="sync.record_changed")
def on_record_changed(sender, record, created, changed_fields, **kwargs):
    from .services.outbound import outbox_record_changed

    outbox_record_changed(record=record, created=created, changed_fields=changed_fields)


@receiver(record_link_created, dispatch_uid="sync.record_link_created")
def on_record_link_created(sender, link, **kwargs):
    from .services.outbound import outbox_link_created

    outbox_link_created(link=link)


@receiver(record_link_deleting, dispatch_uid="sync.record_link_deleting")
def on_record_link_deleting(sender, link, **kwargs):
    from .services.outbound import outbox_link_deleting

    outbox_link_deleting(link=link)


@receiver(integration_webhook_changed, dispatch_uid="sync.integration_webhook_changed")
def on_integration_webhook_changed(sender, integration, reason, **kwargs):
    """The registered Jira webhook follows a new URL, secret or project, once committed."""
    from django.db import transaction

    from .services.webhook_registration import webhook_registration_refresh

    integration_id = integration.pk
    transaction.on_commit(
        lambda: webhook_registration_refresh(integration_id=integration_id), robust=True
    )


@receiver(integration_deleting, dispatch_uid="sync.integration_deleting")
def on_integration_deleting(sender, integration, **kwargs):
    from .services.webhook_registration import webhook_unregister_quietly

    webhook_unregister_quietly(integration=integration)
