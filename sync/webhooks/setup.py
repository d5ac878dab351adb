"""What a Jira admin must be told to create the webhook: the one place that builds its URL
(from ``APP_PUBLIC_BASE_URL``, what Jira can reach) and lists the events to tick (the
intake's own table, ``sync.events``). The Enable step and the API get them through
``integrations.extensions``."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from integrations.models import Integration

from ..events import HANDLED_EVENT_TYPES


def webhook_path(integration: Integration) -> str:
    return reverse("jira-webhook", args=[integration.webhook_token])


def webhook_url(integration: Integration) -> str:
    return f"{settings.PUBLIC_BASE_URL}{webhook_path(integration)}"


def webhook_events() -> tuple[str, ...]:
    return HANDLED_EVENT_TYPES
