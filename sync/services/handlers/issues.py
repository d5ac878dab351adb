"""``jira:issue_created`` / ``jira:issue_updated`` / ``jira:issue_deleted``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from integrations.fields import LOCAL_FIELDS
from integrations.models import RecordMapping
from integrations.selectors import effective_project, record_mapping_for_kind
from integrations.transform import changed_field_ids_from_changelog, jira_to_record_changes
from records.models import Record
from records.services import record_update
from records.workflows import status_label

from ...models import ImportCandidate, IssueLinkMirror, JiraLink, SyncLogEntry
from ..creates import marker_record_id
from ..log import sync_log
from .common import (
    Context,
    Ignore,
    advance,
    as_dict,
    browse_url,
    check_order,
    deleted_in_jira,
    integrated_parent,
    issue_fields,
    issue_label,
    issue_link_for,
    mapping_for_issue_type,
    resolve_parents,
)


def _issue(ctx: Context) -> dict:
    return as_dict(ctx.body.get("issue"))


def _log(ctx: Context, level: str, message: str, *, record: Record | None = None, key: str = ""):
    sync_log(
        integration_id=ctx.integration.id,
        level=level,
        action=ctx.event.event_type.removeprefix("jira:"),
        message=message,
        record_id=record.pk if record else None,
        jira_key=key,
        inbound_event=ctx.event,
    )


# --------------------------------------------------------------------------- describing


def display(record: Record, field: str) -> str:
    if field == "status":
        return status_label(record.kind, record.status)
    if field in ("initiative", "release", "epic", "feature"):
        parent = getattr(record, field)
        return parent.reference if parent else "none"
    if field == "assignee":
        user = record.assignee
        return (user.get_full_name() or user.get_username()) if user else "nobody"
    if field == "tags":
        return ", ".join(sorted(t.name for t in record.tags.all())) or "none"
    if field == "description":
        return "(rich text)"
    value = getattr(record, field, None)
    return "none" if value in (None, "") else str(value)


def describe_changes(
    record: Record,
    changed_fields: list[str],
    *,
    mapping: RecordMapping | None,
    jira_texts: dict[str, str],
    before: dict[str, str],
) -> str:
    """ "status In development <- In Progress": the new value here, then Jira's words for it
    (from the changelog), or "(was ...)" when Jira gave none."""
    jira_field_of = {}
    if mapping is not None:
        for fm in mapping.field_mappings.all():
            if fm.receives_from_jira:
                jira_field_of.setdefault(fm.local_field, fm.jira_field_id)
    jira_field_of.update({"release": "fixVersions", "epic": "parent", "feature": "parent"})
    jira_field_of.setdefault("initiative", "parent")
    parts = []
    for name in changed_fields:
        if name == "reference":
            continue
        label = LOCAL_FIELDS[name].label.lower() if name in LOCAL_FIELDS else name
        new = display(record, name)
        if name == "description":
            parts.append("description updated")
            continue
        jira_text = jira_texts.get(jira_field_of.get(name, ""), "")
        if jira_text and jira_text.casefold() != new.casefold():
            parts.append(f"{label} {new} <- {jira_text}")
        else:
            parts.append(f"{label} {new} (was {before.get(name, '?')})")
    return "; ".join(parts)


# --------------------------------------------------------------------------- handlers


def _unlinked_issue(ctx: Context, issue: dict, *, created: bool) -> None:
    """An issue not linked here: an import candidate if its type maps to a record type and it
    sits under something integrated; otherwise ignored, with the reason."""
    from ..imports import accept_candidate, candidate_for_issue

    key = issue_label(issue)
    if deleted_in_jira(ctx.integration, issue.get("id")):
        raise Ignore(f"ignored: {key} was deleted in Jira; this delivery came late.")
    existing = ImportCandidate.objects.filter(
        integration=ctx.integration, jira_id=str(issue.get("id"))
    ).first()
    if existing is not None and existing.status == ImportCandidate.Status.REJECTED:
        raise Ignore(f"ignored: {key} is a rejected import candidate.")
    fields = issue_fields(issue)
    issue_type = as_dict(fields.get("issuetype"))
    mapping = mapping_for_issue_type(ctx.integration, issue_type)
    if mapping is None:
        raise Ignore(
            f"ignored: {key} is not linked here and its issue type "
            f"'{issue_type.get('name') or '?'}' is not mapped to a record type."
        )
    where = integrated_parent(ctx.integration, fields)
    if where is None:
        raise Ignore(
            f"ignored: {key} is not linked here and is not under an integrated parent (none of "
            "its fix versions is linked to a release, and its parent issue is not linked)."
        )
    candidate, _ = candidate_for_issue(
        integration=ctx.integration,
        issue=issue,
        record_kind=mapping.record_kind,
        where=where,
        event=ctx.event,
    )
    if ctx.integration.auto_import and candidate.status == ImportCandidate.Status.PENDING:
        accept_candidate(candidate=candidate, user=None, jira=ctx.jira, event=ctx.event)


def adopt_our_issue(ctx: Context, issue: dict) -> JiraLink | None:
    """An issue WE created whose webhook beat the outbound side's commit of its JiraLink:
    our marker label (``rjs-<this integration>-<record id>``) names the record, so link it
    now instead of offering it as an import candidate (or importing a duplicate). Idempotent
    with the outbound side's save of the same link. None when the issue is not ours: no
    marker of this integration, a record of another workspace, or a record already linked to
    another issue (a clone in Jira copies the labels)."""
    jira_id = str(issue.get("id") or "")
    record_id = marker_record_id(ctx.integration.id, issue_fields(issue).get("labels"))
    if record_id is None or not jira_id or deleted_in_jira(ctx.integration, jira_id):
        return None
    record = Record.objects.filter(pk=record_id, workspace_id=ctx.integration.workspace_id).first()
    if record is None:
        return None
    key = str(issue.get("key") or "")[:40]
    link, created = JiraLink.objects.get_or_create(
        integration=ctx.integration,
        record=record,
        defaults={
            "jira_kind": JiraLink.JiraKind.ISSUE,
            "jira_id": jira_id,
            "jira_key": key,
            "jira_url": browse_url(ctx.integration, key),
        },
    )
    if link.jira_kind != JiraLink.JiraKind.ISSUE or link.jira_id != jira_id:
        return None
    if created:
        _log(
            ctx,
            SyncLogEntry.Level.INFO,
            f"{key or issue_label(issue)} is {record.reference}'s issue (its marker label): "
            "linked before the send finished.",
            record=record,
            key=key,
        )
    return link


def handle_issue_created(ctx: Context) -> None:
    issue = _issue(ctx)
    link = issue_link_for(ctx.integration, issue.get("id"), lock=True)
    if link is None:
        link = adopt_our_issue(ctx, issue)
    if link is not None:
        # The echo of our own create: the outbound side made (or will keep) the link.
        advance(ctx.event, link, key=str(issue.get("key") or ""))
        return
    _unlinked_issue(ctx, issue, created=True)


def _project_moved(ctx: Context, fields: dict, key: str, record: Record) -> None:
    project_key = str(as_dict(fields.get("project")).get("key") or "")
    ours = effective_project(ctx.integration).key
    if project_key and ours and project_key != ours:
        _log(
            ctx,
            SyncLogEntry.Level.WARNING,
            f"{key} was moved in Jira to project {project_key}; {record.reference} stays linked "
            f"to it, but this integration syncs project {ours}.",
            record=record,
            key=key,
        )


def handle_issue_updated(ctx: Context) -> None:
    issue = _issue(ctx)
    link = issue_link_for(ctx.integration, issue.get("id"), lock=True)
    if link is None:
        link = adopt_our_issue(ctx, issue)
    if link is None:
        _unlinked_issue(ctx, issue, created=False)
        return
    check_order(ctx.event, link)
    record = Record.objects.select_related("workspace").get(pk=link.record_id)
    key = str(issue.get("key") or link.jira_key)
    mapping = record_mapping_for_kind(ctx.integration, record.kind)
    if mapping is None or mapping.target != RecordMapping.Target.ISSUE_TYPE:
        raise Ignore(
            f"ignored: {record.kind_label.lower()}s are no longer mapped to a Jira issue type, "
            f"so changes to {key} are not applied to {record.reference}."
        )
    fields = issue_fields(issue)
    changelog = ctx.body.get("changelog")
    # What Jira holds now (``fields``) is compared with the synced snapshot; the changelog
    # only names what this delivery was about, for a payload without the field.
    present = {fm.jira_field_id for fm in mapping.field_mappings.all()} & set(fields)
    if "timeoriginalestimate" in fields:
        present.add("timetracking")
    result = jira_to_record_changes(
        fields,
        mapping.field_mappings.all(),
        workspace=record.workspace,
        changed_field_ids=present,
        record=record,
    )
    parents = resolve_parents(
        ctx.integration, mapping, fields, changed=set(fields), who=key, record=record
    )
    apply_from_jira(
        ctx,
        named=_named_by_changelog(ctx, mapping, record, fields, changelog),
        link=link,
        record=record,
        mapping=mapping,
        proposed={**result.changes, **parents.changes},
        jira_fields=fields,
        warnings=result.warnings + parents.warnings,
        key=key,
        source=f"from {key}",
        jira_texts=_jira_texts(fields, changelog),
    )
    old_key = link.jira_key
    advance(ctx.event, link, key=key)
    if old_key and key != old_key:
        record.refresh_from_db()
        _log(
            ctx, SyncLogEntry.Level.INFO, f"{old_key} is now {key} in Jira.", record=record, key=key
        )
        _project_moved(ctx, fields, key, record)


def _named_by_changelog(
    ctx: Context, mapping: RecordMapping, record: Record, fields: dict, changelog: Any
) -> set[str] | None:
    """Local fields the delivery's changelog names (None when it has none)."""
    if not isinstance(changelog, dict):
        return None
    changed = changed_field_ids_from_changelog(changelog)
    named = set(
        jira_to_record_changes(
            fields,
            mapping.field_mappings.all(),
            workspace=record.workspace,
            changed_field_ids=changed,
            record=record,
        ).changes
    )
    parents = resolve_parents(
        ctx.integration, mapping, fields, changed=changed, who="", record=record
    )
    return named | set(parents.changes)


