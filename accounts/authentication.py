"""API key authentication: ``Authorization: Bearer <key>``. Keys are looked up by hash.

Failed attempts are throttled per client address (DRF's rate throttle, counting failures
only): past ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key_failures"]`` every key from
that address gets a 429 with ``Retry-After`` until the window has passed, so keys cannot be
guessed at speed.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, throttling

from .models import ApiKey, Membership
from .services import hash_api_key

# Writing last_used_at on every request would turn reads into writes; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class FailedApiKeyThrottle(throttling.SimpleRateThrottle):
    """Counts failed API-key authentications per client address; a success costs nothing."""

    scope = "api_key_failures"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def throttle_success(self):
        return True  # only failures are recorded, by record_failure()

    def record_failure(self, request) -> None:
        if self.rate is None:
            return
        key = self.get_cache_key(request, None)
        now = self.timer()
        history = [t for t in self.cache.get(key, []) if t > now - self.duration]
        self.cache.set(key, [now, *history], self.duration)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        throttle = FailedApiKeyThrottle()
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(
                wait=throttle.wait(),
                detail="Too many failed API-key attempts from your address. "
                "Check the key, then try again later.",
            )
        try:
            return self._authenticate_key(parts)
        except exceptions.AuthenticationFailed:
            throttle.record_failure(request)
            raise

    def _authenticate_key(self, parts: list[str]):
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the key as 'Authorization: Bearer <key>', with no spaces in the key."
            )
        key = (
            ApiKey.objects.select_related("user")
            .annotate(has_membership=Exists(Membership.objects.filter(user_id=OuterRef("user_id"))))
            .filter(key_hash=hash_api_key(parts[1]))
            .first()
        )
        if key is None or not key.is_active:
            raise exceptions.AuthenticationFailed(
                "This API key is not valid or was revoked. "
                "Create a new one under Settings > API keys."
            )
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed("The user of this API key is deactivated.")
        # A key acts for its user in their accounts; with none left it opens nothing.
        if not key.has_membership:
            raise exceptions.AuthenticationFailed(
                "The user of this API key is no longer a member of any account. "
                "Ask an account admin to add them back, or use another key."
            )
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.user, key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Bearer <key>`` in the schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from Settings > API keys (or POST /api/v1/api-keys/).",
        }
