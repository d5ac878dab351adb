"""Celery tasks: thin. They take ids, load fresh rows inside the services, and are safe to
run twice (acks_late + redelivery): every service they call is idempotent."""

from __future__ import annotations

import logging
import random

from celery import shared_task
from django.db import transaction

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 5
MAX_BACKOFF_SECONDS = 15 * 60  # well under the Redis visibility timeout (settings)


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; never sooner than Jira's Retry-After."""
    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after:
        delay = max(delay, float(retry_after))
    return min(delay, MAX_BACKOFF_SECONDS)


def _send(task, object_id: int, countdown: float | None = None) -> bool:
    try:
        task.apply_async((object_id,), countdown=countdown)
    except Exception:  # broker down: the row is durable, the beat sweep will hand it off
        logger.warning("could not enqueue %s(%s); the sweep will retry", task.name, object_id)
        return False
    return True


def enqueue_inbound_event(event_id: int, countdown: float | None = None) -> None:
    transaction.on_commit(lambda: _send(process_inbound_event, event_id, countdown), robust=True)


def enqueue_outbox_entry(entry_id: int, countdown: float | None = None) -> None:
    transaction.on_commit(lambda: _send(process_outbox_entry, entry_id, countdown), robust=True)


@shared_task(name="sync.process_inbound_event", ignore_result=True)
def process_inbound_event(event_id: int) -> None:
    from .services.inbound import inbound_event_process

    inbound_event_process(event_id=event_id)


@shared_task(name="sync.process_outbox_entry", ignore_result=True)
def process_outbox_entry(entry_id: int) -> None:
    from .services.outbound import outbox_entry_process

    outbox_entry_process(entry_id=entry_id)


@shared_task(name="sync.sweep", ignore_result=True)
def sweep() -> None:
    """Beat: hand off events and outbox entries whose message never reached a worker (broker
    down, worker killed before acking with the message lost) or whose retry is due."""
    from .models import InboundEvent, OutboxEntry
    from .services.sweeps import due_inbound_event_ids, due_outbox_entry_ids, hand_off

    hand_off(InboundEvent, due_inbound_event_ids(), lambda i: _send(process_inbound_event, i))
    hand_off(OutboxEntry, due_outbox_entry_ids(), lambda i: _send(process_outbox_entry, i))


def enqueue_marker_check(integration_id: int, record_ids: list[int], countdown: float) -> None:
    def send() -> None:
        try:
            check_markers.apply_async((integration_id, record_ids), countdown=countdown)
        except Exception:  # broker down: a missed check only delays finding a duplicate
            logger.warning("could not enqueue the marker check of %s record(s)", len(record_ids))

    transaction.on_commit(send, robust=True)


@shared_task(name="sync.check_markers", ignore_result=True)
def check_markers(integration_id: int, record_ids: list[int]) -> None:
    """Look again for duplicates a create after a lagging search may have made."""
    from .services.creates import markers_check

    markers_check(integration_id=integration_id, record_ids=record_ids)


def enqueue_bulk_send(job_id: int) -> None:
    transaction.on_commit(lambda: _send(bulk_send, job_id), robust=True)


@shared_task(name="sync.bulk_send", ignore_result=True)
def bulk_send(job_id: int) -> None:
    """Send all existing records of an integration (sync.services.bulk)."""
    from .services.bulk import bulk_send_run

    bulk_send_run(job_id=job_id)


def enqueue_jira_check(integration_id: int) -> None:
    """Check Jira now: the request is noted on the JiraCheck row; the next beat pass runs it
    if this message is lost."""
    transaction.on_commit(lambda: _send(check_jira, integration_id), robust=True)


@shared_task(name="sync.check_jira", ignore_result=True)
def check_jira(integration_id: int) -> None:
    """One Check Jira pass for one integration (sync.services.reconcile)."""
    from .services.reconcile import jira_check_run

    jira_check_run(integration_id=integration_id)


@shared_task(name="sync.check_jira_all", ignore_result=True)
def check_jira_all() -> None:
    """Beat (every SYNC_CHECK_JIRA_MINUTES): a Check Jira pass per enabled integration."""
    from .services.reconcile import jira_check_due_ids

    for integration_id in jira_check_due_ids():
        _send(check_jira, integration_id)
