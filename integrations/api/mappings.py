"""The four ordered child resources of an integration's mapping, in one shape.

Record mappings (rows), field mappings (of a row), value mappings (of a field mapping) and
relationship mappings (record link pairs) are each an ``OrderedChildViewSet``: list, create,
retrieve, partial update, destroy and reorder, every action one service call, with the
integration loaded in the user's accounts (404) and writes for owners and admins (403) by
``IntegrationAPIView``. ``ordered_child_routes`` gives each the same URL shape:

    <collection>/            GET list, POST create
    <collection>/reorder/    POST {"ids": [...]} (the new order)
    <detail>/                GET, PATCH, DELETE

Reads show effective values (the template's while inherited); the first write to an
inherited part copies it (integrations.services).
"""

from __future__ import annotations

from django.db import transaction
from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.viewsets import ViewSetMixin

from core.exceptions import ApplicationError

from .. import selectors
from ..services import field_mappings as fm_services
from ..services import record_mappings as rm_services
from ..services import relationships as rel_services
from .serializers import (
    FieldMappingSerializer,
    IdsSerializer,
    LinkedToInSerializer,
    MoveSerializer,
    RecordMappingInSerializer,
    RecordMappingOutSerializer,
    RelationshipMappingSerializer,
    RelationshipReorderSerializer,
    ValueMappingSerializer,
)
from .views import IntegrationAPIView, ResultSerializer, row_change_body

_COLLECTION_ACTIONS = {"get": "list", "post": "create"}
_DETAIL_ACTIONS = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}


class OrderedChildViewSet(ViewSetMixin, IntegrationAPIView):
    """One ordered child resource of an integration. Subclasses fill in the hooks, each a
    selector or one service call; the actions around them are the same for all four."""

    serializer_class: type[serializers.Serializer]  # one child, out (and in, by default)
    input_serializer_class: type[serializers.Serializer] | None = None
    reorder_serializer_class: type[serializers.Serializer] = IdsSerializer
    child_kwarg = ""  # the URL's name for the child id ("rm_id", "fm_id", ...)
    collection_methods = ("get", "post")
    detail_methods = ("get", "patch", "delete")
    not_found = "That mapping is not in this integration."

    # -- hooks ---------------------------------------------------------------------------
    def children(self) -> list:
        raise NotImplementedError

    def add(self, data: dict):
        """Create from validated input; returns the response body."""
        raise NotImplementedError

    def change(self, data: dict):
        raise NotImplementedError

    def remove(self):
        """Delete; returns a body, or None for 204."""
        raise NotImplementedError

    def reorder_children(self, data: dict):
        raise NotImplementedError

    # -- the shared shape ----------------------------------------------------------------
    def child_id(self):
        return self.kwargs[self.child_kwarg]

    def child(self):
        wanted = _int(self.child_id())
        for obj in self.children():
            if obj.pk == wanted:
                return obj
        raise NotFound(self.not_found)

    def get_serializer_class(self):  # for the schema of the shared actions
        return self._input_class()

    def _input_class(self):
        return self.input_serializer_class or self.serializer_class

    def list(self, request, **kwargs):
        return Response(self.serializer_class(self.children(), many=True).data)

    def create(self, request, **kwargs):
        body = self.add(self.input(self._input_class()))
        return Response(body, status=status.HTTP_201_CREATED)

    def retrieve(self, request, **kwargs):
        return Response(self.serializer_class(self.child()).data)

    def partial_update(self, request, **kwargs):
        return Response(self.change(self.input(self._input_class(), partial=True)))

    def destroy(self, request, **kwargs):
        body = self.remove()
        if body is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(body)

    @action(detail=False, methods=["post"])
    def reorder(self, request, **kwargs):
        return Response(self.reorder_children(self.input(self.reorder_serializer_class)))


