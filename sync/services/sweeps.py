"""What the beat sweep hands (again) to workers: rows whose message may have been lost.

A row still waiting is either in flight (its message sits in the broker's queue behind
others) or lost (broker down at commit, worker killed with an unacked message on a broker
that drops it). The sweep cannot tell them apart, so it re-sends, but paces itself: a row is
re-sent after GRACE, then at most every RESEND_AFTER, which bounds the duplicates a long
backlog gets (each duplicate is a no-op: the services only process waiting rows).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db.models import Model, Q
from django.utils import timezone

from ..models import BulkSendJob, InboundEvent, OutboxEntry

GRACE = timedelta(seconds=30)
RESEND_AFTER = timedelta(minutes=10)
BATCH = 500


def _due(model: type[Model], waiting: str, created_field: str) -> list[int]:
    now = timezone.now()
    first_pass = Q(swept_at__isnull=True, **{f"{created_field}__lte": now - GRACE})
    waiting_long = Q(next_attempt_at__isnull=True) & (
        first_pass | Q(swept_at__lte=now - RESEND_AFTER)
    )
    # A retry whose countdown has run out (its delayed message may have been lost too).
    retry_due = Q(next_attempt_at__lte=now) & (
        Q(swept_at__isnull=True) | Q(swept_at__lte=now - GRACE)
    )
    return list(
        model.objects.filter(status=waiting)
        .filter(waiting_long | retry_due)
        .order_by(created_field, "id")
        .values_list("id", flat=True)[:BATCH]
    )


def due_inbound_event_ids() -> list[int]:
    return _due(InboundEvent, InboundEvent.Status.RECEIVED, "received_at")


def due_outbox_entry_ids() -> list[int]:
    # Entries of a running "Send all" are delivered by the run, in batches.
    ids = _due(OutboxEntry, OutboxEntry.Status.PENDING, "created_at")
    running = set(
        OutboxEntry.objects.filter(pk__in=ids, job__status=BulkSendJob.Status.RUNNING).values_list(
            "id", flat=True
        )
    )
    return [i for i in ids if i not in running]


def hand_off(model: type[Model], ids: list[int], send: Callable[[int], bool]) -> int:
    """Send each id; mark those the broker took, so the next passes leave them alone for a
    while. Ids whose send failed (broker still down) stay due."""
    sent = [object_id for object_id in ids if send(object_id)]
    if sent:
        model.objects.filter(pk__in=sent).update(swept_at=timezone.now())
    return len(sent)
