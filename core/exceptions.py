"""One application error type for every refused business rule (see core.api_errors for how
the API renders it)."""

from __future__ import annotations

from typing import Any

from rest_framework import status


class ApplicationError(Exception):
    """A business rule refused the request. ``fields`` maps an input name to messages."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        fields: dict[str, list[str] | str] | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        collected: dict[str, list[str]] = {}
        if field:
            collected[field] = [message]
        for name, messages in (fields or {}).items():
            collected[name] = [messages] if isinstance(messages, str) else list(messages)
        self.fields = collected
        if code:
            self.code = code
        self.extra = extra or {}

    def __str__(self) -> str:
        return self.message


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class PermissionDeniedError(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
