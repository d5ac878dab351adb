"""Integration API (/api/v1/integrations/...): CRUD of integrations through core.api's tenant
viewset, and small APIViews for each command and for the nested mapping resources.

Every member of the account can read; only an owner or admin can write. Another account's
integration is a 404. Mapping reads show effective values (the template's while inherited);
the first write to an inherited part copies it (integrations.services)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ROLE_CAN_ADMINISTER, Membership
from core.api import WRITE_ROLE_ADMIN, ApiAutoSchema, TenantModelViewSet
from core.exceptions import ApplicationError

from .. import selectors
from ..models import Integration
from ..services import configuration as configuration_services
from ..services import field_mappings as fm_services
from ..services import integrations as services
from ..services import portability
from ..services import record_mappings as rm_services
from ..services import relationships as rel_services
from .serializers import (
    FieldMappingSerializer,
    IdsSerializer,
    IntegrationSerializer,
    LinkedToInSerializer,
    MoveSerializer,
    RecordMappingInSerializer,
    RecordMappingOutSerializer,
    RelationshipMappingSerializer,
    RelationshipReorderSerializer,
    ResetSerializer,
    RotateSerializer,
    ValueMappingSerializer,
)

CONNECTION_FIELDS = ("deployment", "base_url", "email", "api_token", "personal_access_token")
PROJECT_FIELDS = ("project_key", "project_id", "project_name")
SETTINGS_FIELDS = ("name", "auto_import", "require_approval", "last_completed_step")

AnyJson = inline_serializer("AnyJson", fields={"detail": serializers.JSONField(required=False)})


class IntegrationViewSet(TenantModelViewSet):
    """Integrations of the user's accounts: workspace integrations and account templates."""

    serializer_class = IntegrationSerializer
    write_role = WRITE_ROLE_ADMIN
    filterset_fields = ["workspace", "is_template", "state"]

    def base_queryset(self):
        return Integration.objects.select_related("account", "workspace", "template").order_by(
            "name", "id"
        )

    def scope_queryset(self, queryset):
        return queryset.filter(
            account__in=Membership.objects.filter(user=self.request.user).values("account_id")
        )

    def account_id_for_create(self, data):
        if data.get("workspace") is not None:
            return data["workspace"].account_id
        if data.get("template") is not None:
            return data["template"].account_id
        if data.get("account") is not None:
            return data["account"].id
        raise ApplicationError(
            "Give the workspace for a workspace integration, or the account with "
            "is_template: true for a template.",
            field="workspace",
        )

    def create_object(self, data):
        workspace = data.get("workspace")
        template = data.get("template")
        account = data.get("account") or (workspace.account if workspace else None)
        if account is None:
            raise ApplicationError("Give the account the template belongs to.", field="account")
        if workspace is not None and data.get("account") and workspace.account_id != account.id:
            raise ApplicationError("That workspace is not in this account.", field="workspace")
        integration = services.integration_create(
            account=account,
            name=data["name"],
            workspace=workspace,
            is_template=data.get("is_template", False),
            template=template,
            created_by=self.request.user,
            auto_import=data.get("auto_import", False),
            require_approval=data.get("require_approval", False),
        )
        self._apply_parts(integration, data)
        return integration

    def _apply_parts(self, integration, data):
        connection = {k: data[k] for k in CONNECTION_FIELDS if k in data}
        if connection:
            services.integration_set_connection(integration=integration, **connection)
        if "project_key" in data:
            services.integration_set_project(
                integration=integration,
                project_key=data["project_key"],
                project_id=data.get("project_id", ""),
                project_name=data.get("project_name", ""),
            )

    def update_object(self, instance, data):
        settings = {k: data[k] for k in SETTINGS_FIELDS if k in data}
        services.integration_update(integration=instance, **settings)
        self._apply_parts(instance, data)
        return instance

    def delete_object(self, instance):
        services.integration_delete(integration=instance)


# -- base for commands and nested resources ---------------------------------------------------


