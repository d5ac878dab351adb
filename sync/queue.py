"""Handing work to the workers, and the retry pacing, below the services.

The services enqueue by task *name* after commit, so they never import ``sync.tasks`` (which
imports them): the dependency points one way, tasks -> services -> queue. A broker that does
not answer loses nothing: the row is durable and the beat sweep hands it off later."""

from __future__ import annotations

import logging
import random

from celery import current_app
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


# The task names (sync.tasks registers its tasks under them).
PROCESS_INBOUND_EVENT = "sync.process_inbound_event"
PROCESS_OUTBOX_ENTRY = "sync.process_outbox_entry"
BULK_SEND = "sync.bulk_send"
SWEEP = "sync.sweep"
CHECK_MARKERS = "sync.check_markers"


def send_now(task_name: str, object_id: int, countdown: float | None = None) -> bool:
    try:
        current_app.send_task(task_name, (object_id,), countdown=countdown)
    except Exception:  # broker down: the row is durable, the beat sweep will hand it off
        logger.warning("could not enqueue %s(%s); the sweep will retry", task_name, object_id)
        return False
    return True


def enqueue_inbound_event(event_id: int, countdown: float | None = None) -> None:
    transaction.on_commit(lambda: send_now(PROCESS_INBOUND_EVENT, event_id, countdown), robust=True)


def enqueue_outbox_entry(entry_id: int, countdown: float | None = None) -> None:
    transaction.on_commit(lambda: send_now(PROCESS_OUTBOX_ENTRY, entry_id, countdown), robust=True)


def enqueue_bulk_send(job_id: int) -> None:
    transaction.on_commit(lambda: send_now(BULK_SEND, job_id), robust=True)


def enqueue_marker_check(integration_id: int, record_ids: list[int], countdown: float) -> None:
    """Look again, later, for duplicates a create after a lagging search may have made."""

    def send() -> None:
        try:
            current_app.send_task(CHECK_MARKERS, (integration_id, record_ids), countdown=countdown)
        except Exception:  # broker down: a missed check only delays finding a duplicate
            logger.warning("could not enqueue the marker check of %s record(s)", len(record_ids))

    transaction.on_commit(send, robust=True)
