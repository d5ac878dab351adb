"""Inbound sync end to end: the Jira emulator sends REAL webhooks over HTTP to a live server
(signed with the integration's secret); events are processed by the service, or by a real
Celery worker process."""

from __future__ import annotations

import time

import pytest

from integrations.models import Integration
from integrations.services.relationships import relationship_mapping_add
from records.models import Record, RecordLink
from sync.models import ImportCandidate, InboundEvent, JiraLink, OutboxEntry, SyncLogEntry
from sync.services.imports import import_candidate_accept
from sync.services.inbound import inbound_event_process
from tests.sync.conftest import make_enabled_integration, make_linked_record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_link_defaults")]

EVENTS = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "issuelink_created",
    "issuelink_deleted",
    "jira:version_updated",
    "jira:version_released",
]


@pytest.fixture
def hooked(live_server, workspace, emulator):
    """An enabled integration and an emulator admin webhook pointed at its live intake."""
    integration = make_enabled_integration(workspace, emulator)
    emulator.add_webhook(
        f"{live_server.url}/webhooks/jira/{integration.webhook_token}/",
        events=EVENTS,
        secret=integration.get_webhook_secret(),
    )
    return integration


def settle(emulator, integration, count=None):
    """Wait for the emulator's deliveries, then process what arrived, oldest first."""
    assert emulator.wait_for_webhooks(10)
    assert all(d.ok for d in emulator.webhook_deliveries), [
        (d.status, d.error) for d in emulator.webhook_deliveries
    ]
    pending = InboundEvent.objects.filter(integration=integration, status="received")
    for event_id in pending.order_by("jira_timestamp", "id").values_list("id", flat=True):
        inbound_event_process(event_id=event_id)
    if count is not None:
        assert InboundEvent.objects.filter(integration=integration).count() == count


def test_an_edit_in_jira_reaches_the_record(hooked, emulator):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Checkout")
    settle(emulator, hooked)
    feature = make_linked_record(hooked, "feature", story["id"], story["key"], name="Checkout")

    emulator.update_issue(story["key"], {"summary": "Checkout v2", "labels": ["web"]})
    emulator.transition_issue(story["key"], "In Progress")
    settle(emulator, hooked)

    feature.refresh_from_db()
    assert feature.name == "Checkout v2"
    assert feature.status == "in_development"
    assert list(feature.tags.values_list("name", flat=True)) == ["web"]
    # Each delivery stored once (identifier), none sent back to Jira.
    ids = [d.identifier for d in emulator.webhook_deliveries]
    assert InboundEvent.objects.filter(delivery_id__in=ids).count() == len(set(ids))
    assert not OutboxEntry.objects.filter(record=feature).exists()


def test_a_real_worker_applies_a_jira_edit(hooked, emulator, celery_worker):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Worker")
    assert emulator.wait_for_webhooks(10)
    feature = make_linked_record(hooked, "feature", story["id"], story["key"], name="Worker")

    emulator.update_issue(story["key"], {"duedate": "2027-01-15"})
    assert emulator.wait_for_webhooks(10)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        feature.refresh_from_db()
        if feature.due_date is not None:
            break
        time.sleep(0.2)
    assert str(feature.due_date) == "2027-01-15"
    updated = InboundEvent.objects.get(
        integration=hooked, event_type="jira:issue_updated", jira_issue_id=story["id"]
    )
    while time.monotonic() < deadline and updated.status == "received":
        time.sleep(0.1)
        updated.refresh_from_db()
    assert updated.status == "processed"