class IntegrationAPIView(APIView):
    """Loads the integration in the user's accounts (404 otherwise); writes need an account
    owner or admin (403 with the reason)."""

    permission_classes = [permissions.IsAuthenticated]
    schema = ApiAutoSchema()
    write_methods = ("POST", "PUT", "PATCH", "DELETE")

    def integration(self) -> Integration:
        if getattr(self, "_integration", None) is None:
            integration = selectors.integration_get_for_user(
                user=self.request.user, integration_id=self.kwargs.get("pk")
            )
            if integration is None:
                raise NotFound("Not found: it does not exist, or it is not in your account.")
            if self.request.method in self.write_methods:
                role = (
                    Membership.objects.filter(
                        user=self.request.user, account_id=integration.account_id
                    )
                    .values_list("role", flat=True)
                    .first()
                )
                if role not in ROLE_CAN_ADMINISTER:
                    raise PermissionDenied("Only an account owner or admin can do this.")
            self._integration = integration
        return self._integration

    def input(self, serializer_class, *, partial=False):
        self.integration()  # 404/403 before any word about the input
        serializer = serializer_class(
            data=self.request.data, partial=partial, context={"request": self.request}
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def _problems(problems) -> list[dict]:
    return [p.as_dict() for p in problems]


def _row_change(change, integration) -> dict:
    body = {
        "added_linked_to": change.added_linked_to,
        "removed_linked_to": change.removed_linked_to,
        "problems": _problems(change.problems),
        "record_mappings": RecordMappingOutSerializer(
            selectors.record_mappings_effective(integration), many=True
        ).data,
    }
    if change.mapping is not None:
        mapping = next(
            (
                m
                for m in selectors.record_mappings_effective(integration)
                if m.pk == change.mapping.pk
            ),
            change.mapping,
        )
        body["record_mapping"] = RecordMappingOutSerializer(mapping).data
    return body


class ResultSerializer(serializers.Serializer):
    detail = serializers.JSONField(required=False)


# -- commands ---------------------------------------------------------------------------------


class TestConnectionView(IntegrationAPIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "ConnectionResult",
            fields={
                "ok": serializers.BooleanField(),
                "message": serializers.CharField(),
                "code": serializers.CharField(),
                "user": inline_serializer(
                    "ConnectionUser",
                    fields={
                        "account_id": serializers.CharField(),
                        "display_name": serializers.CharField(),
                        "email": serializers.CharField(),
                    },
                    allow_null=True,
                ),
            },
        ),
        summary="Test the connection to Jira; answers in plain words.",
    )
    def post(self, request, pk):
        result = configuration_services.connection_test(integration=self.integration())
        # The provider's summary of the Jira user, as it gives it (None when not connected).
        user = result.user or None
        if user:
            user = {k: user.get(k) or "" for k in ("account_id", "display_name", "email")}
        return Response(
            {"ok": result.ok, "message": result.message, "code": result.code, "user": user}
        )


class ReloadConfigurationView(IntegrationAPIView):
    @extend_schema(
        request=None,
        responses=ResultSerializer,
        summary="Fetch issue types, fields, statuses, versions and link types from Jira. "
        "Never changes a mapping; answers what was added/removed and the warnings.",
    )
    def post(self, request, pk):
        result = configuration_services.configuration_reload(integration=self.integration())
        return Response(result.as_dict())


class ConfigurationView(IntegrationAPIView):
    @extend_schema(responses=ResultSerializer, summary="The stored Jira configuration.")
    def get(self, request, pk):
        integration = self.integration()
        source = selectors.configuration_source(integration)
        return Response(
            {
                "configuration": source.configuration or {},
                "fetched_at": source.configuration_fetched_at,
                "inherited": source.pk != integration.pk,
            }
        )


class ProjectsView(IntegrationAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Search by key or name.")],
        responses=ResultSerializer,
        summary="Jira projects the connection's credentials can see.",
    )
    def get(self, request, pk):
        projects = configuration_services.project_list(
            integration=self.integration(), query=request.query_params.get("q", "")
        )
        return Response({"results": projects})


