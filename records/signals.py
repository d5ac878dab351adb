"""Change notifications, so apps that depend on records (the sync engine) can react inside
the same transaction without records depending on them.

Receivers hold no business rules of their own: they call their app's services.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from django.dispatch import Signal

# Sent after a record is created or changed: record, created (bool), changed_fields (list).
record_changed = Signal()
# Sent after a record link is created: link.
record_link_created = Signal()
# Sent before a record link is deleted (its mirrors are still readable): link.
record_link_deleting = Signal()

# Who is making the change. The sync engine applies Jira's changes inside
# ``change_origin("jira", integration_id)`` so they are not sent back to that Jira.
_origin: contextvars.ContextVar[tuple[str, int | None]] = contextvars.ContextVar(
    "record_change_origin", default=("user", None)
)


@contextlib.contextmanager
def change_origin(source: str, integration_id: int | None = None) -> Iterator[None]:
    token = _origin.set((source, integration_id))
    try:
        yield
    finally:
        _origin.reset(token)


def current_origin() -> tuple[str, int | None]:
    return _origin.get()
