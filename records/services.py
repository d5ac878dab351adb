"""Writes to records and record links. Every rule of SPEC.md "Records" is enforced here, so
pages, the API, the admin and the sync engine all get the same answers."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from accounts.models import Membership, Workspace
from core.exceptions import ApplicationError

from .kinds import (
    PARENT_FIELDS,
    SYMMETRIC_LINK_TYPES,
    LinkType,
    RecordKind,
    is_parent_child,
    kind_label,
    parent_kinds_of,
)
from .models import Record, RecordLink, Tag
from .sanitize import sanitize_html
from .signals import record_changed, record_link_created, record_link_deleting
from .workflows import default_status, is_valid_status, statuses_for

UNSET: Any = object()

# Counter on the workspace row and reference format for each top-level kind.
_COUNTERS = {
    RecordKind.RELEASE: ("next_release_number", "{prefix}-R-{n}"),
    RecordKind.INITIATIVE: ("next_initiative_number", "{prefix}-I-{n}"),
    RecordKind.EPIC: ("next_epic_number", "{prefix}-E-{n}"),
    RecordKind.FEATURE: ("next_feature_number", "{prefix}-{n}"),
}


def _allocate_reference(
    *, workspace: Workspace, kind: str, feature: Record | None
) -> tuple[int, str]:
    """Next number and reference, taken under a row lock so concurrent creates never collide.

    On PostgreSQL ``select_for_update`` serialises creators on the counter's row; on SQLite the
    IMMEDIATE transaction mode (settings) serialises writers on the whole database.
    """
    if kind == RecordKind.REQUIREMENT:
        locked = Record.objects.select_for_update().get(pk=feature.pk)
        number = locked.next_requirement_number
        Record.objects.filter(pk=feature.pk).update(next_requirement_number=number + 1)
        return number, f"{locked.reference}-{number}"
    counter, pattern = _COUNTERS[kind]
    locked_ws = (
        Workspace.objects.select_for_update().only("id", "prefix", counter).get(pk=workspace.pk)
    )
    number = getattr(locked_ws, counter)
    Workspace.objects.filter(pk=workspace.pk).update(**{counter: number + 1})
    return number, pattern.format(prefix=locked_ws.prefix, n=number)


def _check_parent(*, workspace: Workspace, kind: str, field: str, parent: Record | None) -> None:
    if parent is None:
        return
    if not is_parent_child(field, kind):
        allowed = ", ".join(kind_label(k) for k in parent_kinds_of(kind)) or "none"
        raise ApplicationError(
            f"A {kind_label(kind).lower()} cannot have a {field} parent. "
            f"Its possible parents are: {allowed}.",
            field=field,
        )
    if parent.kind != field:
        raise ApplicationError(
            f"{parent.reference} is a {parent.kind_label.lower()}, not a {field}.", field=field
        )
    if parent.workspace_id != workspace.id:
        raise ApplicationError(
            f"{parent.reference} belongs to another workspace; parents must be in the same "
            "workspace as their children.",
            field=field,
        )


def _check_status(kind: str, status: str) -> None:
    if not is_valid_status(kind, status):
        options = ", ".join(s.key for s in statuses_for(kind))
        raise ApplicationError(
            f"'{status}' is not a {kind_label(kind).lower()} status. Use one of: {options}.",
            field="status",
        )


def _check_assignee(workspace: Workspace, assignee: AbstractBaseUser | None) -> None:
    if assignee is None:
        return
    if not Membership.objects.filter(account_id=workspace.account_id, user=assignee).exists():
        raise ApplicationError(
            "The assignee must be a member of this workspace's account.", field="assignee"
        )


def _check_dates(start: datetime.date | None, due: datetime.date | None) -> None:
    if start and due and due < start:
        raise ApplicationError("The due date cannot be before the start date.", field="due_date")


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A record needs a name.", field="name")
    if len(name) > 255:
        raise ApplicationError("A name is at most 255 characters.", field="name")
    return name


def tags_resolve(*, workspace: Workspace, names: Iterable[str]) -> list[Tag]:
    """Tags by name, case-insensitively, creating the missing ones."""
    wanted: dict[str, str] = {}
    for raw in names:
        name = (raw or "").strip()
        if not name:
            continue
        if len(name) > 100:
            raise ApplicationError("A tag is at most 100 characters.", field="tags")
        wanted.setdefault(name.lower(), name)
    if not wanted:
        return []
    existing = {
        t.name.lower(): t
        for t in Tag.objects.annotate(lname=Lower("name")).filter(
            workspace=workspace, lname__in=list(wanted)
        )
    }
    for lower, name in wanted.items():
        if lower not in existing:
            try:
                with transaction.atomic():
                    existing[lower] = Tag.objects.create(workspace=workspace, name=name)
            except IntegrityError:  # created concurrently
                existing[lower] = Tag.objects.annotate(lname=Lower("name")).get(
                    workspace=workspace, lname=lower
                )
    return [existing[lower] for lower in wanted]


@transaction.atomic
def record_create(
    *,
    workspace: Workspace,
    kind: str,
    name: str,
    created_by: AbstractBaseUser | None = None,
    description: str = "",
    status: str | None = None,
    assignee: AbstractBaseUser | None = None,
    tags: Iterable[str] = (),
    start_date: datetime.date | None = None,
    due_date: datetime.date | None = None,
    release_date: datetime.date | None = None,
    estimate_minutes: int | None = None,
    story_points: Decimal | None = None,
    initiative: Record | None = None,
    release: Record | None = None,
    epic: Record | None = None,
    feature: Record | None = None,
) -> Record:
    if kind not in RecordKind.values:
        raise ApplicationError(
            f"'{kind}' is not a record type. Use one of: {', '.join(RecordKind.values)}.",
            field="kind",
        )
    name = _check_name(name)
    parents = {"initiative": initiative, "release": release, "epic": epic, "feature": feature}
    for field, parent in parents.items():
        _check_parent(workspace=workspace, kind=kind, field=field, parent=parent)
    if kind == RecordKind.REQUIREMENT and feature is None:
        raise ApplicationError(
            "A requirement cannot exist without its feature: choose the feature.", field="feature"
        )
    status = status or default_status(kind)
    _check_status(kind, status)
    _check_assignee(workspace, assignee)
    _check_dates(start_date, due_date)
    if release_date and kind != RecordKind.RELEASE:
        raise ApplicationError("Only releases have a release date.", field="release_date")

    number, reference = _allocate_reference(workspace=workspace, kind=kind, feature=feature)
    record = Record.objects.create(
        workspace=workspace,
        kind=kind,
        number=number,
        reference=reference,
        name=name,
        description=sanitize_html(description),
        status=status,
        assignee=assignee,
        start_date=start_date,
        due_date=due_date,
        release_date=release_date,
        estimate_minutes=estimate_minutes,
        story_points=story_points,
        created_by=created_by,
        **parents,
    )
    tag_objects = tags_resolve(workspace=workspace, names=tags)
    if tag_objects:
        record.tags.set(tag_objects)
    record_changed.send(sender=Record, record=record, created=True, changed_fields=[])
    return record


@transaction.atomic
def record_update(
    *,
    record: Record,
    name: str = UNSET,
    description: str = UNSET,
    status: str = UNSET,
    assignee: AbstractBaseUser | None = UNSET,
    tags: Iterable[str] = UNSET,
    start_date: datetime.date | None = UNSET,
    due_date: datetime.date | None = UNSET,
    release_date: datetime.date | None = UNSET,
    estimate_minutes: int | None = UNSET,
    story_points: Decimal | None = UNSET,
    initiative: Record | None = UNSET,
    release: Record | None = UNSET,
    epic: Record | None = UNSET,
    feature: Record | None = UNSET,
) -> Record:
    """Change only what is passed; returns the record with the changed field names in
    ``record.changed_fields`` (the sync engine sends just those)."""
    workspace = record.workspace
    changed: list[str] = []

    def assign(field: str, value: Any) -> None:
        if value is UNSET or getattr(record, field) == value:
            return
        setattr(record, field, value)
        changed.append(field)

    if name is not UNSET:
        assign("name", _check_name(name))
    if description is not UNSET:
        assign("description", sanitize_html(description or ""))
    if status is not UNSET:
        _check_status(record.kind, status)
        assign("status", status)
    if assignee is not UNSET:
        _check_assignee(workspace, assignee)
        if record.assignee_id != (assignee.pk if assignee else None):
            record.assignee = assignee
            changed.append("assignee")
    for field, value in (
        ("start_date", start_date),
        ("due_date", due_date),
        ("estimate_minutes", estimate_minutes),
        ("story_points", story_points),
    ):
        assign(field, value)
    if release_date is not UNSET:
        if release_date and record.kind != RecordKind.RELEASE:
            raise ApplicationError("Only releases have a release date.", field="release_date")
        assign("release_date", release_date)
    _check_dates(record.start_date, record.due_date)

    parents = {"initiative": initiative, "release": release, "epic": epic, "feature": feature}
    for field, parent in parents.items():
        if parent is UNSET:
            continue
        _check_parent(workspace=workspace, kind=record.kind, field=field, parent=parent)
        if getattr(record, f"{field}_id") != (parent.pk if parent else None):
            setattr(record, field, parent)
            changed.append(field)
    if record.kind == RecordKind.REQUIREMENT:
        if record.feature_id is None:
            raise ApplicationError(
                "A requirement cannot exist without its feature.", field="feature"
            )
        if "feature" in changed:
            # Moving a requirement renumbers it under its new feature.
            record.number, record.reference = _allocate_reference(
                workspace=workspace, kind=record.kind, feature=record.feature
            )
            changed.append("reference")

    if changed:
        record.save()
    if tags is not UNSET:
        new_tags = tags_resolve(workspace=workspace, names=tags)
        if {t.pk for t in new_tags} != set(record.tags.values_list("pk", flat=True)):
            record.tags.set(new_tags)
            changed.append("tags")
            if "updated_at" not in changed:
                record.save(update_fields=["updated_at"])
    record.changed_fields = changed
    if changed:
        record_changed.send(sender=Record, record=record, created=False, changed_fields=changed)
    return record


@transaction.atomic
def record_delete(*, record: Record) -> None:
    """Delete a record. Children keep existing without this parent; a feature's requirements
    go with it, since a requirement cannot exist without its feature."""
    record.delete()


def _link_exists(source: Record, target: Record, link_type: str) -> bool:
    pairs = RecordLink.objects.filter(link_type=link_type, source=source, target=target)
    if link_type in SYMMETRIC_LINK_TYPES:
        pairs = pairs | RecordLink.objects.filter(link_type=link_type, source=target, target=source)
    return pairs.exists()


@transaction.atomic
def record_link_create(
    *, source: Record, target: Record, link_type: str, created_by: AbstractBaseUser | None = None
) -> RecordLink:
    if link_type not in LinkType.values:
        raise ApplicationError(
            f"'{link_type}' is not a link type. Use one of: {', '.join(LinkType.values)}.",
            field="link_type",
        )
    if source.pk == target.pk:
        raise ApplicationError("A record cannot be linked to itself.", field="target")
    if source.workspace_id != target.workspace_id:
        raise ApplicationError(
            "Both records of a link must be in the same workspace.", field="target"
        )
    if _link_exists(source, target, link_type):
        raise ApplicationError(
            f"{source.reference} already {LinkType(link_type).label.lower()} {target.reference}.",
            field="target",
            code="duplicate",
        )
    try:
        with transaction.atomic():
            link = RecordLink.objects.create(
                workspace_id=source.workspace_id,
                source=source,
                target=target,
                link_type=link_type,
                created_by=created_by,
            )
    except IntegrityError as exc:  # a concurrent request made the same link
        raise ApplicationError(
            f"{source.reference} already {LinkType(link_type).label.lower()} {target.reference}.",
            field="target",
            code="duplicate",
        ) from exc
    record_link_created.send(sender=RecordLink, link=link)
    return link


@transaction.atomic
def record_link_delete(*, link: RecordLink) -> None:
    record_link_deleting.send(sender=RecordLink, link=link)
    link.delete()


__all__ = [
    "PARENT_FIELDS",
    "UNSET",
    "record_create",
    "record_delete",
    "record_link_create",
    "record_link_delete",
    "record_update",
    "tags_resolve",
]
