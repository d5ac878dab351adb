"""Writing the outbox: record changes here become intents to change Jira.

Entries are written inside the record change's transaction (records.signals -> receivers), so
a change and its intent commit together; the worker is handed the entry only after commit.

One send_record entry per record and integration waits at a time: a second change before
the send merges its field names into the waiting entry (an empty list means everything).
An entry a worker has claimed (``claimed_at``) is not merged into: the worker
took a snapshot of its fields, so a change arriving during the send gets an entry of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from core.exceptions import ApplicationError
from integrations.models import Integration, RecordMapping
from integrations.selectors import record_mappings_effective, relationship_for_outgoing
from records.kinds import kind_label
from records.models import Record, RecordLink
from records.signals import current_origin

from ..models import BulkSendJob, IssueLinkMirror, JiraLink, OutboxEntry
from ..queue import enqueue_outbox_entry
from .log import sync_log
from .snapshot import changed_here

Status = OutboxEntry.Status
Action = OutboxEntry.Action
WAITING = (Status.PENDING, Status.AWAITING_APPROVAL)


# -- which integrations a change concerns --------------------------------------------------


def _enabled_integrations(workspace_id: int) -> list[Integration]:
    return list(
        Integration.objects.filter(
            workspace_id=workspace_id, is_template=False, state=Integration.State.ENABLED
        ).select_related("template")
    )


def _mapping_for(integration: Integration, kind: str) -> RecordMapping | None:
    for mapping in record_mappings_effective(integration):
        if mapping.record_kind == kind:
            return mapping
    return None


def _from_this_jira(integration: Integration) -> bool:
    """True while the inbound side applies this integration's Jira change: no loop back."""
    source, origin_id = current_origin()
    return source == "jira" and origin_id == integration.id


def _relevant_fields(mapping: RecordMapping) -> set[str]:
    """Local field names whose change is worth a Jira call: the fields sent to Jira and the
    parents carried by Linked to."""
    fields = {fm.local_field for fm in mapping.field_mappings.all() if fm.sends_to_jira}
    fields |= {link.parent_kind for link in mapping.linked_to.all()}
    return fields


def merge_fields(current: list[str], new: Iterable[str]) -> list[str]:
    """Changed field names of two changes; an empty list on either side means everything."""
    new = list(new)
    if not current or not new:
        return []
    return sorted(set(current) | set(new))


# -- writing entries ---------------------------------------------------------------------


def _initial_status(integration: Integration, *, explicit: bool) -> str:
    # An explicit "Send to Jira" is the user's decision already; only automatic sends wait.
    if integration.require_approval and not explicit:
        return Status.AWAITING_APPROVAL
    return Status.PENDING


def _send_record_entry(
    *,
    integration: Integration,
    record: Record,
    fields: list[str],
    explicit: bool = False,
    user: AbstractBaseUser | None = None,
    job: BulkSendJob | None = None,
) -> OutboxEntry:
    """Coalesce into the waiting entry of this record, or write a new one. An entry of a
    "Send all" run (``job``) is delivered by the run, in batches, not handed off alone."""
    waiting = (
        OutboxEntry.objects.select_for_update()
        .filter(
            integration=integration,
            record=record,
            action=Action.SEND_RECORD,
            status__in=WAITING,
        )
        .order_by("-id")
    )
    for entry in waiting:
        if entry.claimed_at is not None:
            continue
        merged = merge_fields(entry.payload.get("fields", []), fields)
        entry.payload = {**entry.payload, "fields": merged}
        update = ["payload"]
        if (explicit or job is not None) and entry.status == Status.AWAITING_APPROVAL:
            entry.status = Status.PENDING
            update.append("status")
        if job is not None:
            entry.job = job
            update.append("job")
        entry.save(update_fields=update)
        if entry.status == Status.PENDING and "status" in update and job is None:
            enqueue_outbox_entry(entry.id)
        return entry
    entry = OutboxEntry.objects.create(
        integration=integration,
        action=Action.SEND_RECORD,
        record=record,
        payload={"fields": list(fields)},
        status=_initial_status(integration, explicit=explicit or job is not None),
        created_by=user,
        job=job,
    )
    if entry.status == Status.PENDING and job is None:
        enqueue_outbox_entry(entry.id)
    return entry


