"""Import candidates: Jira issues (and versions) created under an integrated parent wait here
for a user to accept or reject them (or are imported at once with ``auto_import``).

Accepting creates the record through ``records.services.record_create`` inside
``change_origin("jira", ...)`` (so it is not sent back to Jira), with fields by the row's field
mappings and parents by its Linked to, and links it to the issue. A requirement cannot exist
without its feature: a sub-task whose parent is not here yet brings that parent first (its
pending candidate, else the issue fetched from Jira).

Version candidates carry ``jira_id = "version:<id>"`` and ``issue = {"version": {...}}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from integrations.models import Integration, RecordMapping
from integrations.providers.jira.errors import JiraError, JiraNotFound
from integrations.selectors import record_mapping_for_kind
from integrations.transform import jira_to_record_changes
from records.kinds import RecordKind, kind_label
from records.models import Record
from records.services import record_create
from records.signals import change_origin

from ..models import ImportCandidate, InboundEvent, JiraLink, SyncLogEntry
from .handlers.common import (
    JiraSession,
    as_dict,
    browse_url,
    issue_fields,
    issue_label,
    mapping_for_issue_type,
    resolve_parents,
    version_candidate_id,
)
from .log import sync_log

logger = logging.getLogger(__name__)

MAX_PARENT_DEPTH = 3
# Local fields a record type may be created with (record_create's keywords).
_CREATE_FIELDS = (
    "description",
    "status",
    "assignee",
    "tags",
    "start_date",
    "due_date",
    "release_date",
    "estimate_minutes",
    "story_points",
)


def _version_payload(candidate: ImportCandidate) -> dict | None:
    version = as_dict(candidate.issue).get("version")
    return version if isinstance(version, dict) else None


def candidate_for_issue(
    *,
    integration: Integration,
    issue: dict,
    record_kind: str,
    where: str,
    event: InboundEvent | None = None,
) -> tuple[ImportCandidate, bool]:
    """The pending candidate for a Jira issue, created or refreshed (a later delivery about
    the same issue updates the snapshot). Returns (candidate, created)."""
    fields = issue_fields(issue)
    key = issue_label(issue)
    candidate, created = ImportCandidate.objects.get_or_create(
        integration=integration,
        jira_id=str(issue.get("id")),
        defaults={
            "jira_key": str(issue.get("key") or "")[:40],
            "summary": str(fields.get("summary") or key)[:255],
            "record_kind": record_kind,
            "issue": issue,
        },
    )
    if created:
        issue_type = as_dict(fields.get("issuetype")).get("name") or "issue"
        sync_log(
            integration_id=integration.id,
            level=SyncLogEntry.Level.INFO,
            action="import_candidate",
            message=(
                f"{key} ({issue_type}) is in Jira under {where}: it waits in Import candidates "
                f"to become a new {kind_label(record_kind).lower()} here."
            ),
            jira_key=candidate.jira_key,
            inbound_event=event,
        )
    elif candidate.status == ImportCandidate.Status.PENDING:
        candidate.issue = issue
        candidate.summary = str(fields.get("summary") or candidate.summary)[:255]
        candidate.jira_key = str(issue.get("key") or candidate.jira_key)[:40]
        candidate.record_kind = record_kind
        candidate.save(update_fields=["issue", "summary", "jira_key", "record_kind"])
    return candidate, created


def candidate_for_version(
    *, integration: Integration, version: dict, event: InboundEvent | None = None
) -> tuple[ImportCandidate, bool]:
    name = str(version.get("name") or version.get("id"))
    candidate, created = ImportCandidate.objects.get_or_create(
        integration=integration,
        jira_id=version_candidate_id(version.get("id")),
        defaults={
            "jira_key": "",
            "summary": name[:255],
            "record_kind": RecordKind.RELEASE,
            "issue": {"version": version},
        },
    )
    if created:
        sync_log(
            integration_id=integration.id,
            level=SyncLogEntry.Level.INFO,
            action="import_candidate",
            message=(
                f"Jira version '{name}' was created in the project: it waits in Import "
                "candidates to become a new release here."
            ),
            inbound_event=event,
        )
    elif candidate.status == ImportCandidate.Status.PENDING:
        candidate.issue = {"version": version}
        candidate.summary = name[:255]
        candidate.save(update_fields=["issue", "summary"])
    return candidate, created


# --------------------------------------------------------------------------- importing


@dataclass
class _Importer:
    integration: Integration
    user: AbstractBaseUser | None
    jira: JiraSession
    event: InboundEvent | None = None
    imported: list[Record] = field(default_factory=list)

    def _log(self, level: str, message: str, *, record: Record | None = None, key: str = ""):
        sync_log(
            integration_id=self.integration.id,
            level=level,
            action="import",
            message=message,
            record_id=record.pk if record else None,
            jira_key=key,
            inbound_event=self.event,
        )

    def _mark_accepted(self, jira_id: str, record: Record) -> None:
        ImportCandidate.objects.filter(
            integration=self.integration,
            jira_id=jira_id,
            status=ImportCandidate.Status.PENDING,
        ).update(
            status=ImportCandidate.Status.ACCEPTED,
            record=record,
            decided_by=self.user,
            decided_at=timezone.now(),
        )

    def _create_kwargs(self, changes: dict[str, Any], kind: str) -> dict[str, Any]:
        kwargs = {k: v for k, v in changes.items() if k in _CREATE_FIELDS}
        if kind != RecordKind.RELEASE:
            kwargs.pop("release_date", None)
        if kwargs.get("tags") is None:
            kwargs.pop("tags", None)
        return kwargs

    def issue(self, issue: dict, *, kind: str, depth: int = 0) -> Record:
        jira_id = str(issue.get("id"))
        key = str(issue.get("key") or "")
        existing = JiraLink.objects.filter(
            integration=self.integration, jira_kind=JiraLink.JiraKind.ISSUE, jira_id=jira_id
        ).first()
        if existing is not None:  # already here (an echo, or imported with its child)
            self._mark_accepted(jira_id, existing.record)
            return existing.record
        mapping = record_mapping_for_kind(self.integration, kind)
        if mapping is None or mapping.target != RecordMapping.Target.ISSUE_TYPE:
            raise ApplicationError(
                f"{kind_label(kind)}s are no longer mapped to a Jira issue type, so {key} cannot "
                "be imported: add the row back in the integration's mappings.",
                field="record_kind",
            )
        workspace = self.integration.workspace
        fields = issue_fields(issue)
        result = jira_to_record_changes(fields, mapping.field_mappings.all(), workspace=workspace)
        parents = resolve_parents(
            self.integration, mapping, fields, changed=None, who=key or f"issue {jira_id}"
        )
        if kind == RecordKind.REQUIREMENT and parents.changes.get(RecordKind.FEATURE) is None:
            feature = self._bring_parent(parents, key=key, depth=depth)
            if feature is None:
                raise ApplicationError(
                    f"{key} is a sub-task, and a requirement cannot exist without its feature: "
                    "its parent issue could not be imported as a feature. Check that the "
                    "parent's issue type is mapped to features, then accept again.",
                    field="feature",
                )
            parents.changes[RecordKind.FEATURE] = feature
            parents.warnings = [w for w in parents.warnings if "not linked here" not in w]
        name = result.changes.get("name") or str(fields.get("summary") or key or jira_id)
        record = record_create(
            workspace=workspace,
            kind=kind,
            name=name,
            created_by=self.user,
            **self._create_kwargs(result.changes, kind),
            **{k: v for k, v in parents.changes.items() if v is not None},
        )
        JiraLink.objects.create(
            integration=self.integration,
            record=record,
            jira_kind=JiraLink.JiraKind.ISSUE,
            jira_id=jira_id,
            jira_key=key[:40],
            jira_url=browse_url(self.integration, key),
            last_synced_at=timezone.now(),
        )
        self._mark_accepted(jira_id, record)
        for warning in result.warnings + parents.warnings:
            self._log(SyncLogEntry.Level.WARNING, f"{key}: {warning}", record=record, key=key)
        under = [p.reference for p in parents.changes.values() if p is not None]
        self._log(
            SyncLogEntry.Level.INFO,
            f"Imported {key} from Jira as {record.reference} ({kind_label(kind).lower()})"
            + (f" under {', '.join(under)}." if under else "."),
            record=record,
            key=key,
        )
        self.imported.append(record)
        return record

    def _bring_parent(self, parents, *, key: str, depth: int) -> Record | None:
        """The feature of a sub-task being imported: its pending candidate, else the parent
        issue fetched from Jira, imported first."""
        ref = parents.unlinked_parent
        if ref is None or depth >= MAX_PARENT_DEPTH:
            return None
        pending = ImportCandidate.objects.filter(
            integration=self.integration, status=ImportCandidate.Status.PENDING
        )
        candidate = (pending.filter(jira_id=ref.id).first() if ref.id else None) or (
            pending.filter(jira_key=ref.key).first() if ref.key else None
        )
        if candidate is not None:
            parent_issue = candidate.issue
        else:
            # May raise a transient JiraError: the caller retries with backoff.
            parent_issue = self.jira.client().get_issue(ref.id or ref.key)
        parent_mapping = mapping_for_issue_type(
            self.integration, issue_fields(parent_issue).get("issuetype")
        )
        if parent_mapping is None or parent_mapping.record_kind != RecordKind.FEATURE:
            return None
        self._log(
            SyncLogEntry.Level.INFO,
            f"{key}'s parent {issue_label(parent_issue)} is not here yet: importing it first "
            "as its feature.",
            key=key,
        )
        return self.issue(parent_issue, kind=RecordKind.FEATURE, depth=depth + 1)

    def version(self, version: dict) -> Record:
        version_id = str(version.get("id"))
        existing = JiraLink.objects.filter(
            integration=self.integration,
            jira_kind=JiraLink.JiraKind.VERSION,
            jira_id=version_id,
        ).first()
        if existing is not None:
            self._mark_accepted(version_candidate_id(version_id), existing.record)
            return existing.record
        mapping = record_mapping_for_kind(self.integration, RecordKind.RELEASE)
        if mapping is None or mapping.target != RecordMapping.Target.VERSION:
            raise ApplicationError(
                "Releases are no longer mapped to Jira versions, so this version cannot be "
                "imported: map releases to Jira versions in the integration's mappings.",
                field="record_kind",
            )
        values = dict(version)
        result = jira_to_record_changes(
            values,
            mapping.field_mappings.all(),
            workspace=self.integration.workspace,
            changed_field_ids=set(values),
        )
        name = result.changes.get("name") or str(version.get("name") or version_id)
        record = record_create(
            workspace=self.integration.workspace,
            kind=RecordKind.RELEASE,
            name=name,
            created_by=self.user,
            **self._create_kwargs(result.changes, RecordKind.RELEASE),
        )
        JiraLink.objects.create(
            integration=self.integration,
            record=record,
            jira_kind=JiraLink.JiraKind.VERSION,
            jira_id=version_id,
            last_synced_at=timezone.now(),
        )
        self._mark_accepted(version_candidate_id(version_id), record)
        for warning in result.warnings:
            self._log(SyncLogEntry.Level.WARNING, f"Version '{name}': {warning}", record=record)
        self._log(
            SyncLogEntry.Level.INFO,
            f"Imported Jira version '{name}' as {record.reference}.",
            record=record,
        )
        return record


def accept_candidate(
    *,
    candidate: ImportCandidate,
    user: AbstractBaseUser | None,
    jira: JiraSession,
    event: InboundEvent | None = None,
) -> Record:
    """Import one candidate. Jira errors propagate (the inbound processor retries transient
    ones); callers outside a worker use ``import_candidate_accept``. A user's accept (no
    ``event``: not the delivery that just described it) first checks that the issue or
    version still exists in Jira."""
    if event is None and candidate.status == ImportCandidate.Status.PENDING:
        _check_still_in_jira(candidate, jira)
    with transaction.atomic():
        candidate = ImportCandidate.objects.select_for_update().get(pk=candidate.pk)
        if candidate.status == ImportCandidate.Status.ACCEPTED and candidate.record_id:
            return candidate.record
        if candidate.status == ImportCandidate.Status.REJECTED:
            raise ApplicationError(
                f"{candidate.jira_key or candidate.summary} was rejected; it cannot be accepted.",
                field="status",
            )
        integration = candidate.integration
        importer = _Importer(integration=integration, user=user, jira=jira, event=event)
        with change_origin("jira", integration.id):
            version = _version_payload(candidate)
            if version is not None:
                record = importer.version(version)
            else:
                record = importer.issue(candidate.issue, kind=candidate.record_kind)
        candidate.refresh_from_db()
        if candidate.status == ImportCandidate.Status.PENDING:
            candidate.status = ImportCandidate.Status.ACCEPTED
            candidate.record = record
            candidate.decided_by = user
            candidate.decided_at = timezone.now()
            candidate.save()
        return record


def _check_still_in_jira(candidate: ImportCandidate, jira: JiraSession) -> None:
    """A candidate whose issue or version is gone from Jira (deleted, or merged into another
    version, with the webhook missed) is withdrawn instead of imported."""
    version = _version_payload(candidate)
    try:
        if version is not None:
            jira.client().get_version(str(version.get("id")))
        else:
            jira.client().get_issue(candidate.jira_id, fields=["summary"])
    except JiraNotFound:
        what = (
            f"Jira version '{version.get('name') or version.get('id')}'"
            if version is not None
            else (candidate.jira_key or candidate.summary)
        )
        gone = "deleted or merged" if version is not None else "deleted"
        with transaction.atomic():
            ImportCandidate.objects.filter(
                pk=candidate.pk, status=ImportCandidate.Status.PENDING
            ).delete()
            sync_log(
                integration_id=candidate.integration_id,
                level="warning",
                action="import_candidate",
                message=f"{what} no longer exists in Jira ({gone}); its import candidate was "
                "withdrawn and nothing was imported.",
                jira_key=candidate.jira_key if version is None else "",
            )
        raise ApplicationError(
            f"{what} no longer exists in Jira ({gone}), so it cannot be imported; the "
            "candidate was withdrawn.",
            field="candidate",
            code="gone_from_jira",
        ) from None


def _jira_failure(candidate: ImportCandidate, exc: JiraError) -> ApplicationError:
    what = candidate.jira_key or candidate.summary
    hint = " Try again in a minute." if exc.transient else ""
    return ApplicationError(
        f"Could not import {what}: {exc.user_message}{hint}", field="jira", code="jira_error"
    )


def import_candidate_accept(*, candidate: ImportCandidate, user: AbstractBaseUser | None) -> Record:
    """Accept: the record is created here (with its feature first for a sub-task) and linked
    to the Jira issue or version. Accepting twice returns the same record."""
    jira = JiraSession(candidate.integration)
    try:
        return accept_candidate(candidate=candidate, user=user, jira=jira)
    except JiraError as exc:
        raise _jira_failure(candidate, exc) from None
    finally:
        jira.close()


@transaction.atomic
def import_candidate_reject(
    *, candidate: ImportCandidate, user: AbstractBaseUser | None
) -> ImportCandidate:
    candidate = ImportCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status == ImportCandidate.Status.ACCEPTED:
        raise ApplicationError(
            f"{candidate.jira_key or candidate.summary} was already imported as "
            f"{candidate.record.reference if candidate.record else 'a record'}; delete that "
            "record instead.",
            field="status",
        )
    if candidate.status == ImportCandidate.Status.PENDING:
        candidate.status = ImportCandidate.Status.REJECTED
        candidate.decided_by = user
        candidate.decided_at = timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
        sync_log(
            integration_id=candidate.integration_id,
            level=SyncLogEntry.Level.INFO,
            action="import_rejected",
            message=f"{candidate.jira_key or candidate.summary} will not be imported (rejected).",
            jira_key=candidate.jira_key,
        )
    return candidate


@dataclass
class AcceptAllResult:
    accepted: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def import_candidates_accept_all(
    *, integration: Integration, user: AbstractBaseUser | None
) -> AcceptAllResult:
    """Accept every pending candidate, oldest first (so parents tend to come before their
    children); one that fails is reported and left pending, the others go on."""
    result = AcceptAllResult()
    jira = JiraSession(integration)
    try:
        pending = ImportCandidate.objects.filter(
            integration=integration, status=ImportCandidate.Status.PENDING
        ).order_by("created_at", "id")
        for candidate in pending:
            candidate.refresh_from_db()
            if candidate.status != ImportCandidate.Status.PENDING:
                continue  # imported with its child
            try:
                result.accepted.append(accept_candidate(candidate=candidate, user=user, jira=jira))
            except JiraError as exc:
                result.errors.append(_jira_failure(candidate, exc).message)
            except ApplicationError as exc:
                result.errors.append(exc.message)
    finally:
        jira.close()
    return result


def import_candidates_reject_all(*, integration: Integration, user: AbstractBaseUser | None) -> int:
    with transaction.atomic():
        count = ImportCandidate.objects.filter(
            integration=integration, status=ImportCandidate.Status.PENDING
        ).update(status=ImportCandidate.Status.REJECTED, decided_by=user, decided_at=timezone.now())
        if count:
            sync_log(
                integration_id=integration.id,
                level=SyncLogEntry.Level.INFO,
                action="import_rejected",
                message=f"{count} import candidate(s) rejected.",
            )
    return count