def ordered_child_routes(
    viewset: type[OrderedChildViewSet],
    *,
    name: str,
    collection: str,
    detail: str,
    reorder: str | None = None,
    extra: tuple[tuple[str, str, str, str], ...] = (),
) -> list:
    """The URL patterns of one child resource: ``name``-list, -reorder, -detail, and any
    ``extra`` (path, HTTP method, viewset method, URL name) commands on one child."""
    collection_actions = {
        m: a for m, a in _COLLECTION_ACTIONS.items() if m in viewset.collection_methods
    }
    detail_actions = {m: a for m, a in _DETAIL_ACTIONS.items() if m in viewset.detail_methods}
    routes = [path(collection, viewset.as_view(collection_actions), name=f"{name}-list")]
    routes.append(
        path(
            reorder or f"{collection}reorder/",
            viewset.as_view({"post": "reorder"}),
            name=f"{name}-reorder",
        )
    )
    routes.append(path(detail, viewset.as_view(detail_actions), name=f"{name}-detail"))
    for route, method, method_name, route_name in extra:
        routes.append(path(route, viewset.as_view({method: method_name}), name=route_name))
    return routes


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- record mappings (the rows) ---------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses=RecordMappingOutSerializer(many=True)),
    create=extend_schema(request=RecordMappingInSerializer, responses=ResultSerializer),
    retrieve=extend_schema(responses=RecordMappingOutSerializer),
    partial_update=extend_schema(request=RecordMappingInSerializer, responses=ResultSerializer),
    destroy=extend_schema(responses=ResultSerializer),
    reorder=extend_schema(request=IdsSerializer, responses=ResultSerializer),
    move=extend_schema(request=MoveSerializer, responses=ResultSerializer),
    linked_to_add=extend_schema(request=LinkedToInSerializer, responses=ResultSerializer),
    linked_to_remove=extend_schema(responses=ResultSerializer),
    default_field_mappings=extend_schema(request=None, responses=FieldMappingSerializer(many=True)),
)
class RecordMappingViewSet(OrderedChildViewSet):
    """The rows: a record type here and what it becomes in Jira. Their order matters: a row
    below its parent type's row gets Linked to automatically."""

    serializer_class = RecordMappingOutSerializer
    input_serializer_class = RecordMappingInSerializer
    child_kwarg = "rm_id"
    not_found = "That record mapping row is not in this integration."

    def children(self):
        return selectors.record_mappings_effective(self.integration())

    def add(self, data):
        if "record_kind" not in data:
            raise ApplicationError("Choose the record type of the row.", field="record_kind")
        change = rm_services.record_mapping_add(
            integration=self.integration(),
            record_kind=data["record_kind"],
            target=data.get("target"),
            issue_type_ids=data.get("issue_type_ids"),
            default_issue_type_id=data.get("default_issue_type_id", ""),
        )
        return row_change_body(change, self.integration())

    def change(self, data):
        if "record_kind" in data:
            raise ApplicationError(
                "A row's record type cannot change: remove the row and add another.",
                field="record_kind",
            )
        kwargs = {
            k: data[k] for k in ("target", "issue_type_ids", "default_issue_type_id") if k in data
        }
        change = rm_services.record_mapping_update(
            integration=self.integration(), record_mapping_id=self.child_id(), **kwargs
        )
        return row_change_body(change, self.integration())

    def remove(self):
        change = rm_services.record_mapping_remove(
            integration=self.integration(), record_mapping_id=self.child_id()
        )
        return row_change_body(change, self.integration())

    def reorder_children(self, data):
        change = rm_services.record_mappings_reorder(
            integration=self.integration(), ordered_ids=data["ids"]
        )
        return row_change_body(change, self.integration())

    # Commands on one row.
    @action(detail=True, methods=["post"])
    def move(self, request, **kwargs):
        data = self.input(MoveSerializer)
        change = rm_services.record_mapping_move(
            integration=self.integration(),
            record_mapping_id=self.child_id(),
            direction=data["direction"],
        )
        return Response(row_change_body(change, self.integration()))

    @action(detail=True, methods=["post"])
    def linked_to_add(self, request, **kwargs):
        data = self.input(LinkedToInSerializer)
        change = rm_services.linked_to_add(
            integration=self.integration(),
            record_mapping_id=self.child_id(),
            parent_kind=data["parent_kind"],
            jira_field=data.get("jira_field", ""),
        )
        return Response(row_change_body(change, self.integration()), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["delete"])
    def linked_to_remove(self, request, **kwargs):
        change = rm_services.linked_to_remove(
            integration=self.integration(),
            record_mapping_id=self.child_id(),
            parent_kind=self.kwargs["parent_kind"],
        )
        return Response(row_change_body(change, self.integration()))

    @action(detail=True, methods=["post"])
    def default_field_mappings(self, request, **kwargs):
        integration = self.integration()
        mapping = fm_services.field_mappings_apply_defaults(
            integration=integration, record_mapping_id=self.child_id()
        )
        self.kwargs[self.child_kwarg] = mapping.pk
        return Response(FieldMappingSerializer(self.child().field_mappings.all(), many=True).data)


