"""Record changes -> outbox entries, in the same transaction as the change (see
records.signals). Thin: the rules are in sync.services.outbound."""

from __future__ import annotations

from django.dispatch import receiver

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
