"""Reading the body of a signed Jira webhook delivery.

Real Jira text holds NUL characters and broken surrogate pairs; neither can be stored (a
PostgreSQL ``jsonb`` refuses ``\\u0000``, UTF-8 refuses a lone surrogate), so both are cleaned
on the way in and the event applies. What cannot be read or stored as JSON at all (NaN,
1e999, a number of more than 4,300 digits, a timestamp beyond 64 bits, an id longer than
Jira's, nesting deeper than any Jira payload) is said in words in ``problem``: the intake
then keeps the raw bytes, marks the event failed and logs that sentence.

The intake reads every delivery through ``read_delivery``; so does the processor when asked
to retry an event kept raw, so both say the same thing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..events import HANDLED_EVENTS, IGNORED_EVENTS, required_object

# Jira's deepest payloads (rich-text documents in descriptions) are a few dozen levels deep.
MAX_DEPTH = 100
MAX_ID_CHARS = 40  # the width of the Jira id columns (JiraLink.jira_id, jira_issue_id)
MAX_EVENT_TYPE_CHARS = 64
BIGINT = 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


class Unreadable(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Delivery:
    """One delivery as read. ``payload`` is None when ``problem`` says why it is unusable
    before it could even be stored as JSON (then only the raw bytes are kept)."""

    payload: dict | None = None
    event_type: str = ""
    issue_id: str = ""
    timestamp: int | None = None
    code: str = ""
    problem: str = ""
    cleaned: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.problem


def _refuse_constant(name: str) -> Any:
    raise Unreadable(
        "not_a_number",
        f"The body holds {name}, which is not a JSON number and cannot be stored.",
    )


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Unreadable(
            "number_out_of_range",
            f"The body holds the number {text[:40]}, too large to store.",
        )
    return value


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except Unreadable:
        raise
    except RecursionError:
        raise Unreadable(
            "too_deep", f"The body is nested deeper than {MAX_DEPTH} levels."
        ) from None
    except UnicodeDecodeError as exc:
        raise Unreadable("invalid_json", f"The body is not UTF-8 text ({exc.reason}).") from None
    except json.JSONDecodeError as exc:
        raise Unreadable("invalid_json", f"The body is not valid JSON: {exc}.") from None
    except ValueError as exc:  # int(): more digits than Python converts (4,300)
        if "digits" in str(exc):
            raise Unreadable(
                "number_too_long", "The body holds an integer of more than 4,300 digits."
            ) from None
        raise Unreadable("invalid_json", f"The body is not valid JSON: {exc}.") from None


class _Cleaner:
    """Copies a parsed body without NUL characters or lone surrogates, counting both, and
    refuses nesting deeper than MAX_DEPTH (before anything recursive meets it)."""

    def __init__(self) -> None:
        self.nul = 0
        self.surrogates = 0

    def text(self, value: str) -> str:
        if "\x00" in value:
            self.nul += value.count("\x00")
            value = value.replace("\x00", "")
        if _SURROGATE.search(value):
            self.surrogates += len(_SURROGATE.findall(value))
            value = _SURROGATE.sub("\ufffd", value)
        return value

    def value(self, value: Any, depth: int = 1) -> Any:
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            raise Unreadable("too_deep", f"The body is nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self.value(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, depth + 1) for v in value]
        return value


def clean_text(value: str) -> str:
    """A header value or any other text from a delivery, storable."""
    return _Cleaner().text(value)


def read_delivery(raw: bytes) -> Delivery:
    """Parse, clean and check one body. Never raises: a problem is in the result."""
    delivery = Delivery()
    try:
        parsed = _parse(raw)
        cleaner = _Cleaner()
        payload = cleaner.value(parsed)
    except Unreadable as exc:
        delivery.code, delivery.problem = exc.code, exc.message
        return delivery
    if cleaner.nul:
        delivery.cleaned.append(f"{cleaner.nul} NUL character(s) removed")
    if cleaner.surrogates:
        delivery.cleaned.append(f"{cleaner.surrogates} broken surrogate(s) replaced by U+FFFD")
    if not isinstance(payload, dict):
        delivery.code = "invalid_payload"
        delivery.problem = "The body must be a JSON object, as Jira's webhooks are."
        return delivery
    delivery.payload = payload
    event_type = payload.get("webhookEvent")
    if not isinstance(event_type, str) or not event_type:
        delivery.code = "missing_event"
        delivery.problem = "The body has no 'webhookEvent': is this a Jira webhook?"
        return delivery
    delivery.event_type = event_type[:MAX_EVENT_TYPE_CHARS]
    if event_type not in HANDLED_EVENTS and event_type not in IGNORED_EVENTS:
        delivery.code = "unknown_event"
        delivery.problem = (
            f"'{event_type[:200]}' is not a Jira event this product handles or knowingly ignores."
        )
        return delivery
    if event_type in HANDLED_EVENTS:
        key, id_field = required_object(event_type)
        obj = payload.get(key)
        object_id = obj.get(id_field) if isinstance(obj, dict) else None
        if object_id in (None, "") or isinstance(object_id, bool | dict | list | float):
            delivery.code = "missing_fields"
            delivery.problem = f"A {event_type} event must carry '{key}.{id_field}'."
            return delivery
        object_id = str(object_id)
        if len(object_id) > MAX_ID_CHARS:
            delivery.code = "id_too_long"
            delivery.problem = (
                f"'{key}.{id_field}' is {len(object_id)} characters long; Jira's ids are at "
                f"most {MAX_ID_CHARS}."
            )
            return delivery
        if key == "issue":
            delivery.issue_id = object_id
    timestamp = payload.get("timestamp")
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        if abs(timestamp) > BIGINT:
            delivery.code = "timestamp_out_of_range"
            delivery.problem = (
                f"'timestamp' is beyond any date (it must be epoch milliseconds, at most {BIGINT})."
            )
            return delivery
        delivery.timestamp = timestamp
    return delivery
