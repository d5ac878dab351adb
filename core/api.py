"""Shared policy of every REST resource, in one place (NetBox style).

``TenantModelViewSet`` / ``TenantReadOnlyViewSet`` give a resource:

- **tenant scoping**: the queryset is cut to the accounts the user is a member of, so another
  account's object is a 404 (never a 403 that would confirm it exists), and never listed;
- **role permissions**: reads for every member; writes need the role named by ``write_role``
  (``"edit"``: owner/admin/contributor, ``"admin"``: owner/admin, ``None``: any user, for
  resources that belong to the user rather than to an account);
- **writes through services**: ``perform_create/update/destroy`` call the resource's
  ``create_object/update_object/delete_object`` hooks (which call a service), inside a
  transaction; a serializer never saves a model itself;
- **errors**: business refusals are ``ApplicationError``s, rendered by
  ``core.api_errors.api_exception_handler``; ``ApiAutoSchema`` documents the error shape
  (``ErrorSerializer``) on every operation.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from accounts.models import ROLE_CAN_ADMINISTER, ROLE_CAN_EDIT_RECORDS, Membership

WRITE_ROLE_EDIT = "edit"
WRITE_ROLE_ADMIN = "admin"

_ROLE_SETS = {WRITE_ROLE_EDIT: ROLE_CAN_EDIT_RECORDS, WRITE_ROLE_ADMIN: ROLE_CAN_ADMINISTER}
_ROLE_REFUSALS = {
    WRITE_ROLE_EDIT: (
        "Viewers can read but not change records. Ask an account admin for the contributor role."
    ),
    WRITE_ROLE_ADMIN: "Only an account owner or admin can do this.",
}
NOT_FOUND_IN_ACCOUNT = "{label} {pk_value} not found in your account."


# --- The error shape, for the schema ------------------------------------------------------------
class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable code, e.g. validation_error.")
    message = serializers.CharField(help_text="What is wrong and what to do, for a human.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Input name -> messages; non_field_errors when it is the request as a whole.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


_ERROR_DESCRIPTIONS = {
    400: "The input is not valid: `fields` names each input at fault.",
    401: "No credentials, or an API key that is malformed, unknown or revoked.",
    403: "Your role does not allow this (viewers are read-only), or the CSRF check failed.",
    404: "Not found: it does not exist, or it is not in your account.",
    429: "Too many failed API-key attempts from your address: wait `Retry-After` seconds.",
}


class ApiAutoSchema(AutoSchema):
    """Adds the errors an operation can answer with, so every endpoint documents them."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = [401, 403, 429]
        if re.search(r"{\w+}", self.path):
            codes.append(404)
        if self.method in ("POST", "PUT", "PATCH") or (
            self._is_list_view() and getattr(self.view, "filterset_class", None)
        ):
            codes.append(400)
        for code in sorted(codes):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=_ERROR_DESCRIPTIONS[code]),
                    str(code),
                    direction=direction,
                )
        return responses


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Bearer <key>`` (core.authentication) in the schema."""

    target_class = "core.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from Settings > API keys (or POST /api/v1/api-keys/).",
        }


# --- Serializer building blocks -----------------------------------------------------------------
class ServiceSerializer(serializers.Serializer):
    """Validates input and shapes output; saving is the view's job, through a service."""

    def create(self, validated_data):
        raise NotImplementedError("Writes go through a service: see core.api.TenantModelViewSet.")

    def update(self, instance, validated_data):
        raise NotImplementedError("Writes go through a service: see core.api.TenantModelViewSet.")

    def to_internal_value(self, data):
        # A misspelt field silently ignored is a change silently lost: say so instead.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                writable = sorted(name for name, f in self.fields.items() if not f.read_only)
                raise serializers.ValidationError(
                    {
                        name: [f"Unknown field. Writable fields here: {', '.join(writable)}."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class ServiceModelSerializer(ServiceSerializer, serializers.ModelSerializer):
    pass


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id that must name an object in the user's accounts.

    ``scope(user)`` returns the queryset the user may reference. An id outside it gets the same
    answer as an id that does not exist, so nothing about other accounts leaks.
    """

    def __init__(self, *, scope, label_text: str, **kwargs):
        self.scope = scope
        kwargs.setdefault(
            "error_messages",
            {
                "does_not_exist": NOT_FOUND_IN_ACCOUNT.replace("{label}", label_text),
                "incorrect_type": f"Give the {label_text.lower()} as a number (its id).",
            },
        )
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.scope(None)
        return self.scope(user)


class ScopedPrimaryKeyFieldSchema(OpenApiSerializerFieldExtension):
    """Every id here is an integer; saying so spares the schema from guessing the model
    (which it cannot do in serializers without a Meta.model)."""

    target_class = ScopedPrimaryKeyField

    def map_serializer_field(self, auto_schema, direction):
        return build_basic_type(OpenApiTypes.INT)


def users_sharing_an_account(user) -> models.QuerySet:
    """Users the given user may name (e.g. as an assignee): members of their accounts."""
    user_model = get_user_model()
    if user is None:
        return user_model.objects.none()
    return user_model.objects.filter(
        memberships__account__in=Membership.objects.filter(user=user).values("account_id")
    ).distinct()


# --- Permissions --------------------------------------------------------------------------------
class RolePermission(permissions.BasePermission):
    """Reads for members; writes need the view's ``write_role`` in the object's account."""

    def has_permission(self, request, view) -> bool:
        role = getattr(view, "write_role", None)
        if request.method in permissions.SAFE_METHODS or role is None:
            return True
        if not any(r in _ROLE_SETS[role] for r in view.account_roles().values()):
            raise PermissionDenied(_ROLE_REFUSALS[role])
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        role = getattr(view, "write_role", None)
        if request.method in permissions.SAFE_METHODS or role is None:
            return True
        view.check_account_role(view.account_id_of(obj))
        return True


# --- Base viewsets ------------------------------------------------------------------------------
class TenantScopedMixin:
    """Tenant scoping, permissions and schema shared by every resource."""

    # Lookup path from the model to its Account ("account", "workspace__account"); None for
    # resources scoped by ``scope_queryset`` another way (e.g. a user's own API keys).
    account_field: str | None = "account"
    write_role: str | None = WRITE_ROLE_EDIT
    permission_classes = [permissions.IsAuthenticated, RolePermission]
    schema = ApiAutoSchema()

    def base_queryset(self) -> models.QuerySet:
        """The resource's rows with what the serializer needs loaded (from a selector)."""
        raise NotImplementedError

    def scope_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        # An IN over the user's account ids (a small subquery the planner hashes), not a join
        # through memberships, which PostgreSQL may run once per row on large tables.
        accounts = Membership.objects.filter(user=self.request.user).values("account_id")
        return queryset.filter(**{f"{self.account_field}_id__in": accounts})

    def get_queryset(self):
        queryset = self.base_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return queryset.none()
        return self.scope_queryset(queryset)

    def account_roles(self) -> dict[int, str]:
        """account id -> the user's role there; one query per request."""
        if not hasattr(self, "_account_roles"):
            self._account_roles = dict(
                Membership.objects.filter(user=self.request.user).values_list("account_id", "role")
            )
        return self._account_roles

    def account_id_of(self, obj: Any) -> int:
        *path, last = self.account_field.split("__")
        for step in path:
            obj = getattr(obj, step)
        return getattr(obj, f"{last}_id")

    def check_account_role(self, account_id: int) -> None:
        """403 with the reason if the user's role in the account does not allow the write."""
        if self.write_role is None:
            return
        role = self.account_roles().get(account_id)
        if role is None:  # cannot happen for scoped objects; refuse without confirming anything
            raise PermissionDenied(_ROLE_REFUSALS[self.write_role])
        if role not in _ROLE_SETS[self.write_role]:
            raise PermissionDenied(_ROLE_REFUSALS[self.write_role])


class TenantReadOnlyViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass


class TenantModelViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """CRUD whose writes call a service. Subclasses implement the three hooks below and
    ``account_id_for_create`` (which account a new object would belong to)."""

    def account_id_for_create(self, data: dict) -> int | None:
        raise NotImplementedError

    def create_object(self, data: dict) -> models.Model:
        raise NotImplementedError

    def update_object(self, instance: models.Model, data: dict) -> models.Model:
        raise NotImplementedError

    def delete_object(self, instance: models.Model) -> None:
        raise NotImplementedError

    def _reloaded(self, obj: models.Model) -> models.Model:
        """The object as a read would load it, so the response shows exactly what is stored."""
        return self.get_queryset().get(pk=obj.pk)

    def perform_create(self, serializer) -> None:
        account_id = self.account_id_for_create(serializer.validated_data)
        if account_id is not None:
            self.check_account_role(account_id)
        with transaction.atomic():
            obj = self.create_object(serializer.validated_data)
        serializer.instance = self._reloaded(obj)

    def perform_update(self, serializer) -> None:
        with transaction.atomic():
            obj = self.update_object(serializer.instance, serializer.validated_data)
        serializer.instance = self._reloaded(obj)

    def perform_destroy(self, instance) -> None:
        with transaction.atomic():
            self.delete_object(instance)