# -- field mappings (of a row) ----------------------------------------------------------------

FieldMappingCreate = inline_serializer(
    "FieldMappingCreate",
    fields={
        "record_mapping": serializers.IntegerField(),
        "local_field": serializers.CharField(),
        "jira_field_id": serializers.CharField(),
        "direction": serializers.CharField(required=False),
    },
)


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("record_mapping", int)],
        responses=FieldMappingSerializer(many=True),
    ),
    create=extend_schema(request=FieldMappingCreate, responses=FieldMappingSerializer),
    retrieve=extend_schema(responses=FieldMappingSerializer),
    partial_update=extend_schema(request=FieldMappingSerializer, responses=FieldMappingSerializer),
    destroy=extend_schema(responses={204: None}),
    reorder=extend_schema(request=IdsSerializer, responses=FieldMappingSerializer(many=True)),
)
class FieldMappingViewSet(OrderedChildViewSet):
    """``?record_mapping=<id>`` lists one row's; POST needs ``record_mapping``. The order is
    per row, so reorder sits under the row: record-mappings/<id>/field-mappings/reorder/."""

    serializer_class = FieldMappingSerializer
    child_kwarg = "fm_id"
    not_found = "That field mapping is not in this integration."

    def children(self):
        rows = selectors.record_mappings_effective(self.integration())
        wanted = self.request.query_params.get("record_mapping") if self.action == "list" else None
        return [
            fm
            for row in rows
            if wanted in (None, "", str(row.pk))
            for fm in row.field_mappings.all()
        ]

    def create(self, request, **kwargs):
        # The row comes in the body beside the field mapping's own fields.
        self.integration()  # 404/403 before any word about the input
        data = dict(request.data)
        rm_id = data.pop("record_mapping", None)
        if rm_id in (None, ""):
            raise ApplicationError(
                "Say which row the field mapping is for (record_mapping).", field="record_mapping"
            )
        serializer = FieldMappingSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        for required in ("local_field", "jira_field_id"):
            if required not in values:
                raise ApplicationError("This field is required.", field=required)
        fm = fm_services.field_mapping_add(
            integration=self.integration(),
            record_mapping_id=rm_id,
            local_field=values["local_field"],
            jira_field_id=values["jira_field_id"],
            direction=values.get("direction", "both"),
        )
        return Response(FieldMappingSerializer(fm).data, status=status.HTTP_201_CREATED)

    def change(self, data):
        fm = fm_services.field_mapping_update(
            integration=self.integration(), field_mapping_id=self.child_id(), **data
        )
        return FieldMappingSerializer(fm).data

    def remove(self):
        fm_services.field_mapping_remove(
            integration=self.integration(), field_mapping_id=self.child_id()
        )

    def reorder_children(self, data):
        with transaction.atomic():
            fm_services.field_mappings_reorder(
                integration=self.integration(),
                record_mapping_id=self.kwargs["rm_id"],
                ordered_ids=data["ids"],
            )
        return FieldMappingSerializer(self.children(), many=True).data


