"""Jira -> here: process one stored webhook event (``InboundEvent``).

Idempotent and safe with redelivery (tasks are ``acks_late``): only a RECEIVED event is
processed, under a row lock, and the issue's (or version's) ``JiraLink`` is locked too, so two
workers never apply events of one issue at once. Each event ends PROCESSED, IGNORED (the
reason in ``last_error``), STALE (older than what was applied to that issue) or, after
``MAX_ATTEMPTS`` transient Jira failures or a permanent error, FAILED with an error in the
sync log saying what to do. Every write to records happens inside
``change_origin("jira", integration_id)`` so the outbound side does not send it back.

Handlers live in ``sync.services.handlers``, one module per event family, in ``HANDLERS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from integrations.models import Integration
from integrations.providers.jira.errors import JiraError
from records.signals import change_origin

from ..events import HANDLED_EVENTS
from ..models import InboundEvent, SyncLogEntry
from ..queue import MAX_ATTEMPTS, backoff_seconds, enqueue_inbound_event
from ..webhooks.delivery import read_delivery
from .handlers import issues, links, versions
from .handlers.common import Context, Ignore, JiraSession, Stale, as_dict
from .log import sync_log

logger = logging.getLogger(__name__)

Handler = Callable[[Context], None]

HANDLERS: dict[str, Handler] = {
    "jira:issue_created": issues.handle_issue_created,
    "jira:issue_updated": issues.handle_issue_updated,
    "jira:issue_deleted": issues.handle_issue_deleted,
    "issuelink_created": links.handle_issuelink_created,
    "issuelink_deleted": links.handle_issuelink_deleted,
    "jira:version_created": versions.handle_version_changed,
    "jira:version_updated": versions.handle_version_changed,
    "jira:version_released": versions.handle_version_changed,
    "jira:version_unreleased": versions.handle_version_changed,
    "jira:version_moved": versions.handle_version_changed,
    "jira:version_deleted": versions.handle_version_deleted,
    "jira:version_merged": versions.handle_version_deleted,
}
assert set(HANDLERS) == set(HANDLED_EVENTS), "every handled event type needs a handler"


def event_subject(event: InboundEvent) -> str:
    """What the event is about, in words: "DEMO-5", "Jira version 'v2'", "Jira link 10010"."""
    body = as_dict(event.body)
    issue = as_dict(body.get("issue"))
    if issue:
        return str(issue.get("key") or f"issue {issue.get('id')}")
    version = as_dict(body.get("version"))
    if version:
        return f"Jira version '{version.get('name') or version.get('id')}'"
    link = as_dict(body.get("issueLink"))
    if link:
        return f"Jira link {link.get('id')}"
    return "the event"


def _finish(event: InboundEvent, status: str, reason: str = "") -> None:
    event.status = status
    event.last_error = reason[:5000]
    event.processed_at = timezone.now()
    event.next_attempt_at = None
    event.save(update_fields=["status", "last_error", "processed_at", "next_attempt_at"])


def inbound_event_process(*, event_id: int) -> InboundEvent | None:
    """Apply one stored Jira event. Returns the event as it ends (None if it is gone)."""
    event = InboundEvent.objects.select_related("integration").filter(pk=event_id).first()
    if event is None:
        return None
    jira = JiraSession(event.integration)
    try:
        with transaction.atomic():
            event = (
                InboundEvent.objects.select_for_update(of=("self",))
                .select_related("integration")
                .get(pk=event_id)
            )
            if event.status != InboundEvent.Status.RECEIVED:
                return event  # a redelivery of a finished event: nothing to do
            if event.next_attempt_at and event.next_attempt_at > timezone.now():
                return event  # a retry not due yet: its countdown (or the sweep) brings it back
            unreadable = _unreadable(event)
            if unreadable:
                raise ApplicationError(unreadable)
            integration = event.integration
            if integration.state != Integration.State.ENABLED:
                _finish(
                    event,
                    InboundEvent.Status.IGNORED,
                    f"ignored: the integration is {integration.state}",
                )
                return event
            handler = HANDLERS.get(event.event_type)
            if handler is None:
                _finish(event, InboundEvent.Status.IGNORED, "ignored: not a handled event type")
                return event
            jira.integration = integration
            context = Context(
                event=event, integration=integration, body=as_dict(event.body), jira=jira
            )
            try:
                # A savepoint: an ignore or stale outcome leaves nothing half-written.
                with transaction.atomic(), change_origin("jira", integration.id):
                    handler(context)
            except Ignore as outcome:
                _finish(event, InboundEvent.Status.IGNORED, str(outcome))
            except Stale as outcome:
                _finish(event, InboundEvent.Status.STALE, str(outcome))
            else:
                _finish(event, InboundEvent.Status.PROCESSED)
            return event
    except JiraError as exc:
        return _failed_attempt(event_id, exc)
    except ApplicationError as exc:
        return _fail(event_id, exc.message, hint="Fix what it says, then press Retry.")
    except Exception as exc:  # a defect: fail visibly rather than redeliver forever
        logger.exception("inbound event %s failed", event_id)
        return _fail(
            event_id,
            f"Unexpected error ({type(exc).__name__}).",
            hint="Press Retry; if it fails again, report it with this event's id.",
        )
    finally:
        jira.close()


def _unreadable(event: InboundEvent) -> str:
    """Why a delivery kept raw cannot be applied (a Retry of it fails the same way)."""
    if event.body is not None and not event.raw_body:
        return ""  # stored before raw bodies were kept
    delivery = read_delivery(bytes(event.raw_body))
    return "" if delivery.usable else f"{delivery.problem} The raw body is kept with the event."


def _failed_attempt(event_id: int, exc: JiraError) -> InboundEvent | None:
    if not exc.transient:
        return _fail(
            event_id, str(exc), hint="Fix it in Jira or in the integration, then press Retry."
        )
    with transaction.atomic():
        event = InboundEvent.objects.select_for_update(of=("self",)).filter(pk=event_id).first()
        if event is None or event.status != InboundEvent.Status.RECEIVED:
            return event
        event.attempts += 1
        if event.attempts >= MAX_ATTEMPTS:
            pass
        else:
            delay = backoff_seconds(event.attempts, exc.retry_after)
            event.next_attempt_at = timezone.now() + timedelta(seconds=delay)
            event.last_error = f"attempt {event.attempts} of {MAX_ATTEMPTS}: {exc}"[:5000]
            event.save(update_fields=["attempts", "next_attempt_at", "last_error"])
            sync_log(
                integration_id=event.integration_id,
                level=SyncLogEntry.Level.WARNING,
                action="inbound_retry",
                message=(
                    f"{event_subject(event)}: {exc} Attempt {event.attempts} of {MAX_ATTEMPTS}; "
                    f"retrying in {round(delay)} s."
                ),
                inbound_event=event,
            )
            enqueue_inbound_event(event.id, countdown=delay)
            return event
    return _fail(
        event_id,
        f"{exc} Jira kept failing after {MAX_ATTEMPTS} attempts.",
        hint="Check that Jira is reachable, then press Retry.",
        count_attempt=False,
    )


def _fail(event_id: int, message: str, *, hint: str, count_attempt: bool = True):
    with transaction.atomic():
        event = InboundEvent.objects.select_for_update(of=("self",)).filter(pk=event_id).first()
        if event is None or event.status != InboundEvent.Status.RECEIVED:
            return event
        if count_attempt:
            event.attempts += 1
        else:
            event.attempts = max(event.attempts, MAX_ATTEMPTS)
        event.status = InboundEvent.Status.FAILED
        event.last_error = f"{message} {hint}"[:5000]
        event.next_attempt_at = None
        event.processed_at = timezone.now()
        event.save()
        sync_log(
            integration_id=event.integration_id,
            level=SyncLogEntry.Level.ERROR,
            action="inbound_failed",
            message=(
                f"Could not apply {event.event_type} for {event_subject(event)}: {message} {hint}"
            ),
            inbound_event=event,
        )
        return event


@transaction.atomic
def inbound_event_retry(*, event: InboundEvent) -> InboundEvent:
    """The UI's Retry: a FAILED event goes back to RECEIVED, with fresh attempts, and is
    handed to a worker."""
    locked = InboundEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
    if locked.status != InboundEvent.Status.FAILED:
        raise ApplicationError(
            "Only a failed event can be retried; this one is "
            f"{locked.get_status_display().lower()}.",
            field="status",
        )
    locked.status = InboundEvent.Status.RECEIVED
    locked.attempts = 0
    locked.next_attempt_at = None
    locked.processed_at = None
    locked.last_error = ""
    locked.save()
    sync_log(
        integration_id=locked.integration_id,
        level=SyncLogEntry.Level.INFO,
        action="inbound_retry",
        message=f"Retry of {locked.event_type} for {event_subject(locked)} requested.",
        inbound_event=locked,
    )
    enqueue_inbound_event(locked.id)
    return locked