def test_issue_links_added_and_deleted_in_jira(hooked, emulator):
    relationship_mapping_add(
        integration=hooked, record_kind="feature", link_type="relates_to", jira_link_type_id="10003"
    )
    relationship_mapping_add(
        integration=hooked, record_kind="feature", link_type="contains", jira_link_type_id="10003"
    )
    relationship_mapping_add(
        integration=hooked, record_kind="feature", link_type="blocks", jira_link_type_id="10000"
    )
    a = emulator.create_issue(project="DEMO", issuetype="Story", summary="A")
    b = emulator.create_issue(project="DEMO", issuetype="Story", summary="B")
    settle(emulator, hooked)
    fa = make_linked_record(hooked, "feature", a["id"], a["key"])
    fb = make_linked_record(hooked, "feature", b["id"], b["key"])

    relates = emulator.link_issues("Relates", a["key"], b["key"])
    emulator.link_issues("Blocks", b["key"], a["key"])  # inward = the one that blocks
    settle(emulator, hooked)

    links = sorted(RecordLink.objects.values_list("source", "link_type", "target"))
    assert links == sorted([(fa.pk, "relates_to", fb.pk), (fb.pk, "blocks", fa.pk)])

    emulator.delete_link(relates)
    settle(emulator, hooked)
    assert list(RecordLink.objects.values_list("link_type", flat=True)) == ["blocks"]


def test_issue_deleted_in_jira_unlinks_keeps_and_logs(hooked, emulator):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Gone")
    settle(emulator, hooked)
    feature = make_linked_record(hooked, "feature", story["id"], story["key"])

    emulator.delete_issue(story["key"])
    settle(emulator, hooked)

    assert Record.objects.filter(pk=feature.pk).exists()
    assert not JiraLink.objects.filter(record=feature).exists()
    assert SyncLogEntry.objects.filter(
        level="warning", message__contains=f"{feature.reference} is kept here"
    ).exists()


def test_version_renamed_and_released_in_jira(hooked, emulator):
    version = emulator.create_version("DEMO", "2027.1")
    release = make_linked_record(hooked, "release", version["id"], name="2027.1")

    emulator.update_version(version["id"], name="2027.1 Spring")
    emulator.update_version(version["id"], released=True)
    settle(emulator, hooked)

    release.refresh_from_db()
    assert release.name == "2027.1 Spring"
    assert release.status == "released"


def test_a_retried_delivery_is_processed_once(hooked, emulator, live_server):
    """Jira retries with the same identifier: the intake stores one event."""
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Once")
    settle(emulator, hooked)
    feature = make_linked_record(hooked, "feature", story["id"], story["key"])
    emulator.update_issue(story["key"], {"labels": ["x"]})
    assert emulator.wait_for_webhooks(10)
    delivery = emulator.webhook_deliveries[-1]

    # The same delivery again, as Jira's retry sends it.
    import requests

    resend = requests.post(
        delivery.url,
        data=__import__("json").dumps(delivery.payload).encode(),
        headers={**delivery.headers, "X-Atlassian-Webhook-Retry": "1"},
        timeout=10,
    )
    assert resend.status_code == 200
    assert resend.json()["status"] == "duplicate"
    settle(emulator, hooked)

    assert InboundEvent.objects.filter(delivery_id=delivery.identifier).count() == 1
    assert feature.tags.count() == 1
    assert SyncLogEntry.objects.filter(record=feature, message__contains="tags x").count() == 1


def test_out_of_order_older_update_changes_nothing(hooked, emulator):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Order")
    settle(emulator, hooked)
    feature = make_linked_record(hooked, "feature", story["id"], story["key"])
    emulator.update_issue(story["key"], {"summary": "First"})
    time.sleep(0.01)
    emulator.update_issue(story["key"], {"summary": "Second"})
    assert emulator.wait_for_webhooks(10)

    # Process the newer one first, as if the older one arrived late.
    events = list(
        InboundEvent.objects.filter(integration=hooked, event_type="jira:issue_updated").order_by(
            "-jira_timestamp", "-id"
        )
    )
    assert events[0].jira_timestamp > events[1].jira_timestamp
    for event in events:
        inbound_event_process(event_id=event.id)

    feature.refresh_from_db()
    events[1].refresh_from_db()
    assert feature.name == "Second"
    assert events[1].status == "stale"


