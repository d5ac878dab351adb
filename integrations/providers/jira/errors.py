"""Typed errors for every way a Jira call can fail.

Workers look at ``transient`` to decide whether to retry later (honouring ``retry_after``);
pages show ``user_message``, which is written in plain words and never carries credentials.
"""

from __future__ import annotations

from typing import Any

from ..base import ProviderConfigError, ProviderError


class JiraError(ProviderError):
    """Jira refused or failed a call.

    ``status``: the HTTP status (None when no answer came back);
    ``messages``: Jira's ``errorMessages`` followed by ``"field: message"`` for each field error;
    ``field_errors``: Jira's ``errors`` object (field id -> message);
    ``retry_after``: seconds Jira asked us to wait, when it said so.
    """

    transient: bool = False
    default_message = "Jira returned an error."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        status: int | None = None,
        messages: list[str] | None = None,
        field_errors: dict[str, str] | None = None,
        retry_after: float | None = None,
        operation: str = "",
    ) -> None:
        self.user_message = user_message or self.default_message
        self.status = status
        self.field_errors = dict(field_errors or {})
        self.messages = list(messages or [])
        self.retry_after = retry_after
        self.operation = operation
        self.body: Any = None  # Jira's decoded error answer, for callers that need its shape
        super().__init__(self.user_message)

    def __str__(self) -> str:
        details = [m for m in self.messages if m and m not in self.user_message]
        if details:
            return f"{self.user_message} ({'; '.join(details)})"
        return self.user_message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, operation={self.operation!r}, "
            f"message={str(self)!r}, retry_after={self.retry_after!r})"
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe summary for sync logs and API answers."""
        return {
            "error": type(self).__name__,
            "status": self.status,
            "message": str(self),
            "field_errors": self.field_errors,
            "transient": self.transient,
            "retry_after": self.retry_after,
        }


class JiraConfigError(JiraError, ProviderConfigError):
    """The connection settings themselves are unusable (e.g. the site URL is not a URL)."""

    default_message = (
        "The Jira site address is not valid: enter it like https://your-team.atlassian.net."
    )


class JiraAuthError(JiraError):
    default_message = "Jira rejected the credentials: check the email and API token."


class JiraPermissionError(JiraError):
    default_message = (
        "The Jira user is not allowed to do this: ask a Jira administrator for the "
        "project permission it needs."
    )


class JiraNotFound(JiraError):
    default_message = (
        "Jira could not find it: it may have been deleted or moved, or the user cannot see it."
    )


class JiraValidationError(JiraError):
    default_message = "Jira refused the values sent."


class JiraConflict(JiraError):
    default_message = "Jira refused the change because it conflicts with the current state."


class JiraRateLimited(JiraError):
    transient = True
    default_message = "Jira is limiting how fast we can call it: the call will be retried later."


class JiraUnavailable(JiraError):
    transient = True
    default_message = "Jira is not available right now: the call will be retried later."


class JiraBadResponse(JiraError):
    """Jira (or whatever answered at that address) sent something we cannot read."""

    default_message = (
        "The answer did not look like Jira's: check that the address is your Jira site."
    )


def parse_error_body(body: Any) -> tuple[list[str], dict[str, str]]:
    """Read Jira's ``{"errorMessages": [...], "errors": {field: msg}}`` defensively."""
    if not isinstance(body, dict):
        return [], {}
    messages: list[str] = []
    raw_messages = body.get("errorMessages")
    if isinstance(raw_messages, list):
        messages.extend(str(m) for m in raw_messages if m not in (None, ""))
    elif isinstance(raw_messages, str) and raw_messages:
        messages.append(raw_messages)
    if isinstance(body.get("message"), str) and body["message"]:
        messages.append(body["message"])
    field_errors: dict[str, str] = {}
    raw_fields = body.get("errors")
    if isinstance(raw_fields, dict):
        for field, message in raw_fields.items():
            field_errors[str(field)] = str(message)
    messages.extend(f"{field}: {message}" for field, message in field_errors.items())
    return messages, field_errors
