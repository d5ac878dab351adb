"""Change notifications of integrations, so apps above (the sync engine, which registers the
Jira webhook) can keep their state in step without integrations depending on them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after what the Jira webhook must carry changed: integration, reason ("token",
# "secret" or "project"). For a template, its derived integrations may be concerned too.
integration_webhook_changed = Signal()
# Sent before an integration is deleted (its credentials are still readable): integration.
integration_deleting = Signal()
