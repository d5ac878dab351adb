"""Jira -> here, step one: keep an authenticated webhook delivery, whatever is inside.

Once the signature is valid nothing Jira sent is lost: the raw bytes are stored with the
event. A body that can be used is stored cleaned and handed to a worker (or stored as ignored);
one that cannot is stored failed, with a sync-log error saying what was wrong, and still
answered 2xx so Jira does not retry it forever.

The delivery identifier is not covered by Jira's signature, so a captured body re-sent with a
new identifier would be applied twice: the body's SHA-256 is unique per integration too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from integrations.models import Integration

from ..events import IGNORED_EVENTS
from ..models import InboundEvent, SyncLogEntry
from ..queue import enqueue_inbound_event
from ..webhooks.delivery import Delivery, clean_text, read_delivery
from .log import sync_log

MAX_DELIVERY_ID_CHARS = 128


@dataclass
class Receipt:
    """What the intake answers: the event stored (None for a duplicate) and how it was read."""

    event: InboundEvent | None
    delivery: Delivery
    delivery_id: str

    @property
    def duplicate(self) -> bool:
        return self.event is None


def inbound_event_receive(
    *,
    integration: Integration,
    raw_body: bytes,
    delivery_id: str,
    headers: dict[str, str],
) -> Receipt:
    """Store one authenticated delivery; a duplicate (same identifier or same body) is not
    stored again."""
    body_sha256 = hashlib.sha256(raw_body).hexdigest()
    delivery_id = clean_text(delivery_id).strip()[:MAX_DELIVERY_ID_CHARS]
    if not delivery_id:
        # Jira always sends one; without it, identical bodies are the same delivery.
        delivery_id = "sha256:" + body_sha256
    delivery = read_delivery(raw_body)
    if not delivery.usable:
        status, reason = InboundEvent.Status.FAILED, f"{delivery.problem} The raw body is kept."
    elif delivery.event_type in IGNORED_EVENTS:
        status, reason = InboundEvent.Status.IGNORED, "ignored: not a handled event type"
    elif integration.state != Integration.State.ENABLED:
        status = InboundEvent.Status.IGNORED
        reason = f"ignored: the integration is {integration.state}"
    else:
        status, reason = InboundEvent.Status.RECEIVED, ""
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                integration=integration,
                delivery_id=delivery_id,
                event_type=delivery.event_type,
                jira_issue_id=delivery.issue_id,
                jira_timestamp=delivery.timestamp,
                body=delivery.payload,
                raw_body=raw_body,
                body_sha256=body_sha256,
                headers={name: clean_text(value) for name, value in headers.items()},
                status=status,
                last_error=reason,
            )
            if status == InboundEvent.Status.RECEIVED:
                enqueue_inbound_event(event.id)
            elif status == InboundEvent.Status.FAILED:
                sync_log(
                    integration_id=integration.id,
                    level=SyncLogEntry.Level.ERROR,
                    action="inbound_failed",
                    message=(
                        f"A signed Jira delivery ({delivery_id}) could not be read: "
                        f"{delivery.problem} Its raw body is kept with the event; fix the "
                        "sender (a Jira app or automation rule) or ignore it."
                    ),
                    inbound_event=event,
                )
            if delivery.cleaned:
                sync_log(
                    integration_id=integration.id,
                    level=SyncLogEntry.Level.INFO,
                    action="inbound_cleaned",
                    message=(
                        f"A Jira delivery ({delivery_id}) held text that cannot be stored: "
                        f"{'; '.join(delivery.cleaned)}. The rest applies as sent."
                    ),
                    inbound_event=event,
                )
    except IntegrityError:
        # The same delivery again: Jira retries with the same identifier, and a replayed body
        # is the same delivery whatever identifier it comes with.
        return Receipt(event=None, delivery=delivery, delivery_id=delivery_id)
    return Receipt(event=event, delivery=delivery, delivery_id=delivery_id)
