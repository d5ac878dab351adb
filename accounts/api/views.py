from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.tenancy import TenantModelViewSet
from accounts.models import ApiKey, Membership, Workspace
from accounts.policy import Action
from accounts.services import api_key_create, api_key_revoke, workspace_create, workspace_update
from core.api import ApiAutoSchema

from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    MeSerializer,
    WorkspaceSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="List the workspaces of your accounts"),
    retrieve=extend_schema(summary="Read a workspace"),
    create=extend_schema(summary="Create a workspace (account owner or admin)"),
    update=extend_schema(summary="Change a workspace's name and description (owner or admin)"),
    partial_update=extend_schema(summary="Change some of a workspace's fields (owner or admin)"),
)
class WorkspaceViewSet(TenantModelViewSet):
    """Workspaces, one per product. Deleting a workspace is not offered through the API."""

    serializer_class = WorkspaceSerializer
    account_field = "account"
    write_action = Action.ADMINISTER
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def base_queryset(self):
        return Workspace.objects.select_related("account").order_by("name", "id")

    def account_id_for_create(self, data):
        return data["account"].pk

    def create_object(self, data):
        return workspace_create(
            account=data["account"],
            name=data["name"],
            prefix=data["prefix"],
            description=data.get("description", ""),
        )

    def update_object(self, instance, data):
        return workspace_update(
            workspace=instance, name=data.get("name"), description=data.get("description")
        )


class KeysAreManagedFromASession(permissions.BasePermission):
    """A leaked key must not be able to mint its successors or revoke its owner's other keys:
    creating and revoking keys needs a signed-in session; a key may only list them."""

    def has_permission(self, request, view) -> bool:
        if request.method not in permissions.SAFE_METHODS and isinstance(request.auth, ApiKey):
            raise PermissionDenied(
                "API keys cannot create or revoke API keys. Sign in and use Settings > API keys."
            )
        return True


@extend_schema_view(
    list=extend_schema(summary="List your API keys"),
    retrieve=extend_schema(summary="Read one of your API keys (never the key itself)"),
    create=extend_schema(
        summary="Create an API key",
        description="The response carries the key in `key`, once: it is never shown again.",
        request=ApiKeySerializer,
        responses={201: ApiKeyCreatedSerializer},
    ),
    destroy=extend_schema(summary="Revoke an API key (it stays listed as revoked)"),
)
class ApiKeyViewSet(TenantModelViewSet):
    """The current user's own API keys. Only a hash is stored."""

    serializer_class = ApiKeySerializer
    account_field = None
    write_action = None
    permission_classes = [*TenantModelViewSet.permission_classes, KeysAreManagedFromASession]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def base_queryset(self):
        return ApiKey.objects.order_by("-created_at", "-id")

    def scope_queryset(self, queryset):
        return queryset.filter(user=self.request.user)

    def get_serializer_class(self):
        return ApiKeyCreatedSerializer if self.action == "create" else ApiKeySerializer

    def account_id_for_create(self, data):
        return None

    def create_object(self, data):
        key, raw = api_key_create(user=self.request.user, name=data["name"])
        self._raw_key = raw
        return key

    def _reloaded(self, obj):
        obj = super()._reloaded(obj)
        obj.raw_key = getattr(self, "_raw_key", None)
        return obj

    def delete_object(self, instance):
        api_key_revoke(user=self.request.user, key_id=instance.pk)

    @extend_schema(summary="Revoke an API key", request=None, responses={200: ApiKeySerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        key = api_key_revoke(user=request.user, key_id=self.get_object().pk)
        return Response(self.get_serializer(key).data)


class MeView(APIView):
    """The current user, with each account they belong to and their role there."""

    permission_classes = [permissions.IsAuthenticated]
    schema = ApiAutoSchema()

    @extend_schema(
        summary="The current user and their accounts",
        responses={200: MeSerializer},
    )
    def get(self, request):
        memberships = Prefetch(
            "memberships",
            queryset=Membership.objects.select_related("account").order_by("account__name", "id"),
        )
        user = get_user_model().objects.prefetch_related(memberships).get(pk=request.user.pk)
        return Response(MeSerializer(user, context={"request": request}).data)
