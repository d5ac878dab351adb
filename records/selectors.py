"""Reads of records. Every list is scoped to the user's accounts and issues a constant number
of queries whatever the number of rows (see bench/records_queries.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Lower, RowNumber

from accounts.models import Workspace
from accounts.selectors import workspace_list_for_user

from .extensions import record_prefetches
from .kinds import RecordKind, child_kinds_of
from .models import Record, RecordLink, Tag
from .workflows import statuses_for

RECORD_RELATED = ("workspace", "assignee", "created_by")
# Parents are read by a query each (only what their summary shows), not joined: four more
# self-joins of the record table cost PostgreSQL's planner ~100 ms a list (12 indexes a copy),
# against well under a millisecond to run.
RECORD_PARENTS = ("initiative", "release", "epic", "feature")


def record_base_queryset() -> QuerySet[Record]:
    parent = Record.objects.only("id", "workspace_id", "kind", "reference", "name")
    return Record.objects.select_related(*RECORD_RELATED).prefetch_related(
        *(Prefetch(kind, queryset=parent) for kind in RECORD_PARENTS),
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        *record_prefetches(),  # what apps above contribute (the sync's Jira links)
    )


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


# --- Pages: the workspace board and the record page ------------------------------------------
# Every read below is bounded by what one page shows and issues the same number of queries for
# 10 or 100,000 records: filters, caps and counts are done by the database.

BOARD_FEATURES_PER_RELEASE = 25  # features shown under each release group on the board
BOARD_RELEASES_PER_PAGE = 10  # release groups per board page
RELEASE_FEATURES_PER_PAGE = 100  # features per page of one release's full list
RECORD_CHILDREN_SHOWN = 50  # children of each type shown on a record page
RECORD_CHILDREN_PER_PAGE = 100  # children per page of one type's full list
LINK_TARGET_SUGGESTIONS = 20  # records suggested by the link form's search


@dataclass(frozen=True)
class BoardFilters:
    """The workspace page's filters: a status category, a tag name, text in name/reference."""

    category: str = ""
    tag: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        return bool(self.category or self.tag or self.text)


# -- the record filters: one definition each, for the board and the API's FilterSet ----------


STATUS_CATEGORIES = [("todo", "To do"), ("in_progress", "In progress"), ("done", "Done")]


def record_status_category_q(category: str, kinds: list[str]) -> Q:
    """Records of ``kinds`` whose status is in ``category`` for their kind; a status unknown to
    the workflow counts as to do (as the badge shows it). An unknown category matches nothing."""
    if category not in {key for key, _ in STATUS_CATEGORIES}:
        return Q(pk__in=[])
    q = Q(pk__in=[])
    for kind in kinds:
        statuses = statuses_for(kind)
        if category == "todo":
            others = [s.key for s in statuses if s.category != "todo"]
            q |= Q(kind=kind) & ~Q(status__in=others)
        else:
            q |= Q(kind=kind, status__in=[s.key for s in statuses if s.category == category])
    return q


def record_text_q(text: str) -> Q:
    """Text typed in a search box: in the name (any case), or the exact reference (any case),
    so "APP-1" finds APP-1 and not APP-10 to APP-19."""
    text = text.strip()
    if not text:
        return Q()
    return Q(name__icontains=text) | Q(reference__iexact=text)


def record_tag_q(tag: str, *, workspace: Workspace | None = None) -> Q:
    """Records carrying the tag, any case. Matches Lower(name) so the (workspace, lower name)
    unique index serves it, and filters by record id instead of joining tags into the list
    (a join that made PostgreSQL probe the tag table once per record)."""
    tag = tag.strip().lower()
    if not tag:
        return Q()
    tags = Tag.objects.annotate(lname=Lower("name")).filter(lname=tag)
    if workspace is not None:
        tags = tags.filter(workspace=workspace)
    return Q(pk__in=Record.tags.through.objects.filter(tag__in=tags).values("record_id"))


def board_filter_q(workspace: Workspace, filters: BoardFilters, *, kind: str | None = None) -> Q:
    """The filters as one SQL condition on records (of ``kind`` when given)."""
    q = Q()
    if filters.category:
        q &= record_status_category_q(filters.category, [kind] if kind else RecordKind.values)
    if filters.tag:
        q &= record_tag_q(filters.tag, workspace=workspace)
    if filters.text:
        q &= record_text_q(filters.text)
    return q


def workspace_record_counts(*, workspace: Workspace) -> dict[str, int]:
    """Records of each kind in the workspace: one aggregate query."""
    counts = dict.fromkeys(RecordKind.values, 0)
    rows = (
        Record.objects.filter(workspace=workspace)
        .values("kind")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("kind", "n")
    )
    counts.update(rows)
    return counts


