"""What the beat sweep hands (again) to workers: rows whose message may have been lost."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from ..models import InboundEvent, OutboxEntry

# A row younger than this is probably still in flight: its message was sent on commit.
GRACE = timedelta(seconds=30)
BATCH = 500


def due_inbound_event_ids() -> list[int]:
    now = timezone.now()
    return list(
        InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED)
        .filter(
            Q(next_attempt_at__isnull=True, received_at__lte=now - GRACE)
            | Q(next_attempt_at__lte=now)
        )
        .order_by("received_at", "id")
        .values_list("id", flat=True)[:BATCH]
    )


def due_outbox_entry_ids() -> list[int]:
    now = timezone.now()
    return list(
        OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING)
        .filter(
            Q(next_attempt_at__isnull=True, created_at__lte=now - GRACE)
            | Q(next_attempt_at__lte=now)
        )
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:BATCH]
    )
