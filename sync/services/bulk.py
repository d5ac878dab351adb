"""Send all: every record of the mapped kinds not yet in Jira, parents first, level by level.

Releases become versions (one call each); then initiatives, epics, features and requirements
go through bulk create, 50 issues a call, with their Linked-to fields pointing at parents
created in the levels before. No GET after a bulk create (its answer has id and key), and a
transition only for an issue whose status differs from its type's initial one.

Crash safety: every issue carries the marker label (see sender). ``job.summary`` holds the
phase while running; a run that finds it already set is a redelivery after a crash, and then
each chunk first searches Jira for its records' labels (versions: by name) and adopts them.
"""

from __future__ import annotations

import logging
import time

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.exceptions import ApplicationError
from integrations.models import Integration, RecordMapping
from integrations.providers.jira.errors import JiraError
from integrations.services.configuration import build_client
from records.kinds import RecordKind, kind_plural
from records.models import Record

from ..models import BulkSendJob, JiraLink, OutboxEntry
from .log import sync_log
from .sender import Refused, Sender, marker_label

logger = logging.getLogger(__name__)

LEVELS = (
    RecordKind.RELEASE,
    RecordKind.INITIATIVE,
    RecordKind.EPIC,
    RecordKind.FEATURE,
    RecordKind.REQUIREMENT,
)
CHUNK = 50
TRANSIENT_RETRIES = 3


def _candidates(integration: Integration, kinds: list[str]):
    return Record.objects.filter(workspace_id=integration.workspace_id, kind__in=kinds)


@transaction.atomic
def bulk_send_start(
    *, integration: Integration, user: AbstractBaseUser | None = None
) -> BulkSendJob:
    """Start "send all existing records"; the work runs in a worker (sync.bulk_send)."""
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
    sender_kinds = [m.record_kind for m in Sender(integration, None).mappings.values()]
    total = _candidates(integration, sender_kinds).count()
    job = BulkSendJob.objects.create(integration=integration, created_by=user, total=total)
    enqueue_bulk_send(job.id)
    return job


def _bump(job: BulkSendJob, *, sent: int = 0, failed: int = 0, skipped: int = 0, phase: str = ""):
    updates = {}
    if sent:
        updates["sent"] = F("sent") + sent
    if failed:
        updates["failed"] = F("failed") + failed
    if skipped:
        updates["skipped"] = F("skipped") + skipped
    if phase:
        updates["summary"] = phase
    if updates:
        BulkSendJob.objects.filter(pk=job.pk).update(**updates)


def _failed_entry(sender: Sender, record: Record, message: str) -> None:
    """A record that could not be sent: a failed outbox entry the user can Retry, and a log."""
    entry = OutboxEntry.objects.create(
        integration=sender.integration,
        action=OutboxEntry.Action.SEND_RECORD,
        record=record,
        payload={"fields": [], "bulk": True},
        status=OutboxEntry.Status.FAILED,
        last_error=message[:5000],
    )
    sync_log(
        integration_id=sender.integration.id,
        level="error",
        action="bulk_send",
        message=message,
        record_id=record.id,
        outbox_entry=entry,
    )


