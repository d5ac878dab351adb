"""``POST /webhooks/jira/<token>/``: authenticate, parse, store, hand off. Never sync inline.

The answer comes after the event is durably stored and before any Jira call; the event id
goes to a Celery task on commit, and a beat sweep picks up any whose hand-off was lost.
Every refusal is a clear 4xx with a logged reason, never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.models import Integration

from ..events import HANDLED_EVENTS, IGNORED_EVENTS, required_object
from ..models import InboundEvent
from ..queue import enqueue_inbound_event

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Jira's issue payloads are tens of KB; 1 MB is generous.
KEPT_HEADERS = (
    "X-Atlassian-Webhook-Identifier",
    "X-Atlassian-Webhook-Retry",
    "X-Atlassian-Webhook-Flow",
    "User-Agent",
)


def _refuse(
    status: int, code: str, message: str, *, integration: Integration | None = None
) -> JsonResponse:
    # The URL's token is a credential: logs name the integration, never the token.
    logger.warning(
        "jira webhook refused (%s) for %s: %s",
        code,
        f"integration {integration.pk}" if integration else "an unknown token",
        message,
    )
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def _signature_valid(secret: str, body: bytes, header: str) -> bool:
    if not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


@csrf_exempt
@require_POST
def jira_webhook(request: HttpRequest, token: str) -> JsonResponse:
    length = request.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return _refuse(413, "too_large", f"The body is over {MAX_BODY_BYTES} bytes.")

    integration = (
        Integration.objects.filter(webhook_token=token, is_template=False)
        .only("id", "state", "webhook_secret_encrypted")
        .first()
    )
    if integration is None:
        return _refuse(
            404,
            "unknown_integration",
            "No integration has this webhook URL. Copy the URL again from the integration's "
            "Enable step: it changes when the token is rotated.",
        )

    content_type = (request.content_type or "").lower()
    if content_type != "application/json":
        return _refuse(
            415,
            "unsupported_media_type",
            f"Send JSON with Content-Type: application/json (got '{content_type or 'none'}').",
            integration=integration,
        )

    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _refuse(
            413, "too_large", f"The body is over {MAX_BODY_BYTES} bytes.", integration=integration
        )

    secret = integration.get_webhook_secret()
    if secret:
        signature = request.headers.get("X-Hub-Signature", "")
        if not signature:
            return _refuse(
                401,
                "signature_missing",
                "This integration has a webhook secret: Jira must send X-Hub-Signature. Set "
                "the same secret on the webhook in Jira.",
                integration=integration,
            )
        if not _signature_valid(secret, body, signature):
            return _refuse(
                401,
                "signature_invalid",
                "X-Hub-Signature does not match the body: the webhook's secret in Jira differs "
                "from this integration's.",
                integration=integration,
            )

    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _refuse(
            400, "invalid_json", f"The body is not valid JSON: {exc}.", integration=integration
        )
    if not isinstance(payload, dict):
        return _refuse(
            400, "invalid_payload", "The body must be a JSON object.", integration=integration
        )
    event_type = payload.get("webhookEvent")
    if not isinstance(event_type, str) or not event_type:
        return _refuse(
            400,
            "missing_event",
            "The body has no 'webhookEvent': is this a Jira webhook?",
            integration=integration,
        )
    if event_type not in HANDLED_EVENTS and event_type not in IGNORED_EVENTS:
        return _refuse(
            400,
            "unknown_event",
            f"'{event_type}' is not a Jira event this product handles or knowingly ignores.",
            integration=integration,
        )
    issue_id = ""
    if event_type in HANDLED_EVENTS:
        key, id_field = required_object(event_type)
        obj = payload.get(key)
        if not isinstance(obj, dict) or obj.get(id_field) in (None, ""):
            return _refuse(
                400,
                "missing_fields",
                f"A {event_type} event must carry '{key}.{id_field}'.",
                integration=integration,
            )
        if key == "issue":
            issue_id = str(obj[id_field])
    timestamp = payload.get("timestamp")
    if not isinstance(timestamp, int):
        timestamp = None

    delivery_id = request.headers.get("X-Atlassian-Webhook-Identifier", "").strip()[:128]
    if not delivery_id:
        # Jira always sends one; without it, identical bodies are the same delivery.
        delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()[:64]

    ignored = event_type in IGNORED_EVENTS or integration.state != Integration.State.ENABLED
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                integration=integration,
                delivery_id=delivery_id,
                event_type=event_type,
                jira_issue_id=issue_id,
                jira_timestamp=timestamp,
                body=payload,
                headers={h: request.headers[h] for h in KEPT_HEADERS if h in request.headers},
                status=InboundEvent.Status.IGNORED if ignored else InboundEvent.Status.RECEIVED,
                last_error=(
                    ""
                    if not ignored
                    else "ignored: not a handled event type"
                    if event_type in IGNORED_EVENTS
                    else f"ignored: the integration is {integration.state}"
                ),
            )
            if not ignored:
                enqueue_inbound_event(event.id)
    except IntegrityError:
        # The same delivery again (Jira retries with the same identifier): already stored.
        return JsonResponse({"status": "duplicate", "delivery_id": delivery_id}, status=200)

    return JsonResponse(
        {"status": "ignored" if ignored else "accepted", "event_id": event.id}, status=202
    )