def test_import_candidates_accept_reject_and_auto_import(hooked, emulator, owner):
    version = emulator.create_version("DEMO", "v1")
    release = make_linked_record(hooked, "release", version["id"], name="v1")

    story = emulator.create_issue(
        project="DEMO", issuetype="Story", summary="Wanted", fixVersions=[{"id": version["id"]}]
    )
    unwanted = emulator.create_issue(
        project="DEMO", issuetype="Story", summary="Unwanted", fixVersions=[{"id": version["id"]}]
    )
    sub = emulator.create_issue(
        project="DEMO", issuetype="Sub-task", summary="Its part", parent={"key": story["key"]}
    )
    settle(emulator, hooked)

    pending = {c.jira_key: c for c in ImportCandidate.objects.filter(status="pending")}
    assert set(pending) == {story["key"], unwanted["key"], sub["key"]}
    requirement = import_candidate_accept(candidate=pending[sub["key"]], user=owner)
    from sync.services.imports import import_candidate_reject

    import_candidate_reject(candidate=pending[unwanted["key"]], user=owner)

    assert requirement.feature.name == "Wanted"
    assert requirement.feature.release == release
    assert not Record.objects.filter(name="Unwanted").exists()

    Integration.objects.filter(pk=hooked.pk).update(auto_import=True)
    auto = emulator.create_issue(
        project="DEMO", issuetype="Story", summary="Auto", fixVersions=[{"id": version["id"]}]
    )
    settle(emulator, hooked)
    link = JiraLink.objects.get(integration=hooked, jira_kind="issue", jira_id=auto["id"])
    assert (link.record.name, link.record.release) == ("Auto", release)


def test_transient_jira_error_while_importing_is_retried_then_succeeds(hooked, emulator):
    Integration.objects.filter(pk=hooked.pk).update(auto_import=True)
    version = emulator.create_version("DEMO", "v1")
    make_linked_record(hooked, "release", version["id"], name="v1")
    parent = emulator.create_issue(project="DEMO", issuetype="Story", summary="Parent")
    assert emulator.wait_for_webhooks(10)
    InboundEvent.objects.filter(integration=hooked).update(status="ignored")
    emulator.faults.queue(429, retry_after=60)
    sub = emulator.create_issue(
        project="DEMO",
        issuetype="Sub-task",
        summary="Child",
        parent={"key": parent["key"]},
        fixVersions=[{"id": version["id"]}],
    )
    settle(emulator, hooked)

    event = InboundEvent.objects.get(jira_issue_id=sub["id"], event_type="jira:issue_created")
    assert event.status == "received"
    assert event.attempts == 1
    assert event.next_attempt_at is not None
    assert not JiraLink.objects.filter(jira_kind="issue", jira_id=sub["id"]).exists()

    InboundEvent.objects.filter(pk=event.pk).update(next_attempt_at=None)  # the backoff elapsed
    inbound_event_process(event_id=event.id)

    event.refresh_from_db()
    assert event.status == "processed"
    child = JiraLink.objects.get(jira_kind="issue", jira_id=sub["id"]).record
    assert child.feature.name == "Parent"
    assert Record.objects.filter(kind="feature", name="Parent").count() == 1


def test_echo_of_our_change_makes_no_write(hooked, emulator):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Before")
    settle(emulator, hooked)
    # Renamed here; the outbound side sent the new name to Jira, which echoes it back.
    feature = make_linked_record(hooked, "feature", story["id"], story["key"], name="Renamed here")
    updated_at = Record.objects.get(pk=feature.pk).updated_at
    outbox = OutboxEntry.objects.count()

    emulator.update_issue(story["key"], {"summary": "Renamed here"})
    settle(emulator, hooked)

    echo = InboundEvent.objects.get(
        integration=hooked, event_type="jira:issue_updated", jira_issue_id=story["id"]
    )
    assert echo.status == "processed"
    assert Record.objects.get(pk=feature.pk).updated_at == updated_at
    assert OutboxEntry.objects.count() == outbox
    assert not SyncLogEntry.objects.filter(record=feature, level="info").exists()