def workspace_tag_names(*, workspace: Workspace) -> list[str]:
    """Names of the workspace's tags that some record carries (the tag filter's choices)."""
    in_use = Record.tags.through.objects.filter(tag_id=OuterRef("pk"))
    return list(
        Tag.objects.filter(workspace=workspace)
        .filter(Exists(in_use))
        .order_by(Lower("name"), "name")
        .values_list("name", flat=True)
    )


def record_tag_names_for(*, record_ids: list[int]) -> dict[int, list[str]]:
    """Tag names of the given records, by record id, in one query."""
    names: dict[int, list[str]] = {}
    if not record_ids:
        return names
    rows = (
        Record.tags.through.objects.filter(record_id__in=record_ids)
        .order_by("tag__name")
        .values_list("record_id", "tag__name")
    )
    for record_id, name in rows:
        names.setdefault(record_id, []).append(name)
    return names


@dataclass
class EpicRow:
    epic: Record
    features: list[Record] = field(default_factory=list)


@dataclass
class BoardGroup:
    """One release (or "Unscheduled") on the workspace page, after filtering."""

    release: Record | None
    epics: list[EpicRow]
    loose_features: list[Record]
    feature_count: int  # every matching feature of the group, shown or not

    @property
    def shown_count(self) -> int:
        return len(self.loose_features) + sum(len(row.features) for row in self.epics)

    @property
    def has_more(self) -> bool:
        return self.feature_count > self.shown_count

    @property
    def key(self) -> str:
        """The ``?release=`` value of this group's full list."""
        return str(self.release.pk) if self.release else "none"


@dataclass
class WorkspaceBoard:
    groups: list[BoardGroup]
    initiatives: list[Record]
    # The board pages release groups; one release's full list pages its features.
    page: Page


FEATURE_ROW_RELATED = ("assignee", "initiative", "epic")
# What a feature row shows: no description, no timestamps.
FEATURE_ROW_FIELDS = (
    *("id", "workspace_id", "kind", "number", "reference", "name", "status"),
    *("release_id", "epic_id", "initiative_id", "assignee_id"),
    *("epic__id", "epic__kind", "epic__reference", "epic__name"),
    *("initiative__id", "initiative__kind", "initiative__reference", "initiative__name"),
    *("assignee__id", "assignee__username", "assignee__first_name", "assignee__last_name"),
)


def _features(workspace: Workspace, filters: BoardFilters) -> QuerySet[Record]:
    qs = Record.objects.filter(workspace=workspace, kind=RecordKind.FEATURE)
    if filters.active:
        qs = qs.filter(board_filter_q(workspace, filters, kind=RecordKind.FEATURE))
    return qs


def _epics_in(
    workspace: Workspace, scope: Q, filters: BoardFilters, holders: set[tuple[int | None, int]]
) -> list[Record]:
    """Epics of the groups in ``scope``; when filtering, those that match or hold a matching
    feature of their own release group (``holders``: (release id, epic id) of the matching
    features)."""
    epics = Record.objects.filter(workspace=workspace, kind=RecordKind.EPIC).filter(scope)
    if not filters.active:
        return list(epics.order_by("number", "pk"))
    matches = board_filter_q(workspace, filters, kind=RecordKind.EPIC)
    epics = epics.annotate(
        matches=Case(When(matches, then=Value(True)), default=Value(False))
    ).order_by("number", "pk")
    return [e for e in epics if e.matches or (e.release_id, e.pk) in holders]


def _feature_counts(features: QuerySet[Record]) -> tuple[dict, set]:
    """Features per release id, and the (release id, epic id) pairs they have: one query."""
    rows = (
        features.values("release_id", "epic_id")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("release_id", "epic_id", "n")
    )
    counts: dict[int | None, int] = {}
    holders = set()
    for release_id, epic_id, n in rows:
        counts[release_id] = counts.get(release_id, 0) + n
        if epic_id is not None:
            holders.add((release_id, epic_id))
    return counts, holders


def _nth_feature_number(features: QuerySet[Record]) -> QuerySet[Record]:
    """The number of the 25th feature by number (features are numbered uniquely per workspace),
    as a one-value subquery: empty when there are no more than 25."""
    cap = BOARD_FEATURES_PER_RELEASE
    return features.order_by("number").values("number")[cap - 1 : cap]


