"""The outbound side of the sync (here -> Jira), in two parts: ``outbox`` writes intents in
the record change's transaction; ``sender`` turns them into Jira calls in a worker."""

from .creates import marker_label
from .outbox import (
    merge_fields,
    outbox_approve_all,
    outbox_discard_all,
    outbox_entry_approve,
    outbox_entry_discard,
    outbox_entry_retry,
    outbox_link_created,
    outbox_link_deleting,
    outbox_record_changed,
    record_send_to_jira,
)
from .sender import outbox_entry_process

__all__ = [
    "marker_label",
    "merge_fields",
    "outbox_approve_all",
    "outbox_discard_all",
    "outbox_entry_approve",
    "outbox_entry_discard",
    "outbox_entry_process",
    "outbox_entry_retry",
    "outbox_link_created",
    "outbox_link_deleting",
    "outbox_record_changed",
    "record_send_to_jira",
]