class _Run:
    def __init__(self, job: BulkSendJob, sender: Sender, recovering: bool):
        self.job = job
        self.sender = sender
        self.recovering = recovering
        self.counts: dict[str, int] = {}

    def unlinked(self, kind: str) -> list[Record]:
        linked = JiraLink.objects.filter(integration=self.sender.integration).values("record_id")
        qs = _candidates(self.sender.integration, [kind])
        skipped = qs.filter(id__in=linked).count()
        if skipped:
            _bump(self.job, skipped=skipped)
        return list(
            qs.exclude(id__in=linked)
            .select_related("initiative", "release", "epic", "feature")
            .prefetch_related("tags")
            .order_by("id")
        )

    def versions(self, records: list[Record], mapping: RecordMapping) -> None:
        existing = {}
        if self.recovering:
            versions = self.sender.client.get_project_versions(self.sender.project.key)
            existing = {v.get("name"): v for v in versions}
        for record in records:
            try:
                payload, warnings = self.sender.version_payload(
                    record, mapping, on_create=True, scope=None
                )
                payload.setdefault("name", record.name)
                version = existing.get(payload["name"]) or self._retrying(
                    lambda p=payload: self.sender.client.create_version(
                        project_id=self.sender.project_id(), **p
                    )
                )
                self.sender.store_link(record, JiraLink.JiraKind.VERSION, version["id"], "")
                self.sender.log_warnings(record, warnings, None, "")
                self._sent(record.kind)
            except (JiraError, Refused) as exc:
                self._failed(record, exc)

    def issues(self, records: list[Record], mapping: RecordMapping) -> None:
        for start in range(0, len(records), CHUNK):
            chunk = records[start : start + CHUNK]
            ready: list[tuple[Record, dict, object, list[str]]] = []
            for record in chunk:
                try:
                    fields, status, warnings = self.sender.issue_create_fields(record, mapping)
                    ready.append((record, fields, status, warnings))
                except (JiraError, Refused) as exc:
                    self._failed(record, exc)
            if self.recovering and ready:
                ready = self._adopt(ready)
            if not ready:
                continue
            try:
                result = self._retrying(
                    lambda r=ready: self.sender.client.bulk_create_issues([f for _, f, _, _ in r])
                )
            except JiraError as exc:
                for record, *_ in ready:
                    self._failed(record, exc)
                continue
            for index, (record, fields, status, warnings) in enumerate(ready):
                created = result.created.get(index)
                if created is None:
                    error = result.errors.get(index)
                    detail = "; ".join(
                        f"Jira refused {self.sender.field_name(k)} ({k}): {v}"
                        for k, v in (error.field_errors if error else {}).items()
                    ) or "; ".join(error.messages if error else ["no answer"])
                    self._failed(
                        record,
                        Refused(f"{record.reference}: {detail}. Fix it, then Retry from the log."),
                    )
                    continue
                try:
                    link = self.sender.store_link(
                        record, JiraLink.JiraKind.ISSUE, created["id"], created["key"]
                    )
                    if status is not None:
                        type_id = fields["issuetype"]["id"]
                        self.sender.transition(
                            link.jira_key,
                            type_id,
                            status,
                            warnings,
                            just_created=True,
                            cache_key=type_id,
                        )
                    self.sender.log_warnings(record, warnings, None, link.jira_key)
                    self._sent(record.kind)
                except (JiraError, Refused) as exc:
                    self._failed(record, exc)
            _bump(self.job, phase=f"Sending {kind_plural(mapping.record_kind).lower()}…")

    def _adopt(self, ready):
        labels = {marker_label(self.sender.integration.id, r.id): r for r, *_ in ready}
        quoted = ", ".join(f'"{label}"' for label in labels)
        jql = f'project = "{self.sender.project.key}" AND labels in ({quoted})'
        found = {}
        for issue in self.sender.client.search_jql(jql, fields=["labels"], max_results=100):
            for label in (issue.get("fields") or {}).get("labels") or []:
                if label in labels:
                    found[labels[label].id] = issue
        rest = []
        for item in ready:
            issue = found.get(item[0].id)
            if issue is None:
                rest.append(item)
                continue
            self.sender.store_link(item[0], JiraLink.JiraKind.ISSUE, issue["id"], issue["key"])
            self._sent(item[0].kind)
        return rest

    def _retrying(self, call):
        for attempt in range(TRANSIENT_RETRIES + 1):
            try:
                return call()
            except JiraError as exc:
                if not exc.transient or attempt == TRANSIENT_RETRIES:
                    raise
                time.sleep(min(exc.retry_after or 2**attempt, 30))
        raise AssertionError("unreachable")

    def _sent(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        _bump(self.job, sent=1)

    def _failed(self, record: Record, exc: Exception) -> None:
        message = self.sender.describe(exc, record) if isinstance(exc, JiraError) else str(exc)
        _failed_entry(self.sender, record, message)
        _bump(self.job, failed=1)


def bulk_send_run(*, job_id: int) -> None:
    """The worker's part of send all. Safe to run again after a crash (see module)."""
    job = BulkSendJob.objects.select_related("integration").filter(pk=job_id).first()
    if job is None or job.status != BulkSendJob.Status.RUNNING:
        return
    recovering = bool(job.summary)
    BulkSendJob.objects.filter(pk=job.pk).update(
        summary="Starting…" if not recovering else "Resuming after an interruption…"
    )
    integration = job.integration
    try:
        client = build_client(integration)
    except ApplicationError as exc:
        _finish(job, BulkSendJob.Status.FAILED, f"Send all could not start: {exc}")
        return
    sender = Sender(integration, client, send_parents=False)
    run = _Run(job, sender, recovering)
    try:
        for kind in LEVELS:
            mapping = sender.mappings.get(kind)
            if mapping is None:
                continue
            _bump(job, phase=f"Sending {kind_plural(kind).lower()}…")
            records = run.unlinked(kind)
            if mapping.target == RecordMapping.Target.VERSION:
                run.versions(records, mapping)
            else:
                run.issues(records, mapping)
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
    job.refresh_from_db()
    parts = [f"{n} {kind_plural(k).lower()}" for k, n in run.counts.items()]
    summary = (
        f"Sent {job.sent} record(s) to Jira"
        + (f" ({', '.join(parts)})" if parts else "")
        + f"; {job.failed} failed; {job.skipped} already in Jira were skipped."
    )
    if job.failed:
        summary += " Failed ones are in the sync log with the reason; fix them and Retry."
    _finish(job, BulkSendJob.Status.FINISHED, summary)


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
