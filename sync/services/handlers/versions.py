"""``jira:version_*``: the release linked to a Jira version, by the release row's field
mappings (a version's own attributes: name, description, startDate, releaseDate, released)."""

from __future__ import annotations

from integrations.models import RecordMapping
from integrations.providers.jira.errors import JiraNotFound
from integrations.selectors import effective_project, record_mapping_for_kind
from integrations.transform import jira_to_record_changes
from records.kinds import RecordKind
from records.models import Record
from records.services import record_update

from ...models import ImportCandidate, SyncLogEntry
from ..log import sync_log
from .common import Context, Ignore, advance, as_dict, check_order, version_link_for
from .issues import apply_from_jira

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
    present = {field_id for field_id in VERSION_FIELD_IDS if field_id in version}
    result = jira_to_record_changes(
        values,
        mapping.field_mappings.all(),
        workspace=record.workspace,
        changed_field_ids=present,
        record=record,
    )
    jira_texts = {
        "name": _name(version),
        "released": "released" if values.get("released") else "not released",
    }
    for key in ("startDate", "releaseDate"):
        if values.get(key):
            jira_texts[key] = str(values[key])
    apply_from_jira(
        ctx,
        link=link,
        record=record,
        mapping=mapping,
        proposed=result.changes,
        jira_fields=values,
        warnings=[f"Version '{_name(version)}': {w}" for w in result.warnings],
        key="",
        source=f"from Jira version '{_name(version)}'",
        jira_texts=jira_texts,
    )
    advance(ctx.event, link)


def handle_version_deleted(ctx: Context) -> None:
    """deleted (maybe with ``mergedTo``) and merged: the release is kept and unlinked."""
    from .common import version_candidate_id

    version = _version(ctx)
    withdrawn = ImportCandidate.objects.filter(
        integration=ctx.integration,
        jira_id=version_candidate_id(version.get("id")),
        status=ImportCandidate.Status.PENDING,
    ).delete()[0]
    verb = "merged" if ctx.event.event_type == "jira:version_merged" else "deleted"
    link = version_link_for(ctx.integration, version.get("id"), lock=True)
    if link is None:
        if withdrawn:
            # Not an Ignore: that would roll the withdrawal back with the savepoint.
            _log(
                ctx,
                SyncLogEntry.Level.INFO,
                f"Jira version '{_name(version)}' was {verb}; its import candidate was withdrawn.",
            )
            return
        raise Ignore(f"ignored: Jira version '{_name(version)}' is not linked to a release here.")
    record = link.record
    link.delete()
    merged = as_dict(ctx.body.get("mergedTo"))
    where = ""
    target = None
    if merged:
        target = version_link_for(ctx.integration, merged.get("id"))
        where = f" (merged into '{_name(merged)}'"
        where += f", linked here to {target.record.reference})" if target else ")"
    _follow_fix_versions(ctx, record, target.record if target else None)
    _log(
        ctx,
        SyncLogEntry.Level.WARNING,
        f"Jira version '{_name(version)}' was {verb}{where}; {record.reference} is kept here "
        "and no longer linked.",
        record=record,
    )


def _follow_fix_versions(ctx: Context, release: Record, moved_to: Record | None) -> None:
    """Jira took the deleted version off its issues (or moved them to the merge target)
    without an issue event: do here what those events would have done, for the linked
    records Jira had in that version, so the pair stays in step (and a release sent again
    later is not believed to be on them already)."""
    from ...models import JiraLink
    from ..snapshot import agreed, here_key, snapshot_store

    children = JiraLink.objects.filter(
        integration=ctx.integration,
        jira_kind=JiraLink.JiraKind.ISSUE,
        record__release=release,
    ).select_related("record")
    moved = []
    for child_link in children:
        child = child_link.record
        mapping = record_mapping_for_kind(ctx.integration, child.kind)
        if mapping is None or not any(e.parent_kind == "release" for e in mapping.linked_to.all()):
            continue
        if agreed(child_link, child, "release", mapping)[1] != release.pk:
            continue  # Jira did not have it there: a send of ours is still on its way
        value = here_key("release", moved_to)
        snapshot_store(child_link, {"release": (value, value)})
        record_update(record=child, release=moved_to)
        moved.append(child.reference)
    if moved:
        now = moved_to.reference if moved_to else "no release"
        _log(
            ctx,
            SyncLogEntry.Level.INFO,
            f"{', '.join(moved)}: release {now} (was {release.reference}), as Jira moved "
            "their issues off the removed version.",
            record=release,
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
    from .common import version_candidate_id

    if not ImportCandidate.objects.filter(
        integration=ctx.integration, jira_id=version_candidate_id(version.get("id"))
    ).exists():
        # Deliveries come out of order: the version may be gone already, its
        # version_deleted processed before this (and so unable to withdraw a candidate).
        try:
            ctx.jira.client().get_version(str(version.get("id")))
        except JiraNotFound:
            raise Ignore(
                f"ignored: Jira version '{_name(version)}' was created and deleted since; "
                "nothing to import."
            ) from None
    candidate, _ = candidate_for_version(
        integration=ctx.integration, version=version, event=ctx.event
    )
    if ctx.integration.auto_import and candidate.status == ImportCandidate.Status.PENDING:
        accept_candidate(candidate=candidate, user=None, jira=ctx.jira, event=ctx.event)
