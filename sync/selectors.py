"""Reads of the sync engine's state, for pages, the API and the wizard."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from integrations.models import Integration
from records.models import Record

from .models import ImportCandidate, InboundEvent, JiraLink, SyncLogEntry


def sync_log_list(
    integration: Integration,
    level: str | None = None,
    record: Record | None = None,
    q: str | None = None,
) -> QuerySet[SyncLogEntry]:
    """The integration's sync log, newest first; filtered by level, record and text."""
    qs = SyncLogEntry.objects.filter(integration=integration).select_related("record")
    if level:
        qs = qs.filter(level=level)
    if record is not None:
        qs = qs.filter(record=record)
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
