"""Send all: every record of the mapped kinds not yet in Jira, and every mapped record link not
yet mirrored, through the outbox like any other change.

``bulk_send_start`` writes the entries (one per record, one per link, tagged with the job);
``bulk_send_run`` (the sync.bulk_send task) delivers them level by level: releases (versions,
one call each), then initiatives, epics, features and requirements, each level's creates
batched into bulk creates of up to 50 (sync.services.creates, the one crash-safe create),
then the issue links, once both ends exist. Every entry ends the way any entry ends
(sender.settle): sent with its snapshot, retried later by the one retry policy, waiting, or
failed with what to do. A run that stops half-way is started again: records already linked
are skipped, and an entry whose create was attempted looks in Jira before it creates.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from core.exceptions import ApplicationError
from integrations.models import Integration, RecordMapping
from integrations.services.configuration import build_client
from records.kinds import RecordKind, kind_plural
from records.models import Record, RecordLink

from ..models import BulkSendJob, JiraLink, OutboxEntry
from .creates import attempted_before
from .log import sync_log
from .outbox import _link_is_mapped, link_entry
from .sender import Refused, Sender, deliver, settle

logger = logging.getLogger(__name__)

LEVELS = (
    RecordKind.RELEASE,
    RecordKind.INITIATIVE,
    RecordKind.EPIC,
    RecordKind.FEATURE,
    RecordKind.REQUIREMENT,
)
CHUNK = 50
Status = OutboxEntry.Status
Action = OutboxEntry.Action


def _candidates(integration: Integration, kinds: list[str]):
    return Record.objects.filter(workspace_id=integration.workspace_id, kind__in=kinds)


@transaction.atomic
def bulk_send_start(
    *, integration: Integration, user: AbstractBaseUser | None = None
) -> BulkSendJob:
    """Start "send all existing records": write the entries; a worker delivers them."""
    from ..queue import enqueue_bulk_send

    if integration.is_template or integration.state != Integration.State.ENABLED:
        raise ApplicationError(
            "Enable the integration first: only an enabled workspace integration sends records.",
            field="integration",
        )
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    running = BulkSendJob.objects.filter(
        integration=integration, status=BulkSendJob.Status.RUNNING
    ).first()
    if running is not None:
        raise ApplicationError(
            "Send all is already running for this integration: wait for it to finish.",
            field="integration",
            code="already_running",
        )
    job = bulk_send_job_write(integration=integration, user=user)
    enqueue_bulk_send(job.id)
    return job


def bulk_send_job_write(
    *, integration: Integration, user: AbstractBaseUser | None = None
) -> BulkSendJob:
    """The run and its entries (no checks, nothing handed to a worker): also what the
    preview (sync.services.preview) writes, in a transaction it rolls back."""
    kinds = [m.record_kind for m in Sender(integration, None).mappings.values()]
    candidates = _candidates(integration, kinds)
    linked = JiraLink.objects.filter(integration=integration).values("record_id")
    unlinked = list(candidates.exclude(id__in=linked).values_list("id", flat=True))
    job = BulkSendJob.objects.create(
        integration=integration,
        created_by=user,
        total=candidates.count(),
        skipped=candidates.filter(id__in=linked).count(),
    )
    _record_entries(integration, job, unlinked, user)
    for link in RecordLink.objects.filter(workspace_id=integration.workspace_id).select_related(
        "source", "target"
    ):
        if _link_is_mapped(integration, link):
            link_entry(integration=integration, link=link, job=job, enqueue=False)
    return job


def _record_entries(integration, job, record_ids: list[int], user) -> None:
    """One full-send entry per record: a waiting one joins the run, the others are new."""
    waiting = OutboxEntry.objects.filter(
        integration=integration,
        action=Action.SEND_RECORD,
        record_id__in=record_ids,
        status__in=(Status.PENDING, Status.AWAITING_APPROVAL),
        claimed_at__isnull=True,
    )
    joined = set(waiting.values_list("record_id", flat=True))
    waiting.update(job=job, status=Status.PENDING, payload={"fields": []})
    OutboxEntry.objects.bulk_create(
        [
            OutboxEntry(
                integration=integration,
                action=Action.SEND_RECORD,
                record_id=record_id,
                payload={"fields": []},
                status=Status.PENDING,
                created_by=user,
                job=job,
            )
            for record_id in record_ids
            if record_id not in joined
        ],
        batch_size=1000,
    )


def _claim(job: BulkSendJob, entries) -> list[OutboxEntry]:
    """Claim the run's pending entries (state in columns: the claim is ``claimed_at``)."""
    with transaction.atomic():
        ids = list(
            entries.select_for_update(skip_locked=True, of=("self",))
            .filter(job=job, status=Status.PENDING, claimed_at__isnull=True)
            .values_list("id", flat=True)
        )
        OutboxEntry.objects.filter(id__in=ids).update(claimed_at=timezone.now())
    return list(
        OutboxEntry.objects.filter(id__in=ids)
        .select_related("record", "record__initiative", "record__release", "record__epic")
        .select_related("record__feature", "integration")
        .prefetch_related("record__tags")
        .order_by("record_id", "id")
    )


def _phase(job: BulkSendJob, text: str) -> None:
    BulkSendJob.objects.filter(pk=job.pk).update(summary=text)


def _count(job: BulkSendJob, outcome: str) -> None:
    if outcome == "sent":
        BulkSendJob.objects.filter(pk=job.pk).update(sent=F("sent") + 1)
    elif outcome == "failed":
        BulkSendJob.objects.filter(pk=job.pk).update(failed=F("failed") + 1)