def _release_scope(workspace: Workspace, release_ids: list[int], *, unscheduled: bool) -> Q:
    """Records of these releases (of ``workspace``), and of none when ``unscheduled``. The
    release ids alone lead the condition so the database reads the release's index, even with
    no statistics yet (e.g. right after a bulk import)."""
    scope = Q(release_id__in=release_ids)
    if unscheduled:
        scope |= Q(release__isnull=True, workspace=workspace)
    return scope


def _scoped_features(workspace: Workspace, filters: BoardFilters) -> QuerySet[Record]:
    """Features of any workspace: only for use with a ``_release_scope``, which pins them to
    one workspace's releases."""
    qs = Record.objects.filter(kind=RecordKind.FEATURE)
    if filters.active:
        qs = qs.filter(board_filter_q(workspace, filters, kind=RecordKind.FEATURE))
    return qs


def _group(release, epics, features, feature_count) -> BoardGroup:
    rows = {epic.pk: EpicRow(epic=epic) for epic in epics}
    loose = []
    for feature in features:
        (rows[feature.epic_id].features if feature.epic_id in rows else loose).append(feature)
    return BoardGroup(
        release=release,
        epics=list(rows.values()),
        loose_features=loose,
        feature_count=feature_count,
    )


def _attach_tags(records: list[Record]) -> None:
    names = record_tag_names_for(record_ids=[r.pk for r in records])
    for record in records:
        record.tag_names = names.get(record.pk, [])


def workspace_board(
    *, workspace: Workspace, filters: BoardFilters, page: str | int | None = 1
) -> WorkspaceBoard:
    """Releases by date (10 groups a page) with their epics and their first 25 features by
    number, then Unscheduled on the last page, then initiatives. Eight queries whatever the
    size: releases (count + page), epics, feature counts per group, capped features, tags,
    initiatives, plus none per row."""
    releases = Record.objects.filter(workspace=workspace, kind=RecordKind.RELEASE)
    features = _features(workspace, filters)
    if filters.active:
        matching_epics = Record.objects.filter(workspace=workspace, kind=RecordKind.EPIC).filter(
            board_filter_q(workspace, filters, kind=RecordKind.EPIC)
        )
        releases = releases.filter(
            Q(pk__in=features.values("release_id")) | Q(pk__in=matching_epics.values("release_id"))
        )
    else:
        # The number of each group's last shown feature (None: no more than the cap), read by
        # an index scan of at most 25 entries per release.
        releases = releases.annotate(
            last_shown_number=Subquery(
                _nth_feature_number(
                    Record.objects.filter(kind=RecordKind.FEATURE, release=OuterRef("pk"))
                )
            )
        )
    releases = releases.order_by(F("release_date").asc(nulls_last=True), "number", "pk")
    page_obj = Paginator(releases, BOARD_RELEASES_PER_PAGE).get_page(page)
    release_list = list(page_obj.object_list)
    with_unscheduled = not page_obj.has_next()
    scope = _release_scope(workspace, [r.pk for r in release_list], unscheduled=with_unscheduled)
    scoped = _scoped_features(workspace, filters).filter(scope)

    counts, holders = _feature_counts(scoped)
    epics = _epics_in(workspace, scope, filters, holders)
    if filters.active:
        # Matching features are few enough to rank them all, by number within each group.
        ranked = scoped.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("release_id")],
                order_by=[F("number").asc(), F("pk").asc()],
            )
        ).filter(rank__lte=BOARD_FEATURES_PER_RELEASE)
        shown_q = Q(pk__in=ranked.values("pk"))
    else:
        shown_q = Q(pk__in=[])
        for release in release_list:
            if release.last_shown_number is None:
                shown_q |= Q(release_id=release.pk)
            else:
                shown_q |= Q(release_id=release.pk, number__lte=release.last_shown_number)
        if with_unscheduled:
            last_unscheduled = _nth_feature_number(features.filter(release__isnull=True))
            shown_q |= Q(
                release__isnull=True,
                workspace=workspace,
                number__lte=Coalesce(Subquery(last_unscheduled), Value(2**31 - 1)),
            )
    shown = list(
        Record.objects.filter(kind=RecordKind.FEATURE)
        .filter(shown_q)
        .select_related(*FEATURE_ROW_RELATED)
        .only(*FEATURE_ROW_FIELDS)
        .order_by("number", "pk")
    )
    initiatives = Record.objects.filter(workspace=workspace, kind=RecordKind.INITIATIVE)
    if filters.active:
        initiatives = initiatives.filter(
            board_filter_q(workspace, filters, kind=RecordKind.INITIATIVE)
        )
    initiatives = list(initiatives.order_by("number", "pk"))
    _attach_tags([*shown, *initiatives])

    groups = []
    for release in [*release_list, *([None] if with_unscheduled else [])]:
        release_id = release.pk if release else None
        group = _group(
            release,
            [e for e in epics if e.release_id == release_id],
            [f for f in shown if f.release_id == release_id],
            counts.get(release_id, 0),
        )
        if release is None and not (group.epics or group.feature_count):
            continue  # no Unscheduled group when nothing is unscheduled
        groups.append(group)
    return WorkspaceBoard(groups=groups, initiatives=initiatives, page=page_obj)