def outbox_record_changed(*, record: Record, created: bool, changed_fields: list[str]) -> None:
    """Receiver of records.signals.record_changed (inside the change's transaction). Only
    fields whose value differs from the synced snapshot go out (sync.services.snapshot): a
    change applied from Jira wrote the snapshot first, so it is not sent back."""
    for integration in _enabled_integrations(record.workspace_id):
        mapping = _mapping_for(integration, record.kind)
        if mapping is None:
            continue
        link = JiraLink.objects.filter(integration=integration, record=record).first()
        if created or link is None:
            if _from_this_jira(integration):
                continue  # an import links the record itself
            fields: list[str] = []  # a create sends everything
        else:
            relevant = sorted(set(changed_fields) & _relevant_fields(mapping))
            fields = changed_here(
                link, record, mapping, relevant, from_jira=_from_this_jira(integration)
            )
            if not fields:
                continue
        _send_record_entry(integration=integration, record=record, fields=fields)


def send_fields_again(*, integration: Integration, record: Record, fields: list[str]) -> None:
    """A conflict settled for this side: our value of these fields goes to Jira again."""
    if fields:
        _send_record_entry(integration=integration, record=record, fields=sorted(fields))


def _link_is_mapped(integration: Integration, link: RecordLink) -> bool:
    source_mapping = _mapping_for(integration, link.source.kind)
    target_mapping = _mapping_for(integration, link.target.kind)
    if source_mapping is None or target_mapping is None:
        return False
    if RecordMapping.Target.VERSION in (source_mapping.target, target_mapping.target):
        return False  # Jira links issues, not versions
    return relationship_for_outgoing(integration, link.source.kind, link.link_type) is not None


def link_entry(
    *,
    integration: Integration,
    link: RecordLink,
    explicit: bool = False,
    job: BulkSendJob | None = None,
    enqueue: bool = True,
) -> OutboxEntry | None:
    """The create-link entry of a record link: the waiting one, or a new one; None when the
    link is mirrored in Jira already."""
    if IssueLinkMirror.objects.filter(integration=integration, record_link=link).exists():
        return None
    waiting = OutboxEntry.objects.filter(
        integration=integration, action=Action.CREATE_LINK, record_link=link, status__in=WAITING
    ).first()
    if waiting is not None:
        if job is not None or (explicit and waiting.status == Status.AWAITING_APPROVAL):
            waiting.job = job or waiting.job
            waiting.status = Status.PENDING
            waiting.save(update_fields=["job", "status"])
            if enqueue and job is None:
                enqueue_outbox_entry(waiting.id)
        return waiting
    entry = OutboxEntry.objects.create(
        integration=integration,
        action=Action.CREATE_LINK,
        record=link.source,
        record_link=link,
        payload={"link_type": link.link_type, "target_id": link.target_id},
        status=_initial_status(integration, explicit=explicit or job is not None),
        job=job,
    )
    if entry.status == Status.PENDING and enqueue and job is None:
        enqueue_outbox_entry(entry.id)
    return entry


def mapped_links_of(integration: Integration, record: Record) -> list[RecordLink]:
    """The record's links (either end) that this integration sends to Jira."""
    links = RecordLink.objects.filter(Q(source=record) | Q(target=record)).select_related(
        "source", "target"
    )
    return [link for link in links if _link_is_mapped(integration, link)]


def outbox_link_created(*, link: RecordLink) -> None:
    """Receiver of records.signals.record_link_created."""
    for integration in _enabled_integrations(link.workspace_id):
        if _from_this_jira(integration) or not _link_is_mapped(integration, link):
            continue
        link_entry(integration=integration, link=link)


def outbox_link_deleting(*, link: RecordLink) -> None:
    """Receiver of records.signals.record_link_deleting: the link still exists, so its
    mirrors are readable; the entry carries the Jira link id, which outlives the link."""
    for integration in _enabled_integrations(link.workspace_id):
        # A create not sent yet has nothing to undo in Jira.
        OutboxEntry.objects.filter(
            integration=integration,
            action=Action.CREATE_LINK,
            record_link=link,
            status__in=WAITING,
        ).update(
            status=Status.DISCARDED,
            last_error="The record link was deleted before it was sent.",
        )
        if _from_this_jira(integration):
            continue
        for mirror in IssueLinkMirror.objects.filter(integration=integration, record_link=link):
            entry = OutboxEntry.objects.create(
                integration=integration,
                action=Action.DELETE_LINK,
                record=link.source,
                payload={
                    "jira_link_id": mirror.jira_link_id,
                    "description": f"{link.source.reference} {link.outward_name.lower()} "
                    f"{link.target.reference}",
                },
                status=_initial_status(integration, explicit=False),
            )
            if entry.status == Status.PENDING:
                enqueue_outbox_entry(entry.id)


# -- what the user does ------------------------------------------------------------------


