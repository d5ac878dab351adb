"""Reads of the sync engine's state, for pages, the API and the wizard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from integrations.extensions import SyncSummary
from integrations.models import Integration
from records.models import Record

from .models import (
    BulkSendJob,
    ImportCandidate,
    InboundEvent,
    JiraLink,
    OutboxEntry,
    SyncLogEntry,
)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def sync_log_list(
    integration: Integration,
    level: str | None = None,
    record: Record | None = None,
    q: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[SyncLogEntry]:
    """The integration's sync log, newest first; filtered by level, record, text and the
    days it was written (both ends included, in the site's time zone)."""
    qs = SyncLogEntry.objects.filter(integration=integration).select_related(
        "record", "outbox_entry", "inbound_event"
    )
    if level:
        qs = qs.filter(level=level)
    if record is not None:
        qs = qs.filter(record=record)
    if date_from is not None:
        qs = qs.filter(created_at__gte=_day_start(date_from))
    if date_to is not None:
        qs = qs.filter(created_at__lt=_day_start(date_to + timedelta(days=1)))
    if q and q.strip():
        text = q.strip()
        qs = qs.filter(
            Q(message__icontains=text)
            | Q(jira_key__icontains=text)
            | Q(record__reference__icontains=text)
        )
    return qs.order_by("-created_at", "-id")


def import_candidate_list(
    integration: Integration, status: str | None = ImportCandidate.Status.PENDING
) -> QuerySet[ImportCandidate]:
    """Import candidates of one status (None: all), newest first."""
    qs = ImportCandidate.objects.filter(integration=integration).select_related("record")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def jira_link_for_record(record: Record, integration: Integration | None = None) -> JiraLink | None:
    """The Jira issue or version a record is linked to (in one integration, if given)."""
    qs = JiraLink.objects.filter(record=record).select_related("integration")
    if integration is not None:
        qs = qs.filter(integration=integration)
    return qs.order_by("id").first()


def last_inbound_event(integration: Integration) -> InboundEvent | None:
    """The newest delivery Jira made to this integration's webhook (the wizard's "Check
    webhook"): None when Jira has sent nothing yet."""
    return (
        InboundEvent.objects.filter(integration=integration).order_by("-received_at", "-id").first()
    )


def bulk_send_job_latest(integration: Integration) -> BulkSendJob | None:
    """The last "Send all" of the integration, for the Enable step's progress bar."""
    return BulkSendJob.objects.filter(integration=integration).order_by("-started_at").first()


def bulk_send_job_get(integration: Integration, job_id: int) -> BulkSendJob | None:
    return BulkSendJob.objects.filter(integration=integration, pk=job_id).first()


# -- what the user sees of the sync (pages and the API) ---------------------------------------


def retryable_target(entry: SyncLogEntry) -> OutboxEntry | InboundEvent | None:
    """What the log entry's Retry would send again: its outbox entry while that has failed,
    or its Jira event while that has failed; None when there is nothing to retry."""
    outbox = entry.outbox_entry
    if outbox is not None and outbox.status == OutboxEntry.Status.FAILED:
        return outbox
    event = entry.inbound_event
    if event is not None and event.status == InboundEvent.Status.FAILED:
        return event
    return None


def error_counts_for_integrations(ids) -> dict[int, int]:
    """Integration id -> errors that need someone's attention: outgoing updates and Jira
    events that failed and were neither retried nor discarded. Every id asked is a key."""
    ids = [int(i) for i in ids]
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    for row in (
        OutboxEntry.objects.filter(integration_id__in=ids, status=OutboxEntry.Status.FAILED)
        .values("integration_id")
        .annotate(n=Count("id"))
    ):
        counts[row["integration_id"]] += row["n"]
    for row in (
        InboundEvent.objects.filter(integration_id__in=ids, status=InboundEvent.Status.FAILED)
        .values("integration_id")
        .annotate(n=Count("id"))
    ):
        counts[row["integration_id"]] += row["n"]
    return counts


def outbox_awaiting_approval(integration: Integration) -> QuerySet[OutboxEntry]:
    """The "Integration updates" list: outgoing changes held for approval, oldest first."""
    return (
        OutboxEntry.objects.filter(
            integration=integration, status=OutboxEntry.Status.AWAITING_APPROVAL
        )
        .select_related("record", "record_link__target", "created_by")
        .order_by("created_at", "id")
    )


def enabled_integrations_for_workspace(workspace_id: int) -> list[Integration]:
    """The workspace integrations that sync (the record page shows one Jira panel each)."""
    return list(
        Integration.objects.filter(
            workspace_id=workspace_id, is_template=False, state=Integration.State.ENABLED
        ).order_by("name", "id")
    )


@dataclass
class RecordJiraStatus:
    """One integration's view of one record: its Jira issue, last sync and last error."""

    integration: Integration
    link: JiraLink | None
    waiting: OutboxEntry | None  # queued or being sent
    awaiting_approval: OutboxEntry | None
    failed: OutboxEntry | None  # the newest failed update, while not retried or discarded

    @property
    def jira_key(self) -> str:
        return self.link.jira_key if self.link else ""

    @property
    def jira_url(self) -> str:
        return self.link.jira_url if self.link else ""

    @property
    def last_synced_at(self):
        return self.link.last_synced_at if self.link else None

    @property
    def last_error(self) -> str:
        if self.failed is not None:
            return self.failed.last_error
        return self.link.last_error if self.link else ""

    @property
    def state(self) -> str:
        """One word for the panel and the API: failed, awaiting_approval, queued, linked,
        not_linked."""
        if self.failed is not None:
            return "failed"
        if self.awaiting_approval is not None:
            return "awaiting_approval"
        if self.waiting is not None:
            return "queued"
        return "linked" if self.link is not None else "not_linked"


def record_jira_statuses(
    record: Record, integrations: list[Integration] | None = None
) -> list[RecordJiraStatus]:
    """Per enabled integration of the record's workspace (or the ones given, plus any the
    record is linked in), the record's Jira state. A fixed number of queries."""
    if integrations is None:
        integrations = enabled_integrations_for_workspace(record.workspace_id)
    links = {
        link.integration_id: link
        for link in JiraLink.objects.filter(record=record).select_related("integration")
    }
    known = {i.pk for i in integrations}
    integrations = list(integrations) + [
        link.integration for iid, link in links.items() if iid not in known
    ]
    entries = OutboxEntry.objects.filter(
        record=record,
        action=OutboxEntry.Action.SEND_RECORD,
        status__in=(
            OutboxEntry.Status.PENDING,
            OutboxEntry.Status.AWAITING_APPROVAL,
            OutboxEntry.Status.FAILED,
        ),
    ).order_by("-id")
    newest: dict[tuple[int, str], OutboxEntry] = {}
    for entry in entries:
        newest.setdefault((entry.integration_id, entry.status), entry)
    last_sent = dict(
        OutboxEntry.objects.filter(
            record=record, action=OutboxEntry.Action.SEND_RECORD, status=OutboxEntry.Status.SENT
        )
        .values("integration_id")
        .annotate(m=Max("id"))
        .values_list("integration_id", "m")
    )
    statuses = []
    for integration in integrations:
        failed = newest.get((integration.pk, OutboxEntry.Status.FAILED))
        waiting = newest.get((integration.pk, OutboxEntry.Status.PENDING))
        later = max(waiting.id if waiting else 0, last_sent.get(integration.pk) or 0)
        if failed is not None and later > failed.id:
            failed = None  # a later send went (or is on its way): the failure is history
        statuses.append(
            RecordJiraStatus(
                integration=integration,
                link=links.get(integration.pk),
                waiting=waiting,
                awaiting_approval=newest.get(
                    (integration.pk, OutboxEntry.Status.AWAITING_APPROVAL)
                ),
                failed=failed,
            )
        )
    return statuses


def bulk_send_job_get_for_user(*, user, job_id) -> BulkSendJob | None:
    from integrations.selectors import integration_list_for_user

    try:
        job_id = int(job_id)
    except (TypeError, ValueError):
        return None
    if not 0 < job_id < 2**63:
        return None
    return (
        BulkSendJob.objects.filter(
            pk=job_id, integration__in=integration_list_for_user(user=user).values("pk")
        )
        .select_related("integration")
        .first()
    )


def integration_sync_summaries(ids) -> dict[int, SyncSummary]:
    """For the integration lists: last sync activity, linked records and errors needing
    attention, for many integrations in a fixed number of queries."""
    ids = [int(i) for i in ids]
    if not ids:
        return {}
    last_logged = dict(
        SyncLogEntry.objects.filter(integration_id__in=ids)
        .values("integration_id")
        .annotate(m=Max("created_at"))
        .values_list("integration_id", "m")
    )
    links = {
        row["integration_id"]: row
        for row in JiraLink.objects.filter(integration_id__in=ids)
        .values("integration_id")
        .annotate(n=Count("id"), m=Max("last_synced_at"))
    }
    errors = error_counts_for_integrations(ids)
    summaries = {}
    for integration_id in ids:
        link_row = links.get(integration_id, {})
        times = [t for t in (last_logged.get(integration_id), link_row.get("m")) if t]
        summaries[integration_id] = SyncSummary(
            last_sync=max(times) if times else None,
            linked_records=link_row.get("n", 0),
            errors=errors[integration_id],
        )
    return summaries
