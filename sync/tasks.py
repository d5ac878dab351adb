"""Celery tasks: thin. They take ids, load fresh rows inside the services, and are safe to
run twice (acks_late + redelivery): every service they call is idempotent. Enqueueing and
the retry pacing live below the services, in ``sync.queue``."""

from __future__ import annotations

from celery import shared_task

from .models import InboundEvent, OutboxEntry
from .queue import (
    BULK_SEND,
    CHECK_MARKERS,
    MAX_ATTEMPTS,
    PROCESS_INBOUND_EVENT,
    PROCESS_OUTBOX_ENTRY,
    SWEEP,
    send_now,
)
from .services.bulk import bulk_send_run
from .services.creates import markers_check
from .services.inbound import inbound_event_process
from .services.outbound import outbox_entry_process
from .services.sweeps import due_inbound_event_ids, due_outbox_entry_ids, hand_off

__all__ = [
    "MAX_ATTEMPTS",
    "bulk_send",
    "check_markers",
    "process_inbound_event", "process_outbox_entry", "sweep"]


@shared_task(name=PROCESS_INBOUND_EVENT, ignore_result=True)
def process_inbound_event(event_id: int) -> None:
    inbound_event_process(event_id=event_id)


@shared_task(name=PROCESS_OUTBOX_ENTRY, ignore_result=True)
def process_outbox_entry(entry_id: int) -> None:
    outbox_entry_process(entry_id=entry_id)


@shared_task(name=SWEEP, ignore_result=True)
def sweep() -> None:
    """Beat: hand off events and outbox entries whose message never reached a worker (broker
    down, worker killed before acking with the message lost) or whose retry is due."""
    hand_off(InboundEvent, due_inbound_event_ids(), lambda i: send_now(PROCESS_INBOUND_EVENT, i))
    hand_off(OutboxEntry, due_outbox_entry_ids(), lambda i: send_now(PROCESS_OUTBOX_ENTRY, i))


@shared_task(name=CHECK_MARKERS, ignore_result=True)
def check_markers(integration_id: int, record_ids: list[int]) -> None:
    """Look again for duplicates a create after a lagging search may have made."""
    markers_check(integration_id=integration_id, record_ids=record_ids)


@shared_task(name=BULK_SEND, ignore_result=True)
def bulk_send(job_id: int) -> None:
    """Send all existing records of an integration (sync.services.bulk)."""
    bulk_send_run(job_id=job_id)