def _check_integration_for_record(integration: Integration, record: Record) -> RecordMapping:
    if integration.is_template or integration.workspace_id != record.workspace_id:
        raise ApplicationError(
            "This integration does not belong to the record's workspace.", field="integration"
        )
    if integration.state != Integration.State.ENABLED:
        raise ApplicationError(
            f"The integration '{integration.name}' is not enabled: enable it first.",
            field="integration",
        )
    mapping = _mapping_for(integration, record.kind)
    if mapping is None:
        raise ApplicationError(
            f"{kind_label(record.kind)}s are not mapped in '{integration.name}': add a row for "
            "them on the Mappings step first.",
            field="integration",
        )
    return mapping


@transaction.atomic
def record_send_to_jira(
    *, record: Record, integration: Integration, user: AbstractBaseUser | None = None
) -> OutboxEntry:
    """ "Send to Jira": a full send (everything mapped), even if nothing changed, and the
    record's mapped links not in Jira yet (each sends its other end first if needed)."""
    _check_integration_for_record(integration, record)
    entry = _send_record_entry(
        integration=integration, record=record, fields=[], explicit=True, user=user
    )
    for link in mapped_links_of(integration, record):
        link_entry(integration=integration, link=link, explicit=True)
    return entry


def _locked(entry: OutboxEntry) -> OutboxEntry:
    return OutboxEntry.objects.select_for_update().get(pk=entry.pk)


@transaction.atomic
def outbox_entry_retry(*, entry: OutboxEntry, user: AbstractBaseUser | None = None) -> OutboxEntry:
    """The log's Retry: a failed (or stuck pending) entry goes again, attempts from zero."""
    entry = _locked(entry)
    if entry.status not in (Status.FAILED, Status.PENDING):
        raise ApplicationError(
            "Only a failed or pending update can be retried; this one is "
            f"{entry.get_status_display().lower()}.",
            field="status",
        )
    entry.status = Status.PENDING
    entry.attempts = 0
    entry.next_attempt_at = None
    entry.last_error = ""
    entry.claimed_at = None
    entry.save(update_fields=["status", "attempts", "next_attempt_at", "last_error", "claimed_at"])
    sync_log(
        integration_id=entry.integration_id,
        level="info",
        action="retry",
        message=f"Retry requested{f' by {user.get_username()}' if user else ''}.",
        record_id=entry.record_id,
        outbox_entry=entry,
    )
    enqueue_outbox_entry(entry.id)
    return entry


@transaction.atomic
def outbox_entry_approve(
    *, entry: OutboxEntry, user: AbstractBaseUser | None = None
) -> OutboxEntry:
    entry = _locked(entry)
    if entry.status != Status.AWAITING_APPROVAL:
        raise ApplicationError(
            f"This update is {entry.get_status_display().lower()}, not awaiting approval.",
            field="status",
        )
    entry.status = Status.PENDING
    entry.save(update_fields=["status"])
    enqueue_outbox_entry(entry.id)
    return entry


@transaction.atomic
def outbox_entry_discard(
    *, entry: OutboxEntry, user: AbstractBaseUser | None = None
) -> OutboxEntry:
    entry = _locked(entry)
    if entry.status not in (Status.AWAITING_APPROVAL, Status.FAILED) and not (
        entry.status == Status.PENDING and entry.claimed_at is None
    ):
        raise ApplicationError(
            f"This update is {entry.get_status_display().lower()} and can no longer be discarded.",
            field="status",
        )
    entry.status = Status.DISCARDED
    entry.save(update_fields=["status"])
    sync_log(
        integration_id=entry.integration_id,
        level="info",
        action="discard",
        message=f"{entry.get_action_display()} discarded"
        f"{f' by {user.get_username()}' if user else ''}; Jira was not changed.",
        record_id=entry.record_id,
        outbox_entry=entry,
    )
    return entry


@transaction.atomic
def outbox_approve_all(*, integration: Integration, user: AbstractBaseUser | None = None) -> int:
    """Approve every update of the integration's "Integration updates" list."""
    ids = list(
        OutboxEntry.objects.select_for_update()
        .filter(integration=integration, status=Status.AWAITING_APPROVAL)
        .values_list("id", flat=True)
    )
    OutboxEntry.objects.filter(id__in=ids).update(status=Status.PENDING)
    for entry_id in ids:
        enqueue_outbox_entry(entry_id)
    return len(ids)


@transaction.atomic
def outbox_discard_all(*, integration: Integration, user: AbstractBaseUser | None = None) -> int:
    count = OutboxEntry.objects.filter(
        integration=integration, status=Status.AWAITING_APPROVAL
    ).update(status=Status.DISCARDED)
    if count:
        sync_log(
            integration_id=integration.id,
            level="info",
            action="discard",
            message=f"{count} update(s) discarded"
            f"{f' by {user.get_username()}' if user else ''}; Jira was not changed.",
        )
    return count