class ApplyDefaultsView(IntegrationAPIView):
    @extend_schema(
        request=None,
        responses=ResultSerializer,
        summary="REPLACE the whole record mappings table (Linked to, field and value mappings "
        "included) with the recommended defaults built from the project's issue types.",
    )
    def post(self, request, pk):
        integration = self.integration()
        result = rm_services.mappings_apply_defaults(integration=integration)
        return Response(
            {
                "replaced": True,
                "replaced_rows": result.replaced_rows,
                "notes": result.notes,
                "record_mappings": RecordMappingOutSerializer(
                    selectors.record_mappings_effective(integration), many=True
                ).data,
                "warnings": _problems(selectors.integration_warnings(integration)),
            }
        )


class EnableView(IntegrationAPIView):
    @extend_schema(request=None, responses=IntegrationSerializer, summary="Enable syncing.")
    def post(self, request, pk):
        integration = services.integration_enable(integration=self.integration())
        return Response(IntegrationSerializer(integration, context={"request": request}).data)


class DisableView(IntegrationAPIView):
    @extend_schema(request=None, responses=IntegrationSerializer, summary="Stop syncing.")
    def post(self, request, pk):
        integration = services.integration_disable(integration=self.integration())
        return Response(IntegrationSerializer(integration, context={"request": request}).data)


class RotateWebhookTokenView(IntegrationAPIView):
    @extend_schema(request=RotateSerializer, responses=IntegrationSerializer)
    def post(self, request, pk):
        data = self.input(RotateSerializer)
        integration = services.integration_rotate_webhook_token(
            integration=self.integration(), rotate_secret=data.get("rotate_secret", False)
        )
        return Response(IntegrationSerializer(integration, context={"request": request}).data)


class WebhookView(IntegrationAPIView):
    """The webhook URL and secret for the Enable step. Admins only, even to read, because
    the secret lets anyone post as Jira."""

    write_methods = ("GET", "POST", "PUT", "PATCH", "DELETE")

    @extend_schema(
        responses=inline_serializer(
            "WebhookSetup",
            fields={"url": serializers.CharField(), "secret": serializers.CharField()},
        ),
        summary="Webhook URL and signing secret (owner/admin only).",
    )
    def get(self, request, pk):
        integration = self.integration()
        path = f"/webhooks/jira/{integration.webhook_token}/"
        return Response(
            {
                "url": request.build_absolute_uri(path),
                "secret": services.integration_webhook_secret(integration=integration),
                "events": [
                    "jira:issue_created",
                    "jira:issue_updated",
                    "jira:issue_deleted",
                    "issuelink_created",
                    "issuelink_deleted",
                    "jira:version_created",
                    "jira:version_updated",
                    "jira:version_released",
                    "jira:version_deleted",
                ],
            }
        )


class ResetToTemplateView(IntegrationAPIView):
    @extend_schema(request=ResetSerializer, responses=IntegrationSerializer)
    def post(self, request, pk):
        data = self.input(ResetSerializer)
        integration = services.integration_reset_part(
            integration=self.integration(), part=data["part"]
        )
        return Response(IntegrationSerializer(integration, context={"request": request}).data)


class WarningsView(IntegrationAPIView):
    @extend_schema(responses=ResultSerializer, summary="Every problem, in words, with where.")
    def get(self, request, pk):
        return Response({"warnings": _problems(selectors.integration_warnings(self.integration()))})


class ValidateView(IntegrationAPIView):
    write_methods = ()

    @extend_schema(request=None, responses=ResultSerializer, summary="Problems per row.")
    def post(self, request, pk):
        return Response(selectors.validate_mapping(self.integration()))

    get = post


class ExportView(IntegrationAPIView):
    @extend_schema(responses=ResultSerializer, summary="The whole mapping as a JSON document.")
    def get(self, request, pk):
        return Response(portability.mapping_export(integration=self.integration()))


