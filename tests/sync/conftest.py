"""Fixtures for the sync engine: the Jira emulator over real HTTP and an ENABLED workspace
integration connected to its DEMO project, configured the way a user would (Reload
configuration, recommended defaults, enable). Shared by the inbound and outbound tests."""

from __future__ import annotations

import pytest

from integrations.models import Integration
from integrations.services.configuration import configuration_reload
from integrations.services.integrations import (
    integration_create,
    integration_enable,
    integration_set_connection,
    integration_set_project,
)
from integrations.services.record_mappings import mappings_apply_defaults
from jira_emulator import JiraEmulator


@pytest.fixture(scope="session")
def _sync_emulator():
    emu = JiraEmulator(port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(_sync_emulator):
    """The emulator, back to its seeded DEMO / INIT state for each test."""
    _sync_emulator.reset()
    return _sync_emulator


def make_enabled_integration(
    workspace, emulator, *, project: str = "DEMO", name: str = "Jira", **options
) -> Integration:
    """A workspace integration on the emulator's project with the recommended defaults."""
    integration = integration_create(account=workspace.account, workspace=workspace, name=name)
    integration_set_connection(
        integration=integration,
        deployment="cloud",
        base_url=emulator.base_url,
        email="demo@example.com",
        api_token="demo-token",
    )
    integration_set_project(integration=integration, project_key=project)
    configuration_reload(integration=integration)
    mappings_apply_defaults(integration=integration)
    integration_enable(integration=integration)
    if options:
        Integration.objects.filter(pk=integration.pk).update(**options)
    integration.refresh_from_db()
    emulator.requests_log.clear()  # tests count only the calls the sync makes
    return integration


@pytest.fixture
def enabled_integration(workspace, emulator):
    return make_enabled_integration(workspace, emulator)


# -- inbound helpers (records linked to Jira issues / versions, signed webhook posts) ----------


def link_record(integration, record, jira_id, jira_key="", *, kind=None):
    """A JiraLink as the outbound side (or an import) leaves it."""
    from sync.models import JiraLink

    if kind is None:
        kind = JiraLink.JiraKind.VERSION if record.kind == "release" else JiraLink.JiraKind.ISSUE
    return JiraLink.objects.create(
        integration=integration,
        record=record,
        jira_kind=kind,
        jira_id=str(jira_id),
        jira_key=jira_key,
    )


def make_linked_record(integration, kind, jira_id, jira_key="", **fields):
    """A record made "by Jira" (no outbox entry) and linked to a Jira issue or version."""
    from records.signals import change_origin
    from tests.factories import make_record

    with change_origin("jira", integration.id):
        record = make_record(integration.workspace, kind, **fields)
    link_record(integration, record, jira_id, jira_key)
    return record


def post_webhook(client, integration, body, *, delivery_id=None, secret=None, raw=None):
    """POST a Jira webhook to the integration's intake, signed like Jira signs it."""
    import hashlib
    import hmac
    import json
    import uuid

    data = raw if raw is not None else json.dumps(body).encode()
    secret = integration.get_webhook_secret() if secret is None else secret
    headers = {"HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER": delivery_id or str(uuid.uuid4())}
    if secret:
        digest = hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()
        headers["HTTP_X_HUB_SIGNATURE"] = f"sha256={digest}"
    return client.post(
        f"/webhooks/jira/{integration.webhook_token}/",
        data=data,
        content_type="application/json",
        **headers,
    )


@pytest.fixture
def no_link_defaults(monkeypatch):
    """For tests that map record links by hand: the recommended defaults map none."""
    from integrations.services import record_mappings

    monkeypatch.setattr(record_mappings, "_relationship_defaults", lambda *a, **k: [])
