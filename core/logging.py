"""Log filters. The Jira webhook URL carries the integration's token, a credential: whatever
logs a request path (Django's request logger on 4xx/5xx, for one) gets it redacted."""

from __future__ import annotations

import logging
import re

_WEBHOOK_TOKEN = re.compile(r"(/webhooks/jira/)[^/\s\"']+")


class RedactWebhookTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _WEBHOOK_TOKEN.sub(r"\1<token>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
