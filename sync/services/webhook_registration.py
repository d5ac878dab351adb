"""The webhook registered by the product (issue 9, section 3): with the integration's own
credentials, create Jira's webhook through its admin webhook REST API
(``/rest/webhooks/1.0/webhook``: Jira Data Center, and Jira Cloud for site admins), with exactly
the events the intake handles, the project's JQL filter and the secret; check it; keep it in
step when the webhook URL, the secret or the project changes; remove it with the integration.

When the credentials may not manage webhooks, the answer says so in plain words and points
at the manual steps, which stay on the Enable step as the fallback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from integrations.models import Integration
from integrations.providers.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraNotFound,
    JiraPermissionError,
)
from integrations.selectors import effective_connection, effective_project
from integrations.services.configuration import build_client
from integrations.services.integrations import integration_webhook_secret

from ..models import InboundEvent, WebhookRegistration
from ..selectors import last_inbound_event
from ..webhooks.setup import webhook_events as intake_events
from ..webhooks.setup import webhook_url

logger = logging.getLogger(__name__)

NO_PERMISSION = (
    "Jira refused: the Jira user of this integration ({who}) may not manage webhooks. Jira "
    "lets only administrators register them. Ask a Jira administrator to register it, or "
    "follow the manual steps below."
)
BAD_CREDENTIALS = (
    "Jira rejected the integration's credentials: fix them on the Connect step, then try again."
)


def webhook_events() -> list[str]:
    """The events registered: exactly those the intake handles (its one table,
    sync.events.HANDLED_EVENT_TYPES)."""
    return list(intake_events())


def webhook_jql(integration: Integration) -> str:
    key = effective_project(integration).key
    return f"project = {key}" if key else ""


def webhook_name(integration: Integration) -> str:
    return f"Roadmap sync: {integration.name}"[:255]


def _jira_message(exc: JiraError, integration: Integration) -> str:
    if isinstance(exc, JiraPermissionError):
        connection = effective_connection(integration)
        who = connection.email or "the personal access token's user"
        return NO_PERMISSION.format(who=who)
    if isinstance(exc, JiraAuthError):
        return BAD_CREDENTIALS
    return f"Jira did not register the webhook: {exc.user_message}"


def _webhook_id(answer: dict) -> str:
    return str(answer.get("self") or "").rstrip("/").rsplit("/", 1)[-1]


def _check_can_register(integration: Integration) -> None:
    if integration.is_template:
        raise ApplicationError(
            "A template is not synced itself, so it has no webhook: register the webhook of "
            "each workspace integration made from it.",
            code="template",
        )
    if not effective_project(integration).key:
        raise ApplicationError(
            "Choose the Jira project first (Project step): the webhook is filtered to it.",
            field="project_key",
        )


def webhook_register(*, integration: Integration) -> WebhookRegistration:
    """Create the webhook in Jira (replacing the one registered before, if any) and remember
    it. Raises ApplicationError in words (with ``code="no_permission"`` when the credentials
    may not manage webhooks)."""
    _check_can_register(integration)
    url = webhook_url(integration)
    events = webhook_events()
    jql = webhook_jql(integration)
    name = webhook_name(integration)
    secret = integration_webhook_secret(integration=integration)
    previous = WebhookRegistration.objects.filter(integration=integration).first()
    client = build_client(integration)
    try:
        try:
            answer = client.register_admin_webhook(
                url=url, events=events, name=name, jql=jql, secret=secret
            )
        except JiraError as exc:
            logger.info(
                "Integration %s: webhook registration refused (%s)",
                integration.pk,
                type(exc).__name__,
            )
            raise ApplicationError(
                _jira_message(exc, integration),
                code="no_permission" if isinstance(exc, JiraPermissionError) else "jira",
            ) from None
        # The new one is in place: the one it replaces goes (already gone is fine).
        if previous is not None and previous.jira_webhook_id != _webhook_id(answer):
            try:
                client.delete_admin_webhook(previous.jira_webhook_id)
            except JiraNotFound:
                pass
            except JiraError as exc:
                logger.warning(
                    "Integration %s: the replaced Jira webhook %s was not deleted: %s",
                    integration.pk,
                    previous.jira_webhook_id,
                    exc.user_message,
                )
    finally:
        client.close()
    registration, _ = WebhookRegistration.objects.update_or_create(
        integration=integration,
        defaults={
            "jira_webhook_id": _webhook_id(answer),
            "name": name,
            "url": url,
            "events": events,
            "jql": jql,
            "registered_at": timezone.now(),
            "checked_at": None,
            "check_problem": "",
            "last_error": "",
        },
    )
    logger.info(
        "Integration %s: webhook %s registered in Jira",
        integration.pk,
        registration.jira_webhook_id,
    )
    return registration


@dataclass
class WebhookState:
    """What the Enable step shows: the registration (None: not registered by us), what the
    last check found, and the last delivery Jira made."""

    registration: WebhookRegistration | None
    last_event: InboundEvent | None
    problems: list[str] = field(default_factory=list)
    checked: bool = False


def webhook_state(integration: Integration) -> WebhookState:
    registration = WebhookRegistration.objects.filter(integration=integration).first()
    problems = []
    if registration is not None and registration.check_problem:
        problems = registration.check_problem.splitlines()
    return WebhookState(registration, last_inbound_event(integration), problems)


def _differences(registration: WebhookRegistration, hook: dict, integration) -> list[str]:
    problems = []
    if not hook.get("enabled", True):
        problems.append("It is disabled in Jira: enable it there, or register it again.")
    if str(hook.get("url") or "") != webhook_url(integration):
        problems.append("It calls another URL than this integration's: register it again.")
    missing = sorted(set(webhook_events()) - set(hook.get("events") or []))
    if missing:
        problems.append(
            "It misses events the sync needs (" + ", ".join(missing) + "): register it again."
        )
    jql = str((hook.get("filters") or {}).get("issue-related-events-section") or "")
    if jql != webhook_jql(integration):
        problems.append(
            f"Its JQL filter is “{jql or 'none'}”, not “{webhook_jql(integration)}”: "
            "register it again."
        )
    return problems


def webhook_check(*, integration: Integration) -> WebhookState:
    """Check webhook: ask Jira whether the registered webhook is still there as registered,
    and report the last delivery seen. Without a registration only the delivery is shown."""
    registration = WebhookRegistration.objects.filter(integration=integration).first()
    if registration is None:
        return WebhookState(None, last_inbound_event(integration), [], checked=True)
    client = build_client(integration)
    try:
        hooks = client.list_admin_webhooks()
    except JiraError as exc:
        problems = [_jira_message(exc, integration).replace("register the webhook", "answer")]
    else:
        hook = next((h for h in hooks if _webhook_id(h) == registration.jira_webhook_id), None)
        if hook is None:
            problems = [
                "The webhook is no longer in Jira (someone deleted it there): register it again."
            ]
        else:
            problems = _differences(registration, hook, integration)
    finally:
        client.close()
    registration.checked_at = timezone.now()
    registration.check_problem = "\n".join(problems)
    registration.save(update_fields=["checked_at", "check_problem"])
    return WebhookState(registration, last_inbound_event(integration), problems, checked=True)


def webhook_unregister(*, integration: Integration) -> bool:
    """Delete the registered webhook from Jira and forget it. True when there was one. A
    webhook already gone from Jira is forgotten quietly; other Jira errors are raised."""
    registration = WebhookRegistration.objects.filter(integration=integration).first()
    if registration is None:
        return False
    client = build_client(integration)
    try:
        client.delete_admin_webhook(registration.jira_webhook_id)
    except JiraNotFound:
        pass
    except JiraError as exc:
        raise ApplicationError(
            f"Jira did not delete the webhook: {exc.user_message}", code="jira"
        ) from None
    finally:
        client.close()
    registration.delete()
    logger.info("Integration %s: webhook unregistered from Jira", integration.pk)
    return True


def webhook_registration_refresh(*, integration_id: int) -> None:
    """Keep the registered webhook in step after its URL, secret or project changed: register
    it again. Runs after the change is committed; a failure is kept on the registration (the
    Enable step shows it) and never undoes the change."""
    integrations = Integration.objects.filter(
        webhook_registration__isnull=False, is_template=False
    ).filter(pk=integration_id) | Integration.objects.filter(
        webhook_registration__isnull=False, template_id=integration_id
    )
    for integration in integrations.distinct():
        try:
            webhook_register(integration=integration)
        except ApplicationError as exc:
            logger.warning(
                "Integration %s: the webhook could not be kept in step: %s",
                integration.pk,
                exc.message,
            )
            WebhookRegistration.objects.filter(integration=integration).update(
                last_error=exc.message
            )


def webhook_unregister_quietly(*, integration: Integration) -> None:
    """Before an integration is deleted: remove its webhook from Jira, best effort (the
    deletion goes on whatever Jira answers; a failure is logged for the admin)."""
    try:
        with transaction.atomic():
            webhook_unregister(integration=integration)
    except ApplicationError as exc:
        logger.warning(
            "Integration %s deleted, but its Jira webhook was not removed: %s",
            integration.pk,
            exc.message,
        )
