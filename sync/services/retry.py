"""The sync log's Retry: send again what a log entry is about (its failed outgoing update or
its failed Jira event), through the engine's own retry services."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from core.exceptions import ApplicationError

from ..models import InboundEvent, OutboxEntry, SyncLogEntry
from ..selectors import retryable_target
from .inbound import inbound_event_retry
from .outbound import outbox_entry_retry


def sync_log_entry_retry(
    *, entry: SyncLogEntry, user: AbstractBaseUser | None = None
) -> OutboxEntry | InboundEvent:
    target = retryable_target(entry)
    if isinstance(target, OutboxEntry):
        return outbox_entry_retry(entry=target, user=user)
    if isinstance(target, InboundEvent):
        return inbound_event_retry(event=target)
    raise ApplicationError(
        "There is nothing to retry for this entry: only a failed update to Jira or a failed "
        "event from Jira can be retried, and this one was retried, sent or discarded since.",
        field="entry",
        code="not_retryable",
    )
