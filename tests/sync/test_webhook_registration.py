"""The webhook registered by the product (issue 9, section 3), against the Jira emulator over
real HTTP: registered with exactly the intake's events, the project's JQL and the secret;
refused in words (with the manual steps open) when the credentials may not manage webhooks;
Check webhook; kept in step when the token, the secret or the project changes; removed with
the integration. The Enable step loads it as a sync partial."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from integrations.services.integrations import (
    integration_delete,
    integration_rotate_webhook_token,
    integration_set_project,
)
from sync.events import HANDLED_EVENTS
from sync.models import WebhookRegistration
from sync.services.webhook_registration import webhook_register
from sync.webhooks.setup import webhook_url

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin_client(owner):
    client = Client()
    client.force_login(owner)
    return client


def hooks(emulator):
    return list(emulator.state.webhooks.values())


def test_register_creates_the_webhook_the_intake_needs(admin_client, enabled_integration, emulator):
    integration = enabled_integration
    panel = admin_client.get(reverse("sync:webhook_panel", args=[integration.pk]), **HTMX)
    body = panel.content.decode()
    assert "Register the webhook in Jira" in body
    assert "No event has arrived yet" in body
    # The manual steps list the intake's events, no shorter copy.
    assert "moved" in body
    assert "merged" in body

    response = admin_client.post(reverse("sync:webhook_register", args=[integration.pk]), **HTMX)
    assert response.status_code == 200, response.content
    body = response.content.decode()
    assert "Registered in Jira" in body
    [hook] = hooks(emulator)
    assert sorted(hook.events) == sorted(HANDLED_EVENTS)
    assert hook.jql_text == "project = DEMO"
    assert hook.url == webhook_url(integration)
    assert hook.secret == integration.get_webhook_secret()
    assert hook.secret not in body
    registration = WebhookRegistration.objects.get(integration=integration)
    assert registration.jira_webhook_id == str(hook.id)

    check = admin_client.get(reverse("sync:webhook_check", args=[integration.pk]), **HTMX)
    assert "the webhook is in Jira with the events" in check.content.decode()

    # Registering again replaces it: still one webhook in Jira.
    admin_client.post(reverse("sync:webhook_register", args=[integration.pk]), **HTMX)
    assert len(hooks(emulator)) == 1


def test_credentials_without_permission_get_words_and_the_manual_steps(
    admin_client, enabled_integration, emulator
):
    for user in emulator.state.users.values():
        user.admin = False  # Jira lets only administrators manage webhooks
    response = admin_client.post(
        reverse("sync:webhook_register", args=[enabled_integration.pk]), **HTMX
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "may not manage webhooks" in body
    assert "demo@example.com" in body
    assert '<details class="manual-webhook" open>' in body
    assert webhook_url(enabled_integration) in body
    assert hooks(emulator) == []
    assert not WebhookRegistration.objects.exists()


def test_check_says_when_the_webhook_was_deleted_in_jira(
    admin_client, enabled_integration, emulator
):
    webhook_register(integration=enabled_integration)
    emulator.state.webhooks.clear()
    check = admin_client.get(reverse("sync:webhook_check", args=[enabled_integration.pk]), **HTMX)
    assert "no longer in Jira" in check.content.decode()


def test_kept_in_step_when_token_or_project_changes(
    enabled_integration, emulator, django_capture_on_commit_callbacks
):
    integration = enabled_integration
    webhook_register(integration=integration)
    old_url = webhook_url(integration)
    with django_capture_on_commit_callbacks(execute=True):
        integration_rotate_webhook_token(integration=integration, rotate_secret=True)
    integration.refresh_from_db()
    [hook] = hooks(emulator)
    assert hook.url == webhook_url(integration) != old_url
    assert hook.secret == integration.get_webhook_secret()

    with django_capture_on_commit_callbacks(execute=True):
        integration_set_project(integration=integration, project_key="INIT")
    [hook] = hooks(emulator)
    assert hook.jql_text == "project = INIT"
    assert WebhookRegistration.objects.get(integration=integration).jql == "project = INIT"


def test_removed_from_jira_with_the_integration(enabled_integration, emulator):
    webhook_register(integration=enabled_integration)
    assert len(hooks(emulator)) == 1
    integration_delete(integration=enabled_integration)
    assert hooks(emulator) == []


def test_viewers_cannot_register(enabled_integration, viewer, emulator):
    client = Client()
    client.force_login(viewer)
    response = client.post(reverse("sync:webhook_register", args=[enabled_integration.pk]), **HTMX)
    assert response.status_code == 403
    assert hooks(emulator) == []
    # They can see the state.
    panel = client.get(reverse("sync:webhook_panel", args=[enabled_integration.pk]), **HTMX)
    assert panel.status_code == 200
    assert "Register the webhook in Jira" not in panel.content.decode()


def test_the_same_through_the_api(owner, viewer, enabled_integration, emulator):
    from tests.api.conftest import bearer_client

    api = bearer_client(owner)
    base = f"/api/v1/integrations/{enabled_integration.pk}/jira-webhook/"
    state = api.get(base).json()
    assert state["registered"] is False
    assert sorted(state["events"]) == sorted(HANDLED_EVENTS)
    assert state["jql"] == "project = DEMO"
    assert bearer_client(viewer).post(f"{base}register/").status_code == 403

    registered = api.post(f"{base}register/")
    assert registered.status_code == 200, registered.content
    assert registered.json()["registered"] is True
    assert registered.json()["jira_webhook_id"] == str(next(iter(emulator.state.webhooks)))
    assert enabled_integration.get_webhook_secret() not in registered.content.decode()
    checked = api.post(f"{base}check/").json()
    assert checked["problems"] == []
    assert checked["checked_at"]

    assert api.delete(base).status_code == 204
    assert hooks(emulator) == []
    assert api.get(base).json()["registered"] is False

    for user in emulator.state.users.values():
        user.admin = False
    refused = api.post(f"{base}register/")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "no_permission"
    assert "may not manage webhooks" in refused.json()["error"]["message"]
