"""Reads of records. Every list is scoped to the user's accounts and issues a constant number
of queries whatever the number of rows (see bench/records_queries.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Workspace
from accounts.selectors import workspace_list_for_user

from .kinds import RecordKind
from .models import Record, RecordLink, Tag

RECORD_RELATED = ("workspace", "assignee", "initiative", "release", "epic", "feature", "created_by")


def record_base_queryset() -> QuerySet[Record]:
    return Record.objects.select_related(*RECORD_RELATED).prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )


def record_list(
    *,
    user: AbstractBaseUser,
    kind: str | None = None,
    workspace_id: int | None = None,
    release_id: int | None = None,
    epic_id: int | None = None,
    initiative_id: int | None = None,
    feature_id: int | None = None,
    status: str | None = None,
    tag: str | None = None,
    search: str | None = None,
) -> QuerySet[Record]:
    qs = record_base_queryset().filter(workspace__in=workspace_list_for_user(user=user))
    if kind:
        qs = qs.filter(kind=kind)
    if workspace_id:
        qs = qs.filter(workspace_id=workspace_id)
    if release_id:
        qs = qs.filter(release_id=release_id)
    if epic_id:
        qs = qs.filter(epic_id=epic_id)
    if initiative_id:
        qs = qs.filter(initiative_id=initiative_id)
    if feature_id:
        qs = qs.filter(feature_id=feature_id)
    if status:
        qs = qs.filter(status=status)
    if tag:
        qs = qs.filter(tags__name__iexact=tag)
    if search:
        search = search.strip()
        qs = qs.filter(Q(name__icontains=search) | Q(reference__iexact=search))
    return qs.order_by("kind", "number", "id")


def record_get(*, user: AbstractBaseUser, record_id: int) -> Record | None:
    return (
        record_base_queryset()
        .filter(workspace__in=workspace_list_for_user(user=user), pk=record_id)
        .first()
    )


def record_get_by_reference(*, workspace: Workspace, reference: str) -> Record | None:
    return record_base_queryset().filter(workspace=workspace, reference=reference).first()


def record_children(*, record: Record) -> QuerySet[Record]:
    """Direct children: whatever has this record as its parent of this record's kind."""
    if record.kind == RecordKind.REQUIREMENT:
        return Record.objects.none()
    return record_base_queryset().filter(**{record.kind: record}).order_by("kind", "number")


def record_link_list(
    *, user: AbstractBaseUser, workspace_id: int | None = None, record_id: int | None = None
) -> QuerySet[RecordLink]:
    qs = RecordLink.objects.select_related("source", "target", "workspace").filter(
        workspace__in=workspace_list_for_user(user=user)
    )
    if workspace_id:
        qs = qs.filter(workspace_id=workspace_id)
    if record_id:
        qs = qs.filter(Q(source_id=record_id) | Q(target_id=record_id))
    return qs.order_by("id")


@dataclass
class LinkView:
    """A link as seen from one record: "Blocks APP-12" or "Is blocked by APP-7"."""

    link: RecordLink
    name: str
    other: Record


def record_links_for(*, record: Record) -> list[LinkView]:
    links = RecordLink.objects.select_related("source", "target").filter(
        Q(source=record) | Q(target=record)
    )
    views = []
    for link in links.order_by("link_type", "id"):
        if link.source_id == record.pk:
            views.append(LinkView(link=link, name=link.outward_name, other=link.target))
        else:
            views.append(LinkView(link=link, name=link.inward_name, other=link.source))
    return views


@dataclass
class ReleaseGroup:
    release: Record | None
    epics: list[Record] = field(default_factory=list)
    features: list[Record] = field(default_factory=list)


@dataclass
class WorkspaceOverview:
    releases: list[ReleaseGroup]
    initiatives: list[Record]
    counts: dict[str, int]


def workspace_overview(*, workspace: Workspace) -> WorkspaceOverview:
    """Releases with their epics and features, then initiatives: four queries in all."""
    records = list(
        Record.objects.filter(workspace=workspace)
        .exclude(kind=RecordKind.REQUIREMENT)
        .select_related("assignee")
        .order_by("kind", "number")
    )
    counts = dict.fromkeys(RecordKind.values, 0)
    for record in records:
        counts[record.kind] += 1
    counts[RecordKind.REQUIREMENT] = Record.objects.filter(
        workspace=workspace, kind=RecordKind.REQUIREMENT
    ).count()
    releases = sorted(
        (r for r in records if r.kind == RecordKind.RELEASE),
        key=lambda r: (r.release_date is None, r.release_date, r.number),
    )
    groups = {r.pk: ReleaseGroup(release=r) for r in releases}
    unscheduled = ReleaseGroup(release=None)
    for record in records:
        if record.kind in (RecordKind.EPIC, RecordKind.FEATURE):
            group = groups.get(record.release_id, unscheduled)
            (group.epics if record.kind == RecordKind.EPIC else group.features).append(record)
    ordered = list(groups.values())
    if unscheduled.epics or unscheduled.features:
        ordered.append(unscheduled)
    initiatives = [r for r in records if r.kind == RecordKind.INITIATIVE]
    return WorkspaceOverview(releases=ordered, initiatives=initiatives, counts=counts)


def record_tag_names_for_workspace(*, workspace: Workspace) -> dict[int, list[str]]:
    """Tag names of every record of the workspace, by record id, in one query (for lists that
    show or filter by tags without a query per row)."""
    through = Record.tags.through
    names: dict[int, list[str]] = {}
    rows = (
        through.objects.filter(record__workspace=workspace)
        .order_by("tag__name")
        .values_list("record_id", "tag__name")
    )
    for record_id, name in rows:
        names.setdefault(record_id, []).append(name)
    return names
