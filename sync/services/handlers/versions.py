"""``jira:version_*``: the release linked to a Jira version, by the release row's field
mappings (a version's own attributes: name, description, startDate, releaseDate, released)."""

from __future__ import annotations

from integrations.models import RecordMapping
from integrations.selectors import effective_project, record_mapping_for_kind
from integrations.transform import jira_to_record_changes, value_map_to_jira
from records.kinds import RecordKind
from records.models import Record
from records.services import record_update
from records.workflows import statuses_for

from ...models import ImportCandidate, SyncLogEntry
from ..log import sync_log
from .common import Context, Ignore, advance, as_dict, check_order, version_link_for
from .issues import describe_changes, display

VERSION_FIELD_IDS = ("name", "description", "startDate", "releaseDate", "released")


def _log(ctx: Context, level: str, message: str, *, record: Record | None = None) -> None:
    sync_log(
        integration_id=ctx.integration.id,
        level=level,
        action=ctx.event.event_type.removeprefix("jira:"),
        message=message,
        record_id=record.pk if record else None,
        inbound_event=ctx.event,
    )


def _version(ctx: Context) -> dict:
    return as_dict(ctx.body.get("version"))


def _name(version: dict) -> str:
    return str(version.get("name") or f"version {version.get('id')}")


def _release_mapping(ctx: Context) -> RecordMapping | None:
    mapping = record_mapping_for_kind(ctx.integration, RecordKind.RELEASE)
    if mapping is None or mapping.target != RecordMapping.Target.VERSION:
        return None
    return mapping


def _released_agrees(mapping: RecordMapping, record: Record, released: object) -> bool:
    """Does our status already say what Jira's released flag says? Then keep it: several
    statuses here (Planned, In progress) are all "not released" in Jira."""
    if not isinstance(released, bool):
        return True
    status_mapping = next(
        (fm for fm in mapping.field_mappings.all() if fm.local_field == "status"), None
    )
    if status_mapping is not None:
        ours = value_map_to_jira(status_mapping, record.status)
        if ours is not None and ours.name.strip().casefold() in {"true", "false"}:
            return (ours.name.strip().casefold() == "true") == released
    category = next((s.category for s in statuses_for(record.kind) if s.key == record.status), "")
    return (category == "done" and record.status != "cancelled") == released


def handle_version_changed(ctx: Context) -> None:
    """created (echo or import candidate), updated, released, unreleased, moved."""
    version = _version(ctx)
    link = version_link_for(ctx.integration, version.get("id"), lock=True)
    if link is None:
        if ctx.event.event_type == "jira:version_created":
            _version_candidate(ctx, version)
            return
        raise Ignore(f"ignored: Jira version '{_name(version)}' is not linked to a release here.")
    if ctx.event.event_type == "jira:version_created":
        advance(ctx.event, link)  # the echo of our own create
        return
    check_order(ctx.event, link)
    record = Record.objects.select_related("workspace").get(pk=link.record_id)
    mapping = _release_mapping(ctx)
    if mapping is None:
        raise Ignore(
            f"ignored: releases are no longer mapped to Jira versions, so changes to version "
            f"'{_name(version)}' are not applied to {record.reference}."
        )
    # A key Jira left out says nothing about that attribute: ours stays. Only a key present
    # with null or "" clears (a payload trimmed by a proxy or an older Jira must not wipe
    # a release's dates and description).
    values = dict(version)
    changed = {field_id for field_id in VERSION_FIELD_IDS if field_id in version}
    if _released_agrees(mapping, record, values.get("released")):
        changed.discard("released")
    result = jira_to_record_changes(
        values,
        mapping.field_mappings.all(),
        workspace=record.workspace,
        changed_field_ids=changed,
        record=record,
    )
    before = {name: display(record, name) for name in result.changes}
    record = record_update(record=record, **result.changes)
    advance(ctx.event, link)
    for warning in result.warnings:
        _log(
            ctx, SyncLogEntry.Level.WARNING, f"Version '{_name(version)}': {warning}", record=record
        )
    if record.changed_fields:
        jira_texts = {
            "name": _name(version),
            "released": "released" if values.get("released") else "not released",
        }
        for key in ("startDate", "releaseDate"):
            if values.get(key):
                jira_texts[key] = str(values[key])
        summary = describe_changes(
            record, record.changed_fields, mapping=mapping, jira_texts=jira_texts, before=before
        )
        _log(
            ctx,
            SyncLogEntry.Level.INFO,
            f"{record.reference}: {summary} (from Jira version '{_name(version)}')",
            record=record,
        )


def handle_version_deleted(ctx: Context) -> None:
    """deleted (maybe with ``mergedTo``) and merged: the release is kept and unlinked."""
    from .common import version_candidate_id

    version = _version(ctx)
    ImportCandidate.objects.filter(
        integration=ctx.integration,
        jira_id=version_candidate_id(version.get("id")),
        status=ImportCandidate.Status.PENDING,
    ).delete()
    link = version_link_for(ctx.integration, version.get("id"), lock=True)
    if link is None:
        raise Ignore(f"ignored: Jira version '{_name(version)}' is not linked to a release here.")
    record = link.record
    link.delete()
    merged = as_dict(ctx.body.get("mergedTo"))
    where = ""
    if merged:
        target = version_link_for(ctx.integration, merged.get("id"))
        where = f" (merged into '{_name(merged)}'"
        where += f", linked here to {target.record.reference})" if target else ")"
    verb = "merged" if ctx.event.event_type == "jira:version_merged" else "deleted"
    _log(
        ctx,
        SyncLogEntry.Level.WARNING,
        f"Jira version '{_name(version)}' was {verb}{where}; {record.reference} is kept here "
        "and no longer linked.",
        record=record,
    )


def _version_candidate(ctx: Context, version: dict) -> None:
    from ..imports import accept_candidate, candidate_for_version

    if _release_mapping(ctx) is None:
        raise Ignore(
            f"ignored: Jira version '{_name(version)}' was created, but releases are not mapped "
            "to Jira versions."
        )
    project = effective_project(ctx.integration)
    project_id = str(version.get("projectId") or "")
    if project.id and project_id and project_id != str(project.id):
        raise Ignore(
            f"ignored: Jira version '{_name(version)}' belongs to project {project_id}, not to "
            f"{project.key} ({project.id})."
        )
    candidate, _ = candidate_for_version(
        integration=ctx.integration, version=version, event=ctx.event
    )
    if ctx.integration.auto_import and candidate.status == ImportCandidate.Status.PENDING:
        accept_candidate(candidate=candidate, user=None, jira=ctx.jira, event=ctx.event)
