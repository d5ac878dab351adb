"""What generic mapping and sync code may know about a remote tool.

A provider object names the tool, says what it can do, builds its client from an
integration's connection values and tests a connection, so nothing outside
``integrations/providers/<tool>/`` needs the tool's specifics. At its edge:

- **capabilities are checked**: ``provider.require(Capability.VERSIONS, doing=...)`` refuses,
  in words, what the tool cannot do, before anything is stored;
- **errors are the provider's**: every error a provider raises is a ``ProviderError`` (the
  Jira errors derive from it), with ``user_message``, ``transient`` and ``retry_after``, so
  generic code catches ``ProviderError`` and never names a tool's error types.

The registry of providers is ``integrations.providers.registry`` (it imports each tool; a
tool imports only this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.exceptions import ApplicationError


class Capability:
    """Names of things a provider can do; code checks ``cap in provider.capabilities``."""

    ISSUES = "issues"
    BULK_CREATE = "bulk_create"
    VERSIONS = "versions"
    ISSUE_LINKS = "issue_links"
    TRANSITIONS = "transitions"
    SEARCH = "search"
    WEBHOOKS = "webhooks"
    RICH_TEXT = "rich_text"


@dataclass(frozen=True)
class ConnectionResult:
    """The outcome of "Test connection", in words a user can act on.

    ``code``: ``ok``, ``bad_url``, ``bad_credentials``, ``no_permission``, ``unreachable``,
    ``rate_limited`` or ``error``, for pages that style the answer.
    """

    ok: bool
    message: str
    user: dict[str, Any] | None = None
    code: str = "ok"


class ProviderError(Exception):
    """A remote tool refused or failed. ``user_message`` is plain words without credentials;
    ``transient`` says a later retry may succeed (after ``retry_after`` seconds if known)."""

    transient: bool = False
    user_message: str = "The remote tool returned an error."
    retry_after: float | None = None


class ProviderConfigError(ProviderError):
    """The connection values cannot make a client (no address, missing credentials)."""


class Provider:
    """A remote tool. Subclasses set ``key``, ``display_name`` and ``capabilities`` and
    implement the three operations."""

    key: str = ""
    display_name: str = ""
    capabilities: frozenset[str] = frozenset()

    def client(self, integration: Any = None, **options: Any) -> Any:
        raise NotImplementedError

    def test_connection(self, client: Any) -> ConnectionResult:
        raise NotImplementedError

    def fetch_configuration(self, client: Any, project_key: str) -> dict[str, Any]:
        raise NotImplementedError

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    def require(self, capability: str, *, doing: str, field: str | None = None) -> None:
        """Refuse in words, before anything is stored, what this tool cannot do."""
        if not self.supports(capability):
            raise ApplicationError(
                f"{self.display_name} cannot {doing}: it has no {capability.replace('_', ' ')}.",
                field=field,
                code="not_supported",
            )
