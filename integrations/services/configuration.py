"""Talking to Jira for the wizard: Test connection, the project list, Reload configuration.

The client is built by the provider from the *effective* connection (the template's while it
is inherited). Reload configuration stores what Jira has and never changes a mapping; a
mapping now pointing at something Jira no longer has is flagged by the warnings selector.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.exceptions import ApplicationError

from .. import rules
from ..models import Integration
from ..providers.base import ConnectionResult, ProviderError
from ..providers.registry import provider_for
from ..selectors import (
    configuration_source,
    effective_connection,
    effective_project,
    integration_warnings,
    part_source,
)

logger = logging.getLogger(__name__)
Part = Integration.Part

# The parts of the configuration a diff is reported for, and what names each entry.
DIFF_SECTIONS = ("issue_types", "fields", "statuses", "versions", "link_types")


def _require_connection(integration: Integration) -> Integration:
    connection = effective_connection(integration)
    if not connection.base_url:
        raise ApplicationError(
            "Enter the Jira site URL on the Connect step first.", field="base_url"
        )
    if connection.deployment == Integration.Deployment.DATA_CENTER:
        if not connection.personal_access_token_set:
            raise ApplicationError(
                "Enter a personal access token on the Connect step first.",
                field="personal_access_token",
            )
    elif not connection.email or not connection.api_token_set:
        raise ApplicationError(
            "Enter the Jira user's email and API token on the Connect step first.",
            field="api_token" if connection.email else "email",
        )
    return part_source(integration, Part.CONNECTION)


def _provider_error_message(exc: Exception) -> str:
    message = getattr(exc, "user_message", None) or str(exc)
    return str(message)


def build_client(integration: Integration):
    """A Jira client for the integration's effective connection (secrets decrypted here only,
    and handed straight to the client's auth object)."""
    source = _require_connection(integration)
    provider = provider_for(integration)
    try:
        return provider.client(source)
    except ProviderError as exc:
        raise ApplicationError(_provider_error_message(exc), field="base_url") from None


def connection_test(*, integration: Integration) -> ConnectionResult:
    """Test connection: the provider's answer, in plain words."""
    source = _require_connection(integration)
    provider = provider_for(integration)
    try:
        client = provider.client(source)
    except ProviderError as exc:
        return ConnectionResult(False, _provider_error_message(exc), None, "bad_url")
    try:
        result = provider.test_connection(client)
    finally:
        _close(client)
    logger.info("Integration %s: test connection ok=%s", integration.pk, result.ok)
    return result


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()


def project_list(*, integration: Integration, query: str = "", limit: int = 100) -> list[dict]:
    """Projects the credentials can see, for the Project step (searchable)."""
    client = build_client(integration)
    found: list[dict] = []
    try:
        for project in client.search_projects((query or "").strip() or None):
            found.append(
                {
                    "id": str(project.get("id", "")),
                    "key": str(project.get("key", "")),
                    "name": str(project.get("name", "")),
                }
            )
            if len(found) >= limit:
                break
    except ProviderError as exc:
        raise ApplicationError(_provider_error_message(exc), field="connection") from None
    finally:
        _close(client)
    return found


@dataclass
class ReloadResult:
    integration: Integration
    fetched_at: Any
    added: dict[str, list[dict]] = field(default_factory=dict)
    removed: dict[str, list[dict]] = field(default_factory=dict)
    warnings: list[rules.Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "fetched_at": self.fetched_at,
            "added": self.added,
            "removed": self.removed,
            "warnings": [w.as_dict() for w in self.warnings],
        }


def configuration_diff(old: dict, new: dict) -> tuple[dict, dict]:
    added: dict[str, list[dict]] = {}
    removed: dict[str, list[dict]] = {}
    for section in DIFF_SECTIONS:
        before = {str(e.get("id")): e for e in (old or {}).get(section) or []}
        after = {str(e.get("id")): e for e in (new or {}).get(section) or []}
        added[section] = [
            {"id": i, "name": after[i].get("name", "")} for i in after if i not in before
        ]
        removed[section] = [
            {"id": i, "name": before[i].get("name", "")} for i in before if i not in after
        ]
    return added, removed


def configuration_reload(*, integration: Integration) -> ReloadResult:
    """Fetch the project's issue types, fields, statuses, versions and link types and store
    them where the effective connection and project live. Never changes a mapping."""
    project = effective_project(integration)
    if not project.key:
        raise ApplicationError(
            "Choose the Jira project on the Project step first.", field="project_key"
        )
    client = build_client(integration)
    provider = provider_for(integration)
    try:
        fetched = provider.fetch_configuration(client, project.key)
    except ProviderError as exc:
        raise ApplicationError(
            f"Could not reload the configuration of project {project.key}: "
            f"{_provider_error_message(exc)}",
            field="configuration",
            code="jira_error",
        ) from None
    finally:
        _close(client)
    with transaction.atomic():
        target = Integration.objects.select_for_update().get(
            pk=configuration_source(integration).pk
        )
        added, removed = configuration_diff(target.configuration, fetched)
        target.configuration = fetched
        fetched_at = parse_datetime(str(fetched.get("fetched_at") or "")) or timezone.now()
        target.configuration_fetched_at = fetched_at
        jira_project = fetched.get("project") or {}
        project_source = part_source(integration, Part.PROJECT)
        if project_source.pk == target.pk and jira_project.get("id"):
            target.project_id = str(jira_project.get("id"))
            target.project_name = str(jira_project.get("name", ""))[:255]
        target.save()
    integration.refresh_from_db()
    if integration.template_id:
        integration.template.refresh_from_db()
    logger.info("Integration %s: configuration reloaded for %s", integration.pk, project.key)
    return ReloadResult(
        integration=integration,
        fetched_at=fetched_at,
        added=added,
        removed=removed,
        warnings=integration_warnings(integration),
    )
