"""Query filters of the record resources. Ids are plain numbers, not model choices: an id of
another account's object filters down to nothing instead of an error that would confirm it."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from records.kinds import RecordKind, kind_label, parent_kinds_of
from records.models import Record, RecordLink
from records.selectors import (
    STATUS_CATEGORIES,
    record_status_category_q,
    record_tag_q,
    record_text_q,
)
from records.workflows import statuses_for

# Ids are 64-bit; a bigger number matches nothing (and must not reach the database driver).
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An object id: a whole number (NumberFilter would take 1.5 and round it)."""

    field_class = forms.IntegerField

    def filter(self, qs, value):
        if value is not None and not 0 < value <= MAX_ID:
            return qs.none()
        return super().filter(qs, value)


def _search(queryset, name, value):
    return queryset.filter(record_text_q(value or ""))


def _tagged(queryset, name, value):
    return queryset.filter(record_tag_q(value or ""))


def _category(queryset, name, value):
    if not value:
        return queryset
    return queryset.filter(record_status_category_q(value, RecordKind.values))


class RecordFilterSet(django_filters.FilterSet):
    """Filters shared by every record type; parent filters are added per type."""

    workspace = IdFilter(field_name="workspace_id", help_text="Workspace id.")
    status = django_filters.CharFilter(help_text="Workflow status key.")
    category = django_filters.ChoiceFilter(
        method=_category,
        choices=STATUS_CATEGORIES,
        help_text="Status category, whatever the type's workflow calls it (as the board's).",
    )
    tag = django_filters.CharFilter(method=_tagged, help_text="Tag name (any case).")
    q = django_filters.CharFilter(
        method=_search,
        help_text="Text in the name (any case), or the exact reference (any case, e.g. app-12).",
    )

    class Meta:
        model = Record
        fields = ["workspace", "status", "category", "tag", "q"]


def _parent_filter(parent: str) -> IdFilter:
    return IdFilter(field_name=f"{parent}_id", help_text=f"Id of the parent {parent}.")


def _record_filterset_for(kind: str | None) -> type[RecordFilterSet]:
    parents = parent_kinds_of(kind) if kind else ["initiative", "release", "epic", "feature"]
    attrs: dict = {str(parent): _parent_filter(parent) for parent in parents}
    if kind:
        attrs["status"] = django_filters.ChoiceFilter(
            choices=[(s.key, s.label) for s in statuses_for(kind)],
            help_text=f"Workflow status key of a {kind_label(kind).lower()}.",
        )
        name = f"{kind_label(kind)}FilterSet"
    else:
        attrs["kind"] = django_filters.ChoiceFilter(choices=RecordKind.choices)
        name = "AnyRecordFilterSet"
    fields = [*RecordFilterSet.Meta.fields, *attrs]
    attrs["Meta"] = type("Meta", (RecordFilterSet.Meta,), {"fields": fields})
    return type(name, (RecordFilterSet,), attrs)


RECORD_FILTERSETS: dict[str, type[RecordFilterSet]] = {
    kind: _record_filterset_for(kind) for kind in RecordKind.values
}
AnyRecordFilterSet = _record_filterset_for(None)


class RecordLinkFilterSet(django_filters.FilterSet):
    workspace = IdFilter(field_name="workspace_id", help_text="Workspace id.")
    record = IdFilter(method="filter_record", help_text="Id of a record: links from or to it.")

    class Meta:
        model = RecordLink
        fields = ["workspace", "record"]

    def filter_record(self, queryset, name, value):
        if not 0 < value <= MAX_ID:
            return queryset.none()
        return queryset.filter(Q(source_id=value) | Q(target_id=value))
