"""The sweep re-sends what may have been lost, paced so that a backlog is not flooded with
duplicates, and never marks as handed off what the broker refused."""

from datetime import timedelta

from django.utils import timezone

from sync.models import InboundEvent, OutboxEntry
from sync.services.sweeps import (
    GRACE,
    RESEND_AFTER,
    due_inbound_event_ids,
    due_outbox_entry_ids,
    hand_off,
)


def _event(integration, n, *, age, **fields):
    event = InboundEvent.objects.create(
        integration=integration,
        delivery_id=f"d{n}",
        event_type="jira:issue_updated",
        body={},
        **fields,
    )
    InboundEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - age)
    return event


def test_waiting_rows_are_due_after_the_grace_then_paced(enabled_integration):
    young = _event(enabled_integration, 1, age=GRACE / 2)
    old = _event(enabled_integration, 2, age=GRACE * 2)
    done = _event(enabled_integration, 3, age=GRACE * 2, status="processed")
    later = _event(
        enabled_integration, 4, age=GRACE * 2, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    retry_due = _event(
        enabled_integration, 5, age=GRACE * 2, next_attempt_at=timezone.now() - timedelta(1)
    )
    assert due_inbound_event_ids() == [old.pk, retry_due.pk]
    assert {young.pk, done.pk, later.pk}.isdisjoint(due_inbound_event_ids())

    sent: list[int] = []
    assert hand_off(InboundEvent, [old.pk, retry_due.pk], lambda i: sent.append(i) or True) == 2
    assert sent == [old.pk, retry_due.pk]
    # Handed off: left alone until RESEND_AFTER, however often the sweep runs meanwhile.
    assert due_inbound_event_ids() == []
    InboundEvent.objects.filter(pk=old.pk).update(
        swept_at=timezone.now() - RESEND_AFTER - timedelta(seconds=1)
    )
    assert due_inbound_event_ids() == [old.pk]


def test_a_refused_send_stays_due(enabled_integration):
    """Broker down during the sweep: nothing is marked, so the next pass tries again."""
    old = _event(enabled_integration, 1, age=GRACE * 2)
    assert hand_off(InboundEvent, [old.pk], lambda i: False) == 0
    old.refresh_from_db()
    assert old.swept_at is None
    assert due_inbound_event_ids() == [old.pk]


def test_outbox_entries_follow_the_same_pacing(enabled_integration):
    entry = OutboxEntry.objects.create(integration=enabled_integration, action="send_record")
    OutboxEntry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - GRACE * 2)
    held = OutboxEntry.objects.create(
        integration=enabled_integration, action="send_record", status="awaiting_approval"
    )
    OutboxEntry.objects.filter(pk=held.pk).update(created_at=timezone.now() - GRACE * 2)
    assert due_outbox_entry_ids() == [entry.pk]
    hand_off(OutboxEntry, [entry.pk], lambda i: True)
    assert due_outbox_entry_ids() == []
