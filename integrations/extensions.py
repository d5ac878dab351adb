"""What the apps above integrations contribute to its pages and API, without integrations
importing them.

integrations sits below sync: it sets an integration up, sync runs it. The integration pages
and API still show sync facts (the webhook Jira must call, the last delivery, the sync
figures of the lists, sending every record on Enable). ``SyncConfig.ready`` registers them
here; integrations reads this registry and nothing of the sync itself.

- ``webhook_url(integration)`` (and ``webhook_path``) / ``webhook_events()``: the one
  builder of the webhook URL and the one table of the Jira events the intake handles (the
  Enable step, the API and the intake all use them);
- ``sync_summaries(ids)``: for the lists, one summary per integration (``SyncSummary``);
- ``last_webhook_delivery(integration)``: for "Check webhook";
- ``bulk_send_start(integration=, user=)``, ``bulk_send_latest(integration)``,
  ``bulk_send_get(integration, job_id)``: "Send all" and its progress;
- ``enable_panel_add(template, context)``: a section the sync adds to the Enable step; the
  page shows ``template`` rendered with ``context(request, integration)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string


@dataclass(frozen=True)
class SyncSummary:
    last_sync: datetime | None = None
    linked_records: int = 0
    errors: int = 0


@dataclass(frozen=True)
class SyncContributions:
    webhook_url: Callable[[Any], str]
    webhook_path: Callable[[Any], str]
    webhook_events: Sequence[str]
    sync_summaries: Callable[[list[int]], dict[int, SyncSummary]]
    last_webhook_delivery: Callable[[Any], Any]
    bulk_send_start: Callable[..., Any]
    bulk_send_latest: Callable[[Any], Any]
    bulk_send_get: Callable[[Any, int], Any]


@dataclass(frozen=True)
class EnablePanel:
    template: str
    context: Callable[[Any, Any], dict]


_sync: SyncContributions | None = None
_enable_panels: list[EnablePanel] = []


def sync_register(contributions: SyncContributions) -> None:
    global _sync
    _sync = contributions


def _registered() -> SyncContributions:
    if _sync is None:
        raise ImproperlyConfigured(
            "The sync app is not installed: add 'sync' to INSTALLED_APPS (it registers the "
            "webhook and the sync figures the integration pages show)."
        )
    return _sync


def webhook_url(integration) -> str:
    return _registered().webhook_url(integration)


def webhook_path(integration) -> str:
    return _registered().webhook_path(integration)


def webhook_events() -> list[str]:
    return list(_registered().webhook_events)


def sync_summaries(ids: Iterable[int]) -> dict[int, SyncSummary]:
    ids = [int(i) for i in ids]
    found = _registered().sync_summaries(ids)
    return {i: found.get(i, SyncSummary()) for i in ids}


def last_webhook_delivery(integration):
    return _registered().last_webhook_delivery(integration)


def bulk_send_start(*, integration, user):
    return _registered().bulk_send_start(integration=integration, user=user)


def bulk_send_latest(integration):
    return _registered().bulk_send_latest(integration)


def bulk_send_get(integration, job_id: int):
    return _registered().bulk_send_get(integration, job_id)


def enable_panel_add(template: str, context: Callable[[Any, Any], dict]) -> None:
    _enable_panels.append(EnablePanel(template, context))


def enable_panels(request, integration) -> list[str]:
    """The sections the sync adds to the Enable step, rendered (each with its own context)."""
    return [
        render_to_string(p.template, p.context(request, integration), request=request)
        for p in _enable_panels
    ]
