"""The providers this installation knows, by ``Integration.provider`` key.

The registry imports each tool's provider; a tool's package imports only ``base``, so the
dependency points one way (registry -> jira -> base)."""

from __future__ import annotations

from typing import Any

from .base import Provider
from .jira.provider import JiraProvider

_PROVIDERS: dict[str, Provider] = {p.key: p for p in (JiraProvider(),)}


def get_provider(key: str) -> Provider:
    """The provider for ``Integration.provider`` (``"jira"``); KeyError names the choices."""
    try:
        return _PROVIDERS[key]
    except KeyError:
        known = ", ".join(sorted(_PROVIDERS))
        raise KeyError(f"Unknown provider {key!r}; known: {known}") from None


def provider_for(integration: Any) -> Provider:
    return get_provider(getattr(integration, "provider", "") or "jira")


def providers() -> list[Provider]:
    return list(_PROVIDERS.values())
