"""Hostile and broken bodies at the webhook intake: once the signature is valid, a delivery is
never lost and never answered 5xx. What can be cleaned (NUL, lone surrogates) applies; what
cannot be read or stored is kept raw, failed, with a sync-log error saying what was wrong.
A replayed body with a new identifier is the same delivery, and a body without ``timestamp``
does not skip the ordering rule."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from sync.models import InboundEvent, JiraLink, SyncLogEntry
from sync.services.inbound import inbound_event_process, inbound_event_retry
from tests.sync.conftest import make_linked_record, post_webhook
from tests.sync.test_inbound import deliver, issue_body, item

pytestmark = pytest.mark.django_db

ISSUE_UPDATED = '{"webhookEvent": "jira:issue_updated", "timestamp": 1700000000000, '


def _nested(depth: int) -> bytes:
    return (
        ISSUE_UPDATED + '"issue": {"id": "1"}, "x": ' + "[" * depth + "]" * depth + "}"
    ).encode()


UNREADABLE = [
    pytest.param(ISSUE_UPDATED.encode() + b'"issue": {"id": "1"}, "x": NaN}', "NaN", id="nan"),
    pytest.param(
        ISSUE_UPDATED.encode() + b'"issue": {"id": "1"}, "x": 1e999}', "1e999", id="1e999"
    ),
    pytest.param(
        ISSUE_UPDATED.encode() + b'"issue": {"id": "1"}, "x": ' + b"9" * 4301 + b"}",
        "4,300 digits",
        id="long-integer",
    ),
    pytest.param(
        b'{"webhookEvent": "jira:issue_updated", "timestamp": 99999999999999999999, '
        b'"issue": {"id": "1"}}',
        "'timestamp' is beyond any date",
        id="timestamp-beyond-bigint",
    ),
    pytest.param(
        ISSUE_UPDATED.encode() + b'"issue": {"id": "' + b"1" * 41 + b'"}}',
        "'issue.id' is 41 characters long",
        id="issue-id-41-chars",
    ),
    pytest.param(_nested(1000), "nested deeper than", id="nesting-1000"),
    pytest.param(_nested(150), "nested deeper than", id="nesting-150"),
    pytest.param(b"{not json", "not valid JSON", id="not-json"),
    pytest.param(b"\xff\xfe", "not", id="not-utf8"),
    pytest.param(b"[null]", "must be a JSON object", id="array"),
    pytest.param(b'{"webhookEvent": "jira:something_new"}', "not a Jira event", id="unknown"),
    pytest.param(b'{"webhookEvent": "jira:issue_updated"}', "must carry 'issue.id'", id="no-id"),
]


@pytest.mark.parametrize(("raw", "said"), UNREADABLE)
def test_a_signed_unreadable_body_is_kept_raw_failed_logged_and_answered_2xx(
    client, enabled_integration, raw, said
):
    response = post_webhook(client, enabled_integration, None, raw=raw)

    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["status"] == "failed"
    assert said in answer["error"]["message"]
    event = InboundEvent.objects.get(integration=enabled_integration)
    assert event.status == InboundEvent.Status.FAILED
    assert bytes(event.raw_body) == raw  # as received, byte for byte
    assert said in event.last_error
    log = SyncLogEntry.objects.get(integration=enabled_integration, inbound_event=event)
    assert log.level == SyncLogEntry.Level.ERROR
    assert said in log.message

    # Retry cannot make it readable: it fails again, saying the same thing, never a 5xx.
    inbound_event_retry(event=event)
    inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.FAILED
    assert said in event.last_error


def test_nul_and_lone_surrogates_are_cleaned_and_applied(client, enabled_integration, emulator):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Checkout")
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    body = issue_body(emulator, story["key"], items=[item("summary", None, "x")])
    body["issue"]["fields"]["summary"] = "Pay\u0000ment \ud800flow"
    body["issue"]["fields"]["labels"] = ["a\u0000b"]
    body["weird\u0000key"] = "\udfff"
    raw = json.dumps(body).encode()  # ASCII escapes: \u0000, \ud800, as Jira sends them
    assert b"\\u0000" in raw
    assert b"\\ud800" in raw

    response = post_webhook(client, enabled_integration, None, raw=raw)
    assert response.status_code == 202, response.content
    event = InboundEvent.objects.get(integration=enabled_integration)
    assert bytes(event.raw_body) == raw
    inbound_event_process(event_id=event.id)

    event.refresh_from_db()
    feature.refresh_from_db()
    assert event.status == InboundEvent.Status.PROCESSED, event.last_error
    assert feature.name == "Payment \ufffdflow"
    assert event.body["weirdkey"] == "\ufffd"
    assert any(
        "NUL character(s) removed" in m
        for m in SyncLogEntry.objects.filter(integration=enabled_integration).values_list(
            "message", flat=True
        )
    )


@pytest.mark.parametrize("signature", ["sha256=é" + "0" * 63, "sha256=\u2603", "ünïcode"])
def test_a_non_ascii_signature_is_a_clear_401(client, enabled_integration, signature):
    response = client.post(
        f"/webhooks/jira/{enabled_integration.webhook_token}/",
        data=b'{"webhookEvent": "comment_created"}',
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=signature,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_invalid"
    assert not InboundEvent.objects.exists()


def test_a_replayed_body_with_a_new_identifier_is_the_same_delivery(
    client, enabled_integration, emulator
):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Checkout")
    make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    emulator.update_issue(story["key"], {"labels": ["beta"]})
    body = issue_body(emulator, story["key"], items=[item("labels", None, "beta")])

    first = post_webhook(client, enabled_integration, body, delivery_id=str(uuid.uuid4()))
    replay = post_webhook(client, enabled_integration, body, delivery_id=str(uuid.uuid4()))

    assert first.status_code == 202
    assert replay.status_code == 200
    assert replay.json()["status"] == "duplicate"
    assert InboundEvent.objects.filter(integration=enabled_integration).count() == 1


def test_a_body_without_timestamp_is_ordered_by_the_issue_updated_time(
    client, enabled_integration, emulator
):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Checkout")
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    now = int(time.time() * 1000)
    emulator.update_issue(story["key"], {"summary": "Newer name"})
    newer = issue_body(emulator, story["key"], items=[item("summary", None, "Newer name")])
    newer["timestamp"] = now
    assert deliver(client, enabled_integration, newer).status == InboundEvent.Status.PROCESSED

    # A captured older body, without its timestamp: its issue was updated before `now`.
    older = issue_body(emulator, story["key"], items=[item("summary", None, "Older name")])
    del older["timestamp"]
    older["issue"]["fields"]["summary"] = "Older name"
    older["issue"]["fields"]["updated"] = "2020-01-02T03:04:05.000+0000"
    stale = deliver(client, enabled_integration, older)

    feature.refresh_from_db()
    assert stale.status == InboundEvent.Status.STALE, stale.last_error
    assert feature.name == "Newer name"
    assert JiraLink.objects.get(record=feature).last_event_timestamp == now

    # Newer by its updated time: it applies, and moves the issue's clock to that time.
    later = now + 60_000
    newest = issue_body(emulator, story["key"], items=[item("summary", None, "Newest name")])
    del newest["timestamp"]
    newest["issue"]["fields"]["summary"] = "Newest name"
    newest["issue"]["fields"]["updated"] = time.strftime(
        "%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(later / 1000)
    )
    assert deliver(client, enabled_integration, newest).status == InboundEvent.Status.PROCESSED
    feature.refresh_from_db()
    assert feature.name == "Newest name"
    assert JiraLink.objects.get(record=feature).last_event_timestamp == later // 1000 * 1000


def test_a_body_with_no_time_at_all_does_not_skip_the_ordering_rule(
    client, enabled_integration, emulator
):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Checkout")
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    emulator.update_issue(story["key"], {"summary": "Newer name"})
    newer = issue_body(emulator, story["key"], items=[item("summary", None, "Newer name")])
    assert deliver(client, enabled_integration, newer).status == InboundEvent.Status.PROCESSED

    timeless = issue_body(emulator, story["key"], items=[item("summary", None, "Older name")])
    del timeless["timestamp"]
    timeless["issue"]["fields"].pop("updated", None)
    timeless["issue"]["fields"]["summary"] = "Older name"
    stale = deliver(client, enabled_integration, timeless)

    feature.refresh_from_db()
    assert stale.status == InboundEvent.Status.STALE
    assert "without a timestamp" in stale.last_error
    assert feature.name == "Newer name"