class ImportView(IntegrationAPIView):
    @extend_schema(
        request=ResultSerializer,
        responses=ResultSerializer,
        summary="Replace the mapping with an exported document; all or nothing.",
    )
    def post(self, request, pk):
        integration = portability.mapping_import(
            integration=self.integration(), document=request.data
        )
        return Response(
            {
                "imported": True,
                "record_mappings": RecordMappingOutSerializer(
                    selectors.record_mappings_effective(integration), many=True
                ).data,
                "warnings": _problems(selectors.integration_warnings(integration)),
            }
        )


# -- record mappings --------------------------------------------------------------------------


def _effective_row(integration, rm_id):
    for mapping in selectors.record_mappings_effective(integration):
        if str(mapping.pk) == str(rm_id):
            return mapping
    raise NotFound("That record mapping row is not in this integration.")


class RecordMappingListView(IntegrationAPIView):
    @extend_schema(responses=RecordMappingOutSerializer(many=True))
    def get(self, request, pk):
        rows = selectors.record_mappings_effective(self.integration())
        return Response(RecordMappingOutSerializer(rows, many=True).data)

    @extend_schema(request=RecordMappingInSerializer, responses=ResultSerializer)
    def post(self, request, pk):
        integration = self.integration()
        data = self.input(RecordMappingInSerializer)
        if "record_kind" not in data:
            raise ApplicationError("Choose the record type of the row.", field="record_kind")
        change = rm_services.record_mapping_add(
            integration=integration,
            record_kind=data["record_kind"],
            target=data.get("target"),
            issue_type_ids=data.get("issue_type_ids"),
            default_issue_type_id=data.get("default_issue_type_id", ""),
        )
        return Response(_row_change(change, integration), status=status.HTTP_201_CREATED)


class RecordMappingDetailView(IntegrationAPIView):
    @extend_schema(responses=RecordMappingOutSerializer)
    def get(self, request, pk, rm_id):
        return Response(RecordMappingOutSerializer(_effective_row(self.integration(), rm_id)).data)

    @extend_schema(request=RecordMappingInSerializer, responses=ResultSerializer)
    def patch(self, request, pk, rm_id):
        integration = self.integration()
        data = self.input(RecordMappingInSerializer, partial=True)
        if "record_kind" in data:
            raise ApplicationError(
                "A row's record type cannot change: remove the row and add another.",
                field="record_kind",
            )
        kwargs = {
            k: data[k] for k in ("target", "issue_type_ids", "default_issue_type_id") if k in data
        }
        change = rm_services.record_mapping_update(
            integration=integration, record_mapping_id=rm_id, **kwargs
        )
        return Response(_row_change(change, integration))

    @extend_schema(responses=ResultSerializer)
    def delete(self, request, pk, rm_id):
        integration = self.integration()
        change = rm_services.record_mapping_remove(integration=integration, record_mapping_id=rm_id)
        return Response(_row_change(change, integration))


class RecordMappingReorderView(IntegrationAPIView):
    @extend_schema(request=IdsSerializer, responses=ResultSerializer)
    def post(self, request, pk):
        integration = self.integration()
        data = self.input(IdsSerializer)
        change = rm_services.record_mappings_reorder(
            integration=integration, ordered_ids=data["ids"]
        )
        return Response(_row_change(change, integration))


class RecordMappingMoveView(IntegrationAPIView):
    @extend_schema(request=MoveSerializer, responses=ResultSerializer)
    def post(self, request, pk, rm_id):
        integration = self.integration()
        data = self.input(MoveSerializer)
        change = rm_services.record_mapping_move(
            integration=integration, record_mapping_id=rm_id, direction=data["direction"]
        )
        return Response(_row_change(change, integration))


class LinkedToView(IntegrationAPIView):
    @extend_schema(request=LinkedToInSerializer, responses=ResultSerializer)
    def post(self, request, pk, rm_id):
        integration = self.integration()
        data = self.input(LinkedToInSerializer)
        change = rm_services.linked_to_add(
            integration=integration,
            record_mapping_id=rm_id,
            parent_kind=data["parent_kind"],
            jira_field=data.get("jira_field", ""),
        )
        return Response(_row_change(change, integration), status=status.HTTP_201_CREATED)