def _issue_chunk(sender: Sender, mapping: RecordMapping, chunk: list[OutboxEntry], job) -> None:
    """One bulk create for up to 50 records of one level, through the crash-safe create."""
    ready: list[tuple[OutboxEntry, dict, object, list[str]]] = []
    for entry in chunk:
        record = entry.record
        if record is None or sender.link_of(record) is not None:
            _count(job, settle(sender, entry, lambda e=entry: deliver(sender, e)))
            continue
        try:
            fields, status, warnings = sender.issue_create_fields(record, mapping)
        except Exception as exc:  # settle words it like any other failure
            _count(job, settle(sender, entry, lambda exc=exc: _raise(exc)))
            continue
        ready.append((entry, fields, status, warnings))
    if not ready:
        return
    records = [entry.record for entry, *_ in ready]
    try:
        outcome = sender.creator.create_issues(
            [(entry.record, fields) for entry, fields, _, _ in ready],
            search_first=attempted_before(records, sender.integration.id),
        )
    except Exception as exc:  # the search itself failed: every entry retries later
        for entry, *_ in ready:
            _count(job, settle(sender, entry, lambda exc=exc: _raise(exc)))
        return
    for entry, fields, status, warnings in ready:
        _count(
            job,
            settle(
                sender,
                entry,
                lambda e=entry, f=fields, s=status, w=warnings: sender.created(
                    e, e.record, mapping, f, s, w, outcome
                ),
            ),
        )


def _raise(exc: Exception):
    raise exc


def bulk_send_run(*, job_id: int) -> None:
    """The worker's part of send all. Safe to run again after a crash (see module)."""
    job = BulkSendJob.objects.select_related("integration").filter(pk=job_id).first()
    if job is None or job.status != BulkSendJob.Status.RUNNING:
        return
    integration = job.integration
    try:
        client = build_client(integration)
    except ApplicationError as exc:
        _finish(job, BulkSendJob.Status.FAILED, f"Send all could not start: {exc}")
        return
    sender = Sender(integration, client)
    try:
        counts = bulk_send_deliver(job, sender)
    except Exception as exc:
        logger.exception("send all %s stopped", job.pk)
        _finish(
            job,
            BulkSendJob.Status.FAILED,
            f"Send all stopped: {exc}. Start it again to "
            "send the rest; records already sent are skipped.",
        )
        return
    finally:
        client.close()
    _finish(job, BulkSendJob.Status.FINISHED, _summary(job, counts))


def bulk_send_deliver(job: BulkSendJob, sender: Sender) -> dict[str, int]:
    """Deliver the run's entries level by level (see module); records sent per kind."""
    counts: dict[str, int] = {}
    for kind in LEVELS:
        mapping = sender.mappings.get(kind)
        if mapping is None:
            continue
        _phase(job, f"Sending {kind_plural(kind).lower()}…")
        entries = _claim(
            job, OutboxEntry.objects.filter(action=Action.SEND_RECORD, record__kind=kind)
        )
        if mapping.target == RecordMapping.Target.VERSION:
            for entry in entries:
                _count(job, settle(sender, entry, lambda e=entry: deliver(sender, e)))
        else:
            for start in range(0, len(entries), CHUNK):
                _issue_chunk(sender, mapping, entries[start : start + CHUNK], job)
        done = OutboxEntry.objects.filter(job=job, record__kind=kind)
        counts[kind] = done.filter(status=Status.SENT).count()
        for record_id, error in done.filter(status=Status.FAILED).values_list(
            "record_id", "last_error"
        ):
            sender.refused[record_id] = error
    _phase(job, "Linking issues…")
    for entry in _claim(job, OutboxEntry.objects.filter(action=Action.CREATE_LINK)):
        settle(sender, entry, lambda e=entry: deliver(sender, e))
    return counts


def _summary(job: BulkSendJob, counts: dict[str, int]) -> str:
    job.refresh_from_db()
    parts = [f"{n} {kind_plural(k).lower()}" for k, n in counts.items() if n]
    links = OutboxEntry.objects.filter(job=job, action=Action.CREATE_LINK).aggregate(
        sent=Count("id", filter=Q(status=Status.SENT)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
        waiting=Count("id", filter=Q(status=Status.PENDING)),
    )
    retrying = OutboxEntry.objects.filter(
        job=job, action=Action.SEND_RECORD, status=Status.PENDING
    ).count()
    summary = (
        f"Sent {job.sent} record(s) to Jira"
        + (f" ({', '.join(parts)})" if parts else "")
        + f"; {job.failed} failed; {job.skipped} already in Jira were skipped."
    )
    if links["sent"] or links["failed"] or links["waiting"]:
        summary += f" Issue links: {links['sent']} sent"
        if links["failed"]:
            summary += f", {links['failed']} failed"
        if links["waiting"]:
            summary += f", {links['waiting']} waiting for their other end or a retry"
        summary += "."
    if retrying:
        summary += f" {retrying} record(s) will be retried automatically (Jira did not answer)."
    if job.failed:
        summary += " Failed ones are in the sync log with the reason; fix them and Retry."
    return summary


def _finish(job: BulkSendJob, status: str, summary: str) -> None:
    BulkSendJob.objects.filter(pk=job.pk).update(
        status=status, summary=summary, finished_at=timezone.now()
    )
    sync_log(
        integration_id=job.integration_id,
        level="info" if status == BulkSendJob.Status.FINISHED else "error",
        action="bulk_send",
        message=summary,
    )


__all__ = ["Refused", "bulk_send_run", "bulk_send_start"]