def workspace_release_features(
    *,
    workspace: Workspace,
    release: Record | None,
    filters: BoardFilters,
    page: str | int | None = 1,
) -> WorkspaceBoard:
    """One release group (``release=None``: Unscheduled) with every matching feature, 100 a
    page. Epics that hold no feature of the page show on the first page only."""
    scope = _release_scope(workspace, [release.pk] if release else [], unscheduled=not release)
    features = (
        _scoped_features(workspace, filters)
        .filter(scope)
        .select_related(*FEATURE_ROW_RELATED)
        .only(*FEATURE_ROW_FIELDS)
        .order_by("number", "pk")
    )
    page_obj = Paginator(features, RELEASE_FEATURES_PER_PAGE).get_page(page)
    shown = list(page_obj.object_list)
    _attach_tags(shown)
    holders = set()
    if filters.active:
        epic_ids = (
            _scoped_features(workspace, filters)
            .filter(scope, epic__isnull=False)
            .values_list("epic_id", flat=True)
            .order_by()
            .distinct()
        )
        holders = {(release.pk if release else None, pk) for pk in epic_ids}
    epics = _epics_in(workspace, scope, filters, holders)
    group = _group(release, epics, shown, page_obj.paginator.count)
    if page_obj.number > 1:
        group.epics = [row for row in group.epics if row.features]
    return WorkspaceBoard(groups=[group], initiatives=[], page=page_obj)


def workspace_release_get(*, workspace: Workspace, release_id: int) -> Record | None:
    return Record.objects.filter(
        workspace=workspace, kind=RecordKind.RELEASE, pk=release_id
    ).first()


@dataclass
class ChildGroup:
    kind: str
    records: list[Record]
    count: int

    @property
    def has_more(self) -> bool:
        return self.count > len(self.records)


def record_child_counts(*, record: Record) -> dict[str, int]:
    """Direct children of each child kind: one aggregate query."""
    counts = dict.fromkeys(child_kinds_of(record.kind), 0)
    if counts:
        counts.update(
            Record.objects.filter(**{record.kind: record})
            .values("kind")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("kind", "n")
        )
    return counts


def record_children_shown(*, record: Record) -> list[ChildGroup]:
    """The first 50 children of each kind by number, with each kind's total: two queries."""
    counts = record_child_counts(record=record)
    if not counts:
        return []
    ranked = (
        Record.objects.filter(**{record.kind: record})
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("kind")],
                order_by=[F("number").asc(), F("pk").asc()],
            )
        )
        .filter(rank__lte=RECORD_CHILDREN_SHOWN)
    )
    children = list(Record.objects.filter(pk__in=ranked.values("pk")).order_by("number", "pk"))
    return [
        ChildGroup(kind=kind, records=[c for c in children if c.kind == kind], count=count)
        for kind, count in counts.items()
    ]


def record_children_page(*, record: Record, kind: str, page: str | int | None = 1) -> Page:
    """Every child of one kind, 100 a page."""
    children = Record.objects.filter(**{record.kind: record}, kind=kind).order_by("number", "pk")
    return Paginator(children, RECORD_CHILDREN_PER_PAGE).get_page(page)


def record_link_target_search(*, record: Record, text: str) -> list[Record]:
    """Records of ``record``'s workspace that the link form may suggest for ``text``: the exact
    reference first, then references starting with it, then names containing it; at most 20."""
    text = text.strip()
    if not text:
        return []
    reference = text.upper()
    exact = Q(reference=reference)
    starts = Q(reference__startswith=reference)
    candidates = (
        Record.objects.filter(workspace_id=record.workspace_id)
        .exclude(pk=record.pk)
        .filter(exact | starts | Q(name__icontains=text))
    )
    ranked = candidates.annotate(
        rank=Case(
            When(exact, then=Value(0)),
            When(starts, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    )
    return list(
        ranked.order_by("rank", "kind", "number", "pk").only("pk", "reference", "name", "kind")[
            :LINK_TARGET_SUGGESTIONS
        ]
    )