class LinkedToDetailView(IntegrationAPIView):
    @extend_schema(responses=ResultSerializer)
    def delete(self, request, pk, rm_id, parent_kind):
        integration = self.integration()
        change = rm_services.linked_to_remove(
            integration=integration, record_mapping_id=rm_id, parent_kind=parent_kind
        )
        return Response(_row_change(change, integration))


class RecordMappingDefaultFieldsView(IntegrationAPIView):
    @extend_schema(request=None, responses=FieldMappingSerializer(many=True))
    def post(self, request, pk, rm_id):
        integration = self.integration()
        mapping = fm_services.field_mappings_apply_defaults(
            integration=integration, record_mapping_id=rm_id
        )
        row = _effective_row(integration, mapping.pk)
        return Response(FieldMappingSerializer(row.field_mappings.all(), many=True).data)


# -- field and value mappings -----------------------------------------------------------------


def _effective_field_mappings(integration):
    out = {}
    for mapping in selectors.record_mappings_effective(integration):
        for fm in mapping.field_mappings.all():
            out[fm.pk] = fm
    return out


def _effective_field_mapping(integration, fm_id):
    fm = _effective_field_mappings(integration).get(_int(fm_id))
    if fm is None:
        raise NotFound("That field mapping is not in this integration.")
    return fm


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class FieldMappingListView(IntegrationAPIView):
    """``?record_mapping=<id>`` lists one row's; POST needs ``record_mapping``."""

    @extend_schema(
        parameters=[OpenApiParameter("record_mapping", int)],
        responses=FieldMappingSerializer(many=True),
    )
    def get(self, request, pk):
        integration = self.integration()
        rows = selectors.record_mappings_effective(integration)
        wanted = request.query_params.get("record_mapping")
        fms = [
            fm
            for row in rows
            if wanted in (None, "", str(row.pk))
            for fm in row.field_mappings.all()
        ]
        return Response(FieldMappingSerializer(fms, many=True).data)

    @extend_schema(
        request=inline_serializer(
            "FieldMappingCreate",
            fields={
                "record_mapping": serializers.IntegerField(),
                "local_field": serializers.CharField(),
                "jira_field_id": serializers.CharField(),
                "direction": serializers.CharField(required=False),
            },
        ),
        responses=FieldMappingSerializer,
    )
    def post(self, request, pk):
        integration = self.integration()
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
            integration=integration,
            record_mapping_id=rm_id,
            local_field=values["local_field"],
            jira_field_id=values["jira_field_id"],
            direction=values.get("direction", "both"),
        )
        return Response(FieldMappingSerializer(fm).data, status=status.HTTP_201_CREATED)


