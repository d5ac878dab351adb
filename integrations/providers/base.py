"""What generic mapping and sync code may know about a remote tool.

A provider object names the tool, says what it can do, builds its client from an
integration's connection values and tests a connection, so nothing outside
``integrations/providers/<tool>/`` needs the tool's specifics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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


class Provider(Protocol):
    key: str
    display_name: str
    capabilities: frozenset[str]

    def client(self, integration: Any = None, **options: Any) -> Any: ...

    def test_connection(self, client: Any) -> ConnectionResult: ...

    def fetch_configuration(self, client: Any, project_key: str) -> dict[str, Any]: ...


_REGISTRY: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    _REGISTRY[provider.key] = provider
    return provider


def get_provider(key: str) -> Provider:
    """The provider for ``Integration.provider`` (``"jira"``); KeyError names the choices."""
    if not _REGISTRY:
        from .jira import provider as _jira  # noqa: F401  (registers itself)
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(f"Unknown provider {key!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def providers() -> list[Provider]:
    if not _REGISTRY:
        from .jira import provider as _jira  # noqa: F401
    return list(_REGISTRY.values())
