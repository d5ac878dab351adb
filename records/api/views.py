"""Record resources: one per record type (initiatives, releases, epics, features,
requirements), a read-only /records/ for any type with its children, and record links.
Scoping and roles come from accounts.api.tenancy; writes call records.services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action

from accounts.api.tenancy import TenantModelViewSet, TenantReadOnlyViewSet
from records.kinds import RecordKind, kind_label, kind_plural
from records.models import RecordLink
from records.selectors import record_base_queryset, record_children
from records.services import (
    record_create,
    record_delete,
    record_link_create,
    record_link_delete,
    record_update,
)

from .filters import RECORD_FILTERSETS, AnyRecordFilterSet, RecordLinkFilterSet
from .serializers import RECORD_SERIALIZERS, RecordLinkSerializer, RecordSerializer


class RecordKindViewSet(TenantModelViewSet):
    """CRUD of the records of one type; ``kind`` is set by ``record_viewset_for``."""

    kind: str = ""
    account_field = "workspace__account"

    def base_queryset(self):
        return record_base_queryset().filter(kind=self.kind).order_by("workspace_id", "number")

    def account_id_for_create(self, data):
        return data["workspace"].account_id

    def create_object(self, data):
        data = dict(data)
        return record_create(
            workspace=data.pop("workspace"), kind=self.kind, created_by=self.request.user, **data
        )

    def update_object(self, instance, data):
        data = dict(data)
        data.pop("workspace", None)  # the serializer refused a move; same workspace is a no-op
        return record_update(record=instance, **data)

    def delete_object(self, instance):
        record_delete(record=instance)


def record_viewset_for(kind: str) -> type[RecordKindViewSet]:
    label, plural = kind_label(kind).lower(), kind_plural(kind).lower()
    extra = ""
    if kind == RecordKind.FEATURE:
        extra = " Deleting a feature deletes its requirements."
    viewset = type(
        f"{kind_label(kind)}ViewSet",
        (RecordKindViewSet,),
        {
            "kind": kind,
            "serializer_class": RECORD_SERIALIZERS[kind],
            "filterset_class": RECORD_FILTERSETS[kind],
            "__doc__": f"The {plural} of your workspaces.",
        },
    )
    return extend_schema_view(
        list=extend_schema(summary=f"List {plural}", tags=[plural]),
        retrieve=extend_schema(summary=f"Read a {label}", tags=[plural]),
        create=extend_schema(
            summary=f"Create a {label}",
            description="Needs the contributor, admin or owner role in the workspace's account.",
            tags=[plural],
        ),
        update=extend_schema(summary=f"Replace a {label}'s fields", tags=[plural]),
        partial_update=extend_schema(summary=f"Change some of a {label}'s fields", tags=[plural]),
        destroy=extend_schema(summary=f"Delete a {label}.{extra}", tags=[plural]),
    )(viewset)


RECORD_VIEWSETS = {kind: record_viewset_for(kind) for kind in RecordKind.values}


@extend_schema_view(
    list=extend_schema(summary="List records of any type"),
    retrieve=extend_schema(summary="Read a record of any type by id"),
)
class RecordViewSet(TenantReadOnlyViewSet):
    """Any record by id, whatever its type, and its children."""

    serializer_class = RecordSerializer
    filterset_class = AnyRecordFilterSet
    account_field = "workspace__account"

    def base_queryset(self):
        return record_base_queryset().order_by("workspace_id", "kind", "number")

    @extend_schema(
        summary="List a record's direct children",
        description="Epics and features of an initiative or release, features of an epic, "
        "requirements of a feature. A requirement has none.",
        responses={200: RecordSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def children(self, request, pk=None):
        children = record_children(record=self.get_object())
        page = self.paginate_queryset(children)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)


@extend_schema_view(
    list=extend_schema(summary="List record links"),
    retrieve=extend_schema(summary="Read a record link"),
    create=extend_schema(summary="Link two records of one workspace"),
    destroy=extend_schema(summary="Remove a record link"),
)
class RecordLinkViewSet(TenantModelViewSet):
    """Links between two records outside the hierarchy: "source <outward name> target"."""

    serializer_class = RecordLinkSerializer
    filterset_class = RecordLinkFilterSet
    account_field = "workspace__account"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def base_queryset(self):
        return RecordLink.objects.select_related("source", "target", "workspace").order_by("id")

    def account_id_for_create(self, data):
        return data["source"].workspace.account_id

    def create_object(self, data):
        return record_link_create(
            source=data["source"],
            target=data["target"],
            link_type=data["link_type"],
            created_by=self.request.user,
        )

    def delete_object(self, instance):
        record_link_delete(link=instance)