class FieldMappingDetailView(IntegrationAPIView):
    @extend_schema(responses=FieldMappingSerializer)
    def get(self, request, pk, fm_id):
        return Response(
            FieldMappingSerializer(_effective_field_mapping(self.integration(), fm_id)).data
        )

    @extend_schema(request=FieldMappingSerializer, responses=FieldMappingSerializer)
    def patch(self, request, pk, fm_id):
        integration = self.integration()
        data = self.input(FieldMappingSerializer, partial=True)
        fm = fm_services.field_mapping_update(
            integration=integration, field_mapping_id=fm_id, **data
        )
        return Response(FieldMappingSerializer(fm).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk, fm_id):
        fm_services.field_mapping_remove(integration=self.integration(), field_mapping_id=fm_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FieldMappingReorderView(IntegrationAPIView):
    @extend_schema(request=IdsSerializer, responses=FieldMappingSerializer(many=True))
    def post(self, request, pk, rm_id):
        integration = self.integration()
        data = self.input(IdsSerializer)
        with transaction.atomic():
            fm_services.field_mappings_reorder(
                integration=integration, record_mapping_id=rm_id, ordered_ids=data["ids"]
            )
        rows = selectors.record_mappings_effective(integration)
        fms = [fm for row in rows for fm in row.field_mappings.all()]
        return Response(FieldMappingSerializer(fms, many=True).data)


class ValueMappingListView(IntegrationAPIView):
    @extend_schema(responses=ValueMappingSerializer(many=True))
    def get(self, request, pk, fm_id):
        fm = _effective_field_mapping(self.integration(), fm_id)
        return Response(ValueMappingSerializer(fm.value_mappings.all(), many=True).data)

    @extend_schema(request=ValueMappingSerializer, responses=ValueMappingSerializer)
    def post(self, request, pk, fm_id):
        integration = self.integration()
        data = self.input(ValueMappingSerializer)
        vm = fm_services.value_mapping_add(
            integration=integration,
            field_mapping_id=fm_id,
            local_value=data.get("local_value", ""),
            jira_value_id=data.get("jira_value_id", ""),
            jira_value_name=data.get("jira_value_name", ""),
        )
        return Response(ValueMappingSerializer(vm).data, status=status.HTTP_201_CREATED)


class ValueMappingReorderView(IntegrationAPIView):
    @extend_schema(request=IdsSerializer, responses=ResultSerializer)
    def post(self, request, pk, fm_id):
        data = self.input(IdsSerializer)
        fm_services.value_mappings_reorder(
            integration=self.integration(), field_mapping_id=fm_id, ordered_ids=data["ids"]
        )
        return Response({"reordered": True})


class ValueMappingDetailView(IntegrationAPIView):
    @extend_schema(request=ValueMappingSerializer, responses=ValueMappingSerializer)
    def patch(self, request, pk, vm_id):
        data = self.input(ValueMappingSerializer, partial=True)
        vm = fm_services.value_mapping_update(
            integration=self.integration(), value_mapping_id=vm_id, **data
        )
        return Response(ValueMappingSerializer(vm).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk, vm_id):
        fm_services.value_mapping_remove(integration=self.integration(), value_mapping_id=vm_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- relationship mappings --------------------------------------------------------------------


class RelationshipMappingListView(IntegrationAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("record_kind", str)],
        responses=RelationshipMappingSerializer(many=True),
    )
    def get(self, request, pk):
        rels = selectors.relationship_mappings_effective(
            self.integration(), request.query_params.get("record_kind") or None
        )
        return Response(RelationshipMappingSerializer(rels, many=True).data)

    @extend_schema(request=RelationshipMappingSerializer, responses=RelationshipMappingSerializer)
    def post(self, request, pk):
        integration = self.integration()
        data = self.input(RelationshipMappingSerializer)
        for required in ("record_kind", "link_type", "jira_link_type_id"):
            if required not in data:
                raise ApplicationError("This field is required.", field=required)
        rel = rel_services.relationship_mapping_add(integration=integration, **data)
        return Response(RelationshipMappingSerializer(rel).data, status=status.HTTP_201_CREATED)


class RelationshipMappingDetailView(IntegrationAPIView):
    @extend_schema(request=RelationshipMappingSerializer, responses=RelationshipMappingSerializer)
    def patch(self, request, pk, rel_id):
        data = self.input(RelationshipMappingSerializer, partial=True)
        if "record_kind" in data:
            raise ApplicationError(
                "The record type of a link mapping cannot change: add a new one.",
                field="record_kind",
            )
        rel = rel_services.relationship_mapping_update(
            integration=self.integration(), relationship_mapping_id=rel_id, **data
        )
        return Response(RelationshipMappingSerializer(rel).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk, rel_id):
        rel_services.relationship_mapping_remove(
            integration=self.integration(), relationship_mapping_id=rel_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RelationshipMappingReorderView(IntegrationAPIView):
    @extend_schema(
        request=RelationshipReorderSerializer, responses=RelationshipMappingSerializer(many=True)
    )
    def post(self, request, pk):
        integration = self.integration()
        data = self.input(RelationshipReorderSerializer)
        rel_services.relationship_mappings_reorder(
            integration=integration, record_kind=data["record_kind"], ordered_ids=data["ids"]
        )
        rels = selectors.relationship_mappings_effective(integration, data["record_kind"])
        return Response(RelationshipMappingSerializer(rels, many=True).data)