def _jira_texts(fields: dict, changelog: Any) -> dict[str, str]:
    """Jira's words for the values applied: from the delivery's fields (what is applied),
    not from the changelog, which may be older than the fields."""
    texts: dict[str, str] = {}
    status = as_dict(fields.get("status"))
    if status.get("name"):
        texts["status"] = str(status["name"])
        resolution = as_dict(fields.get("resolution"))
        if resolution.get("name"):
            texts["status"] += f" ({resolution['name']})"
    if "fixVersions" in fields:
        names = [
            str(v.get("name") or v.get("id"))
            for v in fields.get("fixVersions") or []
            if isinstance(v, dict)
        ]
        texts["fixVersions"] = ", ".join(names) or "none"
    parent = as_dict(fields.get("parent"))
    if "parent" in fields:
        texts["parent"] = str(parent.get("key") or parent.get("id") or "none")
    assignee = fields.get("assignee")
    if "assignee" in fields:
        texts["assignee"] = str(as_dict(assignee).get("displayName") or "nobody")
    if isinstance(fields.get("summary"), str):
        texts["summary"] = fields["summary"]
    for date_field in ("duedate", "startDate", "releaseDate"):
        if date_field in fields:
            texts[date_field] = str(fields.get(date_field) or "none")
    del changelog
    return texts


