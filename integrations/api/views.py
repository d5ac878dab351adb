"""Integration API (/api/v1/integrations/...): CRUD of integrations through the tenant
viewset, and a small APIView for each command. The mapping's ordered child resources are
integrations.api.mappings.

Every member of the account can read; only an owner or admin can write. Another account's
integration is a 404. Mapping reads show effective values (the template's while inherited);
the first write to an inherited part copies it (integrations.services)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api.tenancy import AccountScopedAPIView, TenantModelViewSet
from accounts.policy import Action
from core.exceptions import ApplicationError

from .. import extensions, selectors
from ..models import Integration
from ..services import configuration as configuration_services
from ..services import integrations as services
from ..services import portability
from ..services import record_mappings as rm_services
from .serializers import (
    IntegrationSerializer,
    RecordMappingOutSerializer,
    ResetSerializer,
    RotateSerializer,
)

CONNECTION_FIELDS = ("deployment", "base_url", "email", "api_token", "personal_access_token")
PROJECT_FIELDS = ("project_key", "project_id", "project_name")
SETTINGS_FIELDS = ("name", "auto_import", "require_approval", "last_completed_step")

AnyJson = inline_serializer("AnyJson", fields={"detail": serializers.JSONField(required=False)})


class IntegrationViewSet(TenantModelViewSet):
    """Integrations of the user's accounts: workspace integrations and account templates."""

    serializer_class = IntegrationSerializer
    write_action = Action.ADMINISTER
    filterset_fields = ["workspace", "is_template", "state"]

    def base_queryset(self):
        return Integration.objects.select_related("account", "workspace", "template").order_by(
            "name", "id"
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


class IntegrationAPIView(AccountScopedAPIView):
    """Loads the integration in the user's accounts (404 otherwise); writes need an account
    owner or admin (403 with the reason)."""

    write_methods = ("POST", "PUT", "PATCH", "DELETE")

    def integration(self) -> Integration:
        if getattr(self, "_integration", None) is None:
            integration = selectors.integration_get_for_user(
                user=self.request.user, integration_id=self.kwargs.get("pk")
            )
            if integration is None:
                raise NotFound("Not found: it does not exist, or it is not in your account.")
            if self.request.method in self.write_methods:
                self.require(integration.account_id, Action.ADMINISTER)
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


def row_change_body(change, integration) -> dict:
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
            fields={
                "url": serializers.CharField(),
                "secret": serializers.CharField(),
                "events": serializers.ListField(child=serializers.CharField()),
            },
        ),
        summary="Webhook URL, signing secret and the events to tick (owner/admin only).",
    )
    def get(self, request, pk):
        integration = self.integration()
        return Response(
            {
                "url": extensions.webhook_url(integration),
                "secret": services.integration_webhook_secret(integration=integration),
                "events": extensions.webhook_events(),
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
