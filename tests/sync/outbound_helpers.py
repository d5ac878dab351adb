"""Helpers for the outbound tests: run what a worker would, and read the emulator."""

from __future__ import annotations

from sync.models import OutboxEntry
from sync.services.outbound import outbox_entry_process


def drain(integration, *, limit: int = 50) -> int:
    """Process every pending outbox entry of the integration, as workers would; returns how
    many were processed. Entries waiting for a retry are processed too (time is not waited)."""
    done = 0
    for _ in range(limit):
        ids = list(
            OutboxEntry.objects.filter(
                integration=integration, status=OutboxEntry.Status.PENDING
            ).values_list("id", flat=True)
        )
        if not ids:
            return done
        for entry_id in ids:
            OutboxEntry.objects.filter(pk=entry_id).update(next_attempt_at=None)
            outbox_entry_process(entry_id=entry_id)
            done += 1
    raise AssertionError("outbox did not drain")


def calls(emulator, method: str | None = None, suffix: str = "") -> list:
    """Requests the emulator received (method, path, query, body, status), filtered."""
    return [
        entry
        for entry in emulator.requests_log
        if (method is None or entry[0] == method) and entry[1].endswith(suffix)
    ]


def issues_of_project(emulator, project: str = "DEMO") -> list:
    state = emulator.state
    with state.lock:
        project_id = state.project_by_key(project).id
        return [i for i in state.issues.values() if i.project_id == project_id]
