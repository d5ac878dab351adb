"""The per-integration sync log: what the user reads to know what happened."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

from ..models import InboundEvent, OutboxEntry, SyncLogEntry

logger = logging.getLogger("sync")

_LOG_LEVELS = {
    SyncLogEntry.Level.ERROR: logging.ERROR,
    SyncLogEntry.Level.WARNING: logging.WARNING,
    SyncLogEntry.Level.INFO: logging.INFO,
}


_previewing: ContextVar[bool] = ContextVar("sync_log_previewing", default=False)


@contextlib.contextmanager
def previewing() -> Iterator[None]:
    """While a preview runs the sending code (sync.services.preview), its process-log lines
    say so: the entries themselves are rolled back, nothing was sent."""
    token = _previewing.set(True)
    try:
        yield
    finally:
        _previewing.reset(token)


def sync_log(
    *,
    integration_id: int,
    level: str,
    action: str,
    message: str,
    record_id: int | None = None,
    jira_key: str = "",
    outbox_entry: OutboxEntry | None = None,
    inbound_event: InboundEvent | None = None,
) -> SyncLogEntry:
    """Write one entry (and the same line to the process log, without secrets: messages
    are built from Jira's error texts and our own words, never from credentials)."""
    logger.log(
        _LOG_LEVELS.get(level, logging.INFO),
        "%sintegration %s %s %s: %s",
        "[preview, not sent] " if _previewing.get() else "",
        integration_id,
        action,
        jira_key or record_id or "",
        message,
    )
    return SyncLogEntry.objects.create(
        integration_id=integration_id,
        level=level,
        action=action,
        message=message[:5000],
        record_id=record_id,
        jira_key=jira_key,
        outbox_entry=outbox_entry,
        inbound_event=inbound_event,
    )