def apply_from_jira(
    ctx: Context,
    *,
    named: set[str] | None = None,
    link: JiraLink,
    record: Record,
    mapping: RecordMapping,
    proposed: dict[str, Any],
    jira_fields: dict,
    warnings: list[str],
    key: str,
    source: str,
    jira_texts: dict[str, str],
) -> Record:
    """The one inbound step for an issue or a version: the snapshot rule decides what is
    applied (sync.services.snapshot), the snapshot is written with the change, conflicts and
    what was applied are logged."""
    from ..outbox import send_fields_again
    from ..snapshot import decide_inbound, snapshot_store

    decision = decide_inbound(
        integration=ctx.integration,
        link=link,
        record=record,
        mapping=mapping,
        proposed=proposed,
        jira_fields=jira_fields,
        named=named,
        display=display,
    )
    before = {name: display(record, name) for name in decision.apply}
    snapshot_store(link, decision.snapshot)
    record = record_update(record=record, **decision.apply)
    for warning in warnings:
        text = f"{key}: {warning}" if key else warning
        _log(ctx, SyncLogEntry.Level.WARNING, text, record=record, key=key)
    for conflict in decision.conflicts:
        label = (
            LOCAL_FIELDS[conflict.field].label.lower()
            if conflict.field in LOCAL_FIELDS
            else (conflict.field)
        )
        jira_value = (
            display(record, conflict.field) if conflict.winner == "jira" else _shown(conflict.jira)
        )
        kept = (
            "Jira's value was applied"
            if conflict.winner == "jira"
            else ("ours was kept and is sent to Jira")
        )
        _log(
            ctx,
            SyncLogEntry.Level.WARNING,
            f"{record.reference}: conflict on {label}, changed here ({conflict.here}) and in "
            f"Jira ({jira_value}) since the last sync; {kept}.",
            record=record,
            key=key,
        )
    if decision.resend:
        send_fields_again(integration=ctx.integration, record=record, fields=decision.resend)
    if record.changed_fields:
        summary = describe_changes(
            record,
            record.changed_fields,
            mapping=mapping,
            jira_texts=jira_texts,
            before=before,
        )
        _log(
            ctx,
            SyncLogEntry.Level.INFO,
            f"{record.reference}: {summary} ({source})",
            record=record,
            key=key,
        )
    return record


