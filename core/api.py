"""What every REST resource shares that knows nothing of tenants: the error shape in the
schema (``ApiAutoSchema``), serializers that never save (writes go through services) and ids
scoped by a function. Tenancy and roles are ``accounts.policy``'s, applied to resources by
``accounts.api.tenancy``; errors are rendered by ``core.api_errors.api_exception_handler``.
"""

from __future__ import annotations

import re

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

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


# --- Serializer building blocks -----------------------------------------------------------------
class ServiceSerializer(serializers.Serializer):
    """Validates input and shapes output; saving is the view's job, through a service."""

    def create(self, validated_data):
        raise NotImplementedError("Writes go through a service: see TenantModelViewSet.")

    def update(self, instance, validated_data):
        raise NotImplementedError("Writes go through a service: see TenantModelViewSet.")

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
