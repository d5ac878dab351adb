"""Link a record with an existing Jira issue, choosing which side overwrites the other for the
first sync (SPEC.md "Syncing")."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import ApplicationError
from integrations.models import Integration, RecordMapping
from integrations.providers.jira.errors import JiraError, JiraNotFound
from integrations.selectors import effective_project
from integrations.services.configuration import build_client
from integrations.transform import jira_to_record_changes
from records.kinds import kind_label
from records.models import Record
from records.services import record_update
from records.signals import change_origin

from ..models import IssueLinkMirror, JiraLink
from .log import sync_log
from .outbox import _check_integration_for_record, _send_record_entry, link_entry, mapped_links_of
from .snapshot import mapped_fields, snapshot_of_record, snapshot_store

KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
OVERWRITE_CHOICES = ("here", "jira")


def parse_issue_key(key_or_url: str, *, base_url: str = "") -> str:
    """An issue key from ``DEMO-12`` or a browse URL (``.../browse/DEMO-12``, or a board URL
    with ``selectedIssue=DEMO-12``). Refuses a URL of another Jira site."""
    text = (key_or_url or "").strip()
    if KEY.match(text):
        return text.upper()
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.hostname:
        site = urlsplit(base_url).hostname if base_url else None
        if site and parts.hostname.lower() != site.lower():
            raise ApplicationError(
                f"That link is to {parts.hostname}, but this integration is connected to {site}.",
                field="key",
            )
        match = re.search(r"/browse/([A-Za-z][A-Za-z0-9_]*-\d+)/?$", parts.path)
        if match:
            return match.group(1).upper()
        selected = parse_qs(parts.query).get("selectedIssue", [""])[0]
        if KEY.match(selected):
            return selected.upper()
    raise ApplicationError(
        "Enter a Jira issue key like DEMO-12, or the issue's address "
        "(https://your-site/browse/DEMO-12).",
        field="key",
    )


def _epoch_ms(value) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None
    return int(parsed.timestamp() * 1000)


def record_link_existing(
    *,
    record: Record,
    integration: Integration,
    key_or_url: str,
    overwrite: str = "here",
    user: AbstractBaseUser | None = None,
) -> JiraLink:
    """Link ``record`` with an existing issue, then sync once: ``overwrite="here"`` sends our
    values to Jira; ``"jira"`` takes Jira's values here. A record already linked to another
    issue is re-linked ("this record is really DEMO-42"): the old issue is left as it is in
    Jira, and the sync log says so; the record's links go to the new issue."""
    if overwrite not in OVERWRITE_CHOICES:
        raise ApplicationError(
            "Choose which side overwrites the other: 'here' or 'jira'.", field="overwrite"
        )
    mapping = _check_integration_for_record(integration, record)
    if mapping.target != RecordMapping.Target.ISSUE_TYPE:
        raise ApplicationError(
            f"{kind_label(record.kind)}s are mapped to Jira versions, not issues: they are "
            "linked by sending them.",
            field="key",
        )
    existing = JiraLink.objects.filter(integration=integration, record=record).first()
    client = build_client(integration)
    try:
        key = parse_issue_key(key_or_url, base_url=client.base_url)
        try:
            issue = client.get_issue(key)
        except JiraNotFound:
            raise ApplicationError(
                f"Jira has no issue {key}, or the integration's Jira user cannot see it.",
                field="key",
            ) from None
        except JiraError as exc:
            raise ApplicationError(f"Could not read {key} from Jira: {exc}", field="key") from None
    finally:
        client.close()
    fields = issue.get("fields") or {}
    if existing is not None and existing.jira_id == str(issue.get("id")):
        raise ApplicationError(
            f"{record.reference} is already linked to {existing.jira_key or key}.",
            field="key",
            code="already_linked",
        )
    project_key = str((fields.get("project") or {}).get("key") or key.split("-")[0])
    project = effective_project(integration).key
    if project and project_key.upper() != project.upper():
        raise ApplicationError(
            f"{key} is in Jira project {project_key}, but this integration syncs project "
            f"{project}.",
            field="key",
        )
    issue_type = fields.get("issuetype") or {}
    allowed = {str(t.get("id")) for t in mapping.issue_types or []}
    if str(issue_type.get("id")) not in allowed:
        names = ", ".join(str(t.get("name")) for t in mapping.issue_types or []) or "none"
        raise ApplicationError(
            f"{key} is a {issue_type.get('name', 'different issue type')}, but "
            f"{kind_label(record.kind).lower()}s map to: {names}. Choose an issue of that type.",
            field="key",
        )
    other = (
        JiraLink.objects.filter(
            integration=integration, jira_kind=JiraLink.JiraKind.ISSUE, jira_id=str(issue["id"])
        )
        .select_related("record")
        .first()
    )
    if other is not None:
        raise ApplicationError(f"{key} is already linked to {other.record.reference}.", field="key")
    missing = []
    for entry in mapping.linked_to.all():
        parent = getattr(record, entry.parent_kind)
        if (
            parent is not None
            and not JiraLink.objects.filter(integration=integration, record=parent).exists()
        ):
            missing.append(parent.reference)
    if missing:
        raise ApplicationError(
            f"Link or send {', '.join(missing)} to Jira first: {record.reference}'s parents "
            "must be in Jira before it is linked.",
            field="key",
        )

    with transaction.atomic():
        old = None
        if existing is not None:
            old = existing.jira_key or existing.jira_id
            JiraLink.objects.filter(pk=existing.pk).delete()
            # The old issue's Jira links stay with it; ours go to the new issue.
            IssueLinkMirror.objects.filter(integration=integration).filter(
                Q(record_link__source=record) | Q(record_link__target=record)
            ).delete()
        try:
            link = JiraLink.objects.create(
                integration=integration,
                record=record,
                jira_kind=JiraLink.JiraKind.ISSUE,
                jira_id=str(issue["id"]),
                jira_key=issue["key"],
                jira_url=f"{client.base_url}/browse/{issue['key']}",
                last_synced_at=timezone.now(),
                last_event_timestamp=_epoch_ms(fields.get("updated")),
            )
        except IntegrityError:
            raise ApplicationError(
                f"{key} or {record.reference} was linked by someone else just now.", field="key"
            ) from None
        side = (
            "our values overwrite Jira's."
            if overwrite == "here"
            else "Jira's values overwrite ours."
        )
        message = f"Linked {record.reference} with {issue['key']}; {side}"
        if old:
            message = (
                f"Re-linked {record.reference} from {old} to {issue['key']}; {side} {old} was "
                "left untouched in Jira (delete or close it there if it is a duplicate)."
            )
        sync_log(
            integration_id=integration.id,
            level="info",
            action="link_existing",
            message=message,
            record_id=record.id,
            jira_key=issue["key"],
        )
        if overwrite == "here":
            _send_record_entry(
                integration=integration, record=record, fields=[], explicit=True, user=user
            )
        else:
            result = jira_to_record_changes(
                issue,
                mapping.field_mappings.all(),
                workspace=record.workspace,
                record=record,
            )
            if result.changes:
                with change_origin("jira", integration.id):
                    record = record_update(record=record, **result.changes)
            # Both sides now hold Jira's values: that is the pair's first snapshot.
            snapshot_store(
                link,
                snapshot_of_record(record, mapping, sorted(mapped_fields(mapping, sending=True))),
            )
            for warning in result.warnings:
                sync_log(
                    integration_id=integration.id,
                    level="warning",
                    action="link_existing",
                    message=f"{record.reference}: {warning}",
                    record_id=record.id,
                    jira_key=issue["key"],
                )
        for record_link in mapped_links_of(integration, record):
            link_entry(integration=integration, link=record_link, explicit=True)
    return link
