"""Shared policy of every tenant-owned REST resource, in one place (NetBox style).

``TenantModelViewSet`` / ``TenantReadOnlyViewSet`` give a resource:

- **tenant scoping**: the queryset is cut to the accounts the user is a member of, so another
  account's object is a 404 (never a 403 that would confirm it exists), and never listed;
- **role permissions**: reads for every member; writes need the ``write_action`` of
  ``accounts.policy`` (``Action.EDIT``: owner/admin/contributor, ``Action.ADMINISTER``:
  owner/admin, ``None``: any user, for resources that belong to the user rather than to an
  account);
- **writes through services**: ``perform_create/update/destroy`` call the resource's
  ``create_object/update_object/delete_object`` hooks (which call a service), inside a
  transaction; a serializer never saves a model itself;
- **errors**: business refusals are ``ApplicationError``s, rendered by
  ``core.api_errors.api_exception_handler``; ``ApiAutoSchema`` documents the error shape.

``AccountScopedAPIView`` gives the same policy to the commands and nested resources that hang
under one object of an account (an integration, a record).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from rest_framework import permissions, viewsets
from rest_framework.views import APIView

from core.api import ApiAutoSchema

from .. import policy
from ..policy import Action


def users_sharing_an_account(user) -> models.QuerySet:
    """Users the given user may name (e.g. as an assignee): members of their accounts."""
    user_model = get_user_model()
    if user is None:
        return user_model.objects.none()
    return user_model.objects.filter(
        memberships__account__in=policy.member_account_ids(user)
    ).distinct()


# --- Permissions --------------------------------------------------------------------------------
class RolePermission(permissions.BasePermission):
    """Reads for members; writes need the view's ``write_action`` in the object's account."""

    def has_permission(self, request, view) -> bool:
        action = getattr(view, "write_action", None)
        if request.method in permissions.SAFE_METHODS or action is None:
            return True
        if (getattr(view, "lookup_url_kwarg", None) or view.lookup_field) in view.kwargs:
            # One object: another account's is a 404 first (has_object_permission decides).
            return True
        # No account where the role would do: refuse before reading any input.
        if not any(policy.role_allows(r, action) for r in view.account_roles().values()):
            policy.require(None, action)
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        action = getattr(view, "write_action", None)
        if request.method in permissions.SAFE_METHODS or action is None:
            return True
        view.check_account_role(view.account_id_of(obj))
        return True


# --- Base viewsets ------------------------------------------------------------------------------
class AccountPolicyMixin:
    """The user's roles for this request (one query) and the policy's check, for any view."""

    def account_roles(self) -> dict[int, str]:
        """account id -> the user's role there; one query per request."""
        if not hasattr(self, "_account_roles"):
            self._account_roles = policy.account_roles(self.request.user)
        return self._account_roles

    def require(self, account_id: int, action: Action, *, refusal: str | None = None) -> None:
        """403 with the reason unless the user's role in the account allows ``action``."""
        policy.require(self.account_roles().get(account_id), action, refusal=refusal)


class AccountScopedAPIView(AccountPolicyMixin, APIView):
    """Commands and nested resources under one object of an account (an integration, a
    record): the view loads the object inside the user's accounts (404 otherwise) and asks
    ``require`` before acting."""

    permission_classes = [permissions.IsAuthenticated]
    schema = ApiAutoSchema()


class TenantScopedMixin(AccountPolicyMixin):
    """Tenant scoping, permissions and schema shared by every resource."""

    # Lookup path from the model to its Account ("account", "workspace__account"); None for
    # resources scoped by ``scope_queryset`` another way (e.g. a user's own API keys).
    account_field: str | None = "account"
    write_action: Action | None = Action.EDIT
    permission_classes = [permissions.IsAuthenticated, RolePermission]
    schema = ApiAutoSchema()

    def base_queryset(self) -> models.QuerySet:
        """The resource's rows with what the serializer needs loaded (from a selector)."""
        raise NotImplementedError

    def scope_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        accounts = policy.member_account_ids(self.request.user)
        return queryset.filter(**{f"{self.account_field}_id__in": accounts})

    def get_queryset(self):
        queryset = self.base_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return queryset.none()
        return self.scope_queryset(queryset)

    def account_id_of(self, obj: Any) -> int:
        *path, last = self.account_field.split("__")
        for step in path:
            obj = getattr(obj, step)
        return getattr(obj, f"{last}_id")

    def check_account_role(self, account_id: int) -> None:
        """403 with the reason if the user's role in the account does not allow the write."""
        if self.write_action is not None:
            self.require(account_id, self.write_action)


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