# -- value mappings (of a field mapping) ------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses=ValueMappingSerializer(many=True)),
    create=extend_schema(request=ValueMappingSerializer, responses=ValueMappingSerializer),
    partial_update=extend_schema(request=ValueMappingSerializer, responses=ValueMappingSerializer),
    destroy=extend_schema(responses={204: None}),
    reorder=extend_schema(request=IdsSerializer, responses=ResultSerializer),
)
class ValueMappingViewSet(OrderedChildViewSet):
    """Listed and ordered under their field mapping (field-mappings/<id>/value-mappings/);
    one value mapping is value-mappings/<id>/."""

    serializer_class = ValueMappingSerializer
    child_kwarg = "vm_id"
    detail_methods = ("patch", "delete")

    def field_mapping(self):
        fm_id = _int(self.kwargs["fm_id"])
        for row in selectors.record_mappings_effective(self.integration()):
            for fm in row.field_mappings.all():
                if fm.pk == fm_id:
                    return fm
        raise NotFound("That field mapping is not in this integration.")

    def children(self):
        return list(self.field_mapping().value_mappings.all())

    def add(self, data):
        vm = fm_services.value_mapping_add(
            integration=self.integration(),
            field_mapping_id=self.kwargs["fm_id"],
            local_value=data.get("local_value", ""),
            jira_value_id=data.get("jira_value_id", ""),
            jira_value_name=data.get("jira_value_name", ""),
        )
        return ValueMappingSerializer(vm).data

    def change(self, data):
        vm = fm_services.value_mapping_update(
            integration=self.integration(), value_mapping_id=self.child_id(), **data
        )
        return ValueMappingSerializer(vm).data

    def remove(self):
        fm_services.value_mapping_remove(
            integration=self.integration(), value_mapping_id=self.child_id()
        )

    def reorder_children(self, data):
        fm_services.value_mappings_reorder(
            integration=self.integration(),
            field_mapping_id=self.kwargs["fm_id"],
            ordered_ids=data["ids"],
        )
        return {"reordered": True}


# -- relationship mappings (record link pairs) ------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("record_kind", str)],
        responses=RelationshipMappingSerializer(many=True),
    ),
    create=extend_schema(
        request=RelationshipMappingSerializer, responses=RelationshipMappingSerializer
    ),
    partial_update=extend_schema(
        request=RelationshipMappingSerializer, responses=RelationshipMappingSerializer
    ),
    destroy=extend_schema(responses={204: None}),
    reorder=extend_schema(
        request=RelationshipReorderSerializer, responses=RelationshipMappingSerializer(many=True)
    ),
)
class RelationshipMappingViewSet(OrderedChildViewSet):
    """Ordered per record type (the first matching pair wins): ``?record_kind=`` lists one
    type's, and reorder names the type."""

    serializer_class = RelationshipMappingSerializer
    reorder_serializer_class = RelationshipReorderSerializer
    child_kwarg = "rel_id"
    detail_methods = ("patch", "delete")

    def children(self, record_kind: str | None = None):
        if record_kind is None and self.action == "list":
            record_kind = self.request.query_params.get("record_kind") or None
        return selectors.relationship_mappings_effective(self.integration(), record_kind)

    def add(self, data):
        for required in ("record_kind", "link_type", "jira_link_type_id"):
            if required not in data:
                raise ApplicationError("This field is required.", field=required)
        rel = rel_services.relationship_mapping_add(integration=self.integration(), **data)
        return RelationshipMappingSerializer(rel).data

    def change(self, data):
        if "record_kind" in data:
            raise ApplicationError(
                "The record type of a link mapping cannot change: add a new one.",
                field="record_kind",
            )
        rel = rel_services.relationship_mapping_update(
            integration=self.integration(), relationship_mapping_id=self.child_id(), **data
        )
        return RelationshipMappingSerializer(rel).data

    def remove(self):
        rel_services.relationship_mapping_remove(
            integration=self.integration(), relationship_mapping_id=self.child_id()
        )

    def reorder_children(self, data):
        rel_services.relationship_mappings_reorder(
            integration=self.integration(),
            record_kind=data["record_kind"],
            ordered_ids=data["ids"],
        )
        return RelationshipMappingSerializer(self.children(data["record_kind"]), many=True).data
