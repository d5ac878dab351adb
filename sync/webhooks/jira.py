"""``POST /webhooks/jira/<token>/``: authenticate, parse, store, hand off. Never sync inline.

The answer comes after the event is durably stored and before any Jira call; the event id
goes to a Celery task on commit, and a beat sweep picks up any whose hand-off was lost.
Every refusal before the signature is checked is a clear 4xx with a logged reason; once the
signature is valid the delivery is stored whatever is inside (``sync.services.intake``) and
answered 2xx, saying so when it could not be read. Never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.models import Integration

from ..models import InboundEvent
from ..services.intake import inbound_event_receive

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
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # Compared as bytes: a header of any characters is a mismatch, never an error.
    given = header.removeprefix("sha256=").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


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

    receipt = inbound_event_receive(
        integration=integration,
        raw_body=body,
        delivery_id=request.headers.get("X-Atlassian-Webhook-Identifier", ""),
        headers={h: request.headers[h] for h in KEPT_HEADERS if h in request.headers},
    )
    if receipt.duplicate:
        return JsonResponse({"status": "duplicate", "delivery_id": receipt.delivery_id}, status=200)
    event = receipt.event
    if not receipt.delivery.usable:
        # Kept (raw) and logged; a 2xx, or Jira would retry a body that can never be read.
        logger.warning(
            "jira webhook for integration %s kept as failed (%s): %s",
            integration.pk,
            receipt.delivery.code,
            receipt.delivery.problem,
        )
        return JsonResponse(
            {
                "status": "failed",
                "event_id": event.id,
                "error": {
                    "code": receipt.delivery.code,
                    "message": f"{receipt.delivery.problem} The delivery is kept, marked failed.",
                    "fields": {},
                },
            },
            status=202,
        )
    status = "accepted" if event.status == InboundEvent.Status.RECEIVED else "ignored"
    return JsonResponse({"status": status, "event_id": event.id}, status=202)