def _shown(value: Any) -> str:
    if isinstance(value, Record):
        return value.reference
    if value in (None, ""):
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(getattr(value, "get_full_name", lambda: value)() or value)


def handle_issue_deleted(ctx: Context) -> None:
    issue = _issue(ctx)
    key = issue_label(issue)
    link = issue_link_for(ctx.integration, issue.get("id"), lock=True)
    withdrawn = ImportCandidate.objects.filter(
        integration=ctx.integration,
        jira_id=str(issue.get("id")),
        status=ImportCandidate.Status.PENDING,
    ).delete()[0]
    if link is None:
        if withdrawn:
            _log(
                ctx,
                SyncLogEntry.Level.INFO,
                f"{key} was deleted in Jira; its import candidate was withdrawn.",
                key=key,
            )
            return
        raise Ignore(f"ignored: {key} was deleted in Jira, and it is not linked here.")
    record = link.record
    key = str(issue.get("key") or link.jira_key or key)
    link.delete()
    # Jira deleted the issue's links with it: their mirrors would point at nothing.
    IssueLinkMirror.objects.filter(integration=ctx.integration).filter(
        Q(record_link__source=record) | Q(record_link__target=record)
    ).delete()
    # The record is the user's: a deletion in Jira never deletes it here.
    _log(
        ctx,
        SyncLogEntry.Level.WARNING,
        f"{key} was deleted in Jira; {record.reference} is kept here and no longer linked.",
        record=record,
        key=key,
    )
