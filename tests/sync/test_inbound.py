"""Processing stored Jira events (sync.services.inbound): issues, order per issue, redelivery,
import candidates, deletions, versions, retries. Events go in through the real intake
(signed POSTs) and are processed by calling the service, as a worker would; the issue
payloads are rendered by the Jira emulator as its webhooks render them."""

from __future__ import annotations

import datetime
import time
import uuid

import pytest

from integrations.models import Integration
from records.models import Record
from sync.models import ImportCandidate, InboundEvent, JiraLink, OutboxEntry, SyncLogEntry
from sync.services.inbound import inbound_event_process, inbound_event_retry
from sync.tasks import MAX_ATTEMPTS
from tests.sync.conftest import make_linked_record, post_webhook

pytestmark = pytest.mark.django_db


def issue_body(emulator, key, event="jira:issue_updated", items=None, timestamp=None):
    body = {
        "timestamp": timestamp or int(time.time() * 1000),
        "webhookEvent": event,
        "issue": emulator.get_issue(key, version=2),
    }
    if items is not None:
        body["changelog"] = {"id": "1", "items": items}
    return body


def item(field_id, to=None, to_string=None, from_=None, from_string=None, field=None):
    return {
        "field": field or field_id,
        "fieldId": field_id,
        "from": from_,
        "fromString": from_string,
        "to": to,
        "toString": to_string,
    }


def deliver(client, integration, body, delivery_id=None):
    response = post_webhook(client, integration, body, delivery_id=delivery_id)
    assert response.status_code in (200, 202), response.content
    event = InboundEvent.objects.filter(integration=integration).latest("id")
    inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    return event


def messages(integration, level=None):
    qs = SyncLogEntry.objects.filter(integration=integration)
    if level:
        qs = qs.filter(level=level)
    return [e.message for e in qs.order_by("id")]


@pytest.fixture
def story(emulator):
    return emulator.create_issue(project="DEMO", issuetype="Story", summary="Checkout")


# --------------------------------------------------------------------------- issue updated


def test_status_change_reaches_the_record_through_the_value_map(
    client, enabled_integration, emulator, story
):
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    emulator.transition_issue(story["key"], "In Progress")
    emulator.update_issue(story["key"], {"summary": "Renamed in Jira"})
    body = issue_body(emulator, story["key"], items=[item("status", "3", "In Progress")])

    event = deliver(client, enabled_integration, body)

    feature.refresh_from_db()
    assert event.status == InboundEvent.Status.PROCESSED
    assert feature.status == "in_development"
    # Only fields in the changelog: the summary in the payload is not applied.
    assert feature.name != "Renamed in Jira"
    assert f"{feature.reference}: status In development <- In Progress (from {story['key']})" in (
        messages(enabled_integration, "info")
    )
    link = JiraLink.objects.get(record=feature)
    assert link.last_event_timestamp == body["timestamp"]
    # Came from Jira: nothing goes back (not duplicated as an outgoing change).
    assert not OutboxEntry.objects.filter(record=feature).exists()


def test_fix_version_moves_the_feature_to_the_linked_release_or_warns(
    client, enabled_integration, emulator, story
):
    v1 = emulator.create_version("DEMO", "v1")
    v2 = emulator.create_version("DEMO", "v2")
    release = make_linked_record(enabled_integration, "release", v1["id"])
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])

    emulator.update_issue(story["key"], {"fixVersions": [{"id": v1["id"]}]})
    deliver(
        client,
        enabled_integration,
        issue_body(emulator, story["key"], items=[item("fixVersions", v1["id"], "v1")]),
    )
    feature.refresh_from_db()
    assert feature.release == release

    # Moved to a version no release here is linked to: the release is left, with a warning.
    emulator.update_issue(story["key"], {"fixVersions": [{"id": v2["id"]}]})
    event = deliver(
        client,
        enabled_integration,
        issue_body(
            emulator,
            story["key"],
            items=[item("fixVersions", v2["id"], "v2", v1["id"], "v1")],
        ),
    )
    feature.refresh_from_db()
    assert event.status == InboundEvent.Status.PROCESSED
    assert feature.release == release
    assert any(
        "version v2, which no release here is linked to" in m
        for m in messages(enabled_integration, "warning")
    )


def test_parent_change_puts_the_feature_under_the_linked_epic(
    client, enabled_integration, emulator, story
):
    epic_issue = emulator.create_issue(project="DEMO", issuetype="Epic", summary="Payments")
    epic = make_linked_record(enabled_integration, "epic", epic_issue["id"], epic_issue["key"])
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    emulator.update_issue(story["key"], {"parent": {"key": epic_issue["key"]}})

    deliver(
        client,
        enabled_integration,
        issue_body(
            emulator, story["key"], items=[item("parent", epic_issue["id"], epic_issue["key"])]
        ),
    )

    feature.refresh_from_db()
    assert feature.epic == epic
    assert any(f"epic {epic.reference}" in m for m in messages(enabled_integration, "info"))


def test_an_older_delivery_after_a_newer_one_changes_nothing(
    client, enabled_integration, emulator, story
):
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    now = int(time.time() * 1000)
    emulator.update_issue(story["key"], {"summary": "Newer name"})
    newer = issue_body(emulator, story["key"], items=[item("summary", None, "Newer name")])
    newer["timestamp"] = now
    older = issue_body(emulator, story["key"], items=[item("summary", None, "Older name")])
    older["timestamp"] = now - 5000
    older["issue"]["fields"]["summary"] = "Older name"

    assert deliver(client, enabled_integration, newer).status == InboundEvent.Status.PROCESSED
    stale = deliver(client, enabled_integration, older)

    feature.refresh_from_db()
    assert stale.status == InboundEvent.Status.STALE
    assert "before the change already applied" in stale.last_error
    assert feature.name == "Newer name"  # not overwritten by the late delivery
    assert JiraLink.objects.get(record=feature).last_event_timestamp == now


def test_the_same_delivery_twice_is_stored_and_applied_once(
    client, enabled_integration, emulator, story
):
    make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    emulator.update_issue(story["key"], {"labels": ["beta"]})
    body = issue_body(emulator, story["key"], items=[item("labels", None, "beta")])
    delivery = str(uuid.uuid4())

    first = deliver(client, enabled_integration, body, delivery_id=delivery)
    again = post_webhook(client, enabled_integration, body, delivery_id=delivery)
    # A redelivered task message for the finished event changes nothing either.
    inbound_event_process(event_id=first.id)

    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert InboundEvent.objects.filter(integration=enabled_integration).count() == 1
    assert len([m for m in messages(enabled_integration, "info") if "tags beta" in m]) == 1


def test_an_echo_of_our_own_change_writes_nothing(client, enabled_integration, emulator, story):
    feature = make_linked_record(
        enabled_integration, "feature", story["id"], story["key"], name="Checkout"
    )
    before = Record.objects.get(pk=feature.pk).updated_at
    outbox_before = OutboxEntry.objects.count()
    # Jira echoes our summary and status: values equal to the record's.
    body = issue_body(
        emulator,
        story["key"],
        items=[item("summary", None, "Checkout"), item("status", "10000", "To Do")],
    )

    event = deliver(client, enabled_integration, body)

    assert event.status == InboundEvent.Status.PROCESSED
    assert Record.objects.get(pk=feature.pk).updated_at == before
    assert OutboxEntry.objects.count() == outbox_before
    assert not SyncLogEntry.objects.filter(record=feature, level="info").exists()


def test_a_status_shared_by_several_here_is_not_overwritten_by_its_echo(
    client, enabled_integration, emulator, story
):
    """Ready to ship and In development both go to Jira's In Progress (In review has its own
    Jira status by name): the echo keeps ours."""
    feature = make_linked_record(
        enabled_integration, "feature", story["id"], story["key"], status="ready_to_ship"
    )
    emulator.transition_issue(story["key"], "In Progress")
    deliver(
        client,
        enabled_integration,
        issue_body(emulator, story["key"], items=[item("status", "3", "In Progress")]),
    )
    feature.refresh_from_db()
    assert feature.status == "ready_to_ship"


# --------------------------------------------------------------------------- unlinked issues


def test_issue_created_under_an_integrated_release_becomes_a_candidate(
    client, enabled_integration, emulator
):
    version = emulator.create_version("DEMO", "v1")
    make_linked_record(enabled_integration, "release", version["id"])
    created = emulator.create_issue(
        project="DEMO",
        issuetype="Story",
        summary="New in Jira",
        fixVersions=[{"id": version["id"]}],
    )

    event = deliver(
        client, enabled_integration, issue_body(emulator, created["key"], "jira:issue_created")
    )

    assert event.status == InboundEvent.Status.PROCESSED
    candidate = ImportCandidate.objects.get(integration=enabled_integration)
    assert (candidate.jira_key, candidate.record_kind, candidate.status) == (
        created["key"],
        "feature",
        "pending",
    )
    assert not JiraLink.objects.filter(
        jira_kind="issue", jira_id=created["id"]
    ).exists()  # not imported yet
    # The same issue changing again refreshes the one candidate, never a second one.
    emulator.update_issue(created["key"], {"summary": "New in Jira, renamed"})
    deliver(client, enabled_integration, issue_body(emulator, created["key"], items=[]))
    candidate.refresh_from_db()
    assert ImportCandidate.objects.filter(integration=enabled_integration).count() == 1
    assert candidate.summary == "New in Jira, renamed"


def test_issue_created_outside_integrated_parents_is_ignored_with_a_reason(
    client, enabled_integration, emulator
):
    created = emulator.create_issue(project="DEMO", issuetype="Story", summary="Loose")
    bug = emulator.create_issue(project="DEMO", issuetype="Bug", summary="A bug")

    loose = deliver(
        client, enabled_integration, issue_body(emulator, created["key"], "jira:issue_created")
    )
    unmapped = deliver(
        client, enabled_integration, issue_body(emulator, bug["key"], "jira:issue_created")
    )

    assert loose.status == InboundEvent.Status.IGNORED
    assert "not under an integrated parent" in loose.last_error
    assert unmapped.status == InboundEvent.Status.IGNORED
    assert "issue type 'Bug' is not mapped" in unmapped.last_error
    assert not ImportCandidate.objects.exists()


def test_issue_created_echo_of_our_own_create_does_nothing(
    client, enabled_integration, emulator, story
):
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    before = Record.objects.get(pk=feature.pk).updated_at

    event = deliver(
        client, enabled_integration, issue_body(emulator, story["key"], "jira:issue_created")
    )

    assert event.status == InboundEvent.Status.PROCESSED
    assert Record.objects.get(pk=feature.pk).updated_at == before
    assert not ImportCandidate.objects.exists()
    assert Record.objects.filter(workspace=enabled_integration.workspace).count() == 1


def test_auto_import_creates_the_record_under_its_parent_at_once(
    client, enabled_integration, emulator
):
    Integration.objects.filter(pk=enabled_integration.pk).update(auto_import=True)
    version = emulator.create_version("DEMO", "v1")
    release = make_linked_record(enabled_integration, "release", version["id"])
    created = emulator.create_issue(
        project="DEMO", issuetype="Story", summary="Auto", fixVersions=[{"id": version["id"]}]
    )

    deliver(client, enabled_integration, issue_body(emulator, created["key"], "jira:issue_created"))

    link = JiraLink.objects.get(
        integration=enabled_integration, jira_kind="issue", jira_id=created["id"]
    )
    assert (link.record.kind, link.record.name, link.record.release) == ("feature", "Auto", release)
    candidate = ImportCandidate.objects.get(jira_id=created["id"])
    assert candidate.status == "accepted"
    assert candidate.record == link.record
    assert not OutboxEntry.objects.filter(record=link.record).exists()  # not sent back


def test_an_unlinked_issue_moved_under_an_integrated_release_becomes_a_candidate(
    client, enabled_integration, emulator, story
):
    version = emulator.create_version("DEMO", "v1")
    make_linked_record(enabled_integration, "release", version["id"])
    emulator.update_issue(story["key"], {"fixVersions": [{"id": version["id"]}]})

    event = deliver(
        client,
        enabled_integration,
        issue_body(emulator, story["key"], items=[item("fixVersions", version["id"], "v1")]),
    )

    assert event.status == InboundEvent.Status.PROCESSED
    assert ImportCandidate.objects.get().jira_key == story["key"]


# --------------------------------------------------------------------------- deleted


def test_issue_deleted_unlinks_keeps_the_record_and_says_so(
    client, enabled_integration, emulator, story
):
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    body = issue_body(emulator, story["key"], "jira:issue_deleted")

    event = deliver(client, enabled_integration, body)

    assert event.status == InboundEvent.Status.PROCESSED
    assert Record.objects.filter(pk=feature.pk).exists()
    assert not JiraLink.objects.filter(record=feature).exists()
    assert (
        f"{story['key']} was deleted in Jira; {feature.reference} is kept here and no longer "
        "linked." in messages(enabled_integration, "warning")
    )
    # A late update of the deleted issue does not make it an import candidate.
    late = deliver(client, enabled_integration, issue_body(emulator, story["key"], items=[]))
    assert late.status == InboundEvent.Status.IGNORED
    assert "deleted in Jira" in late.last_error


# --------------------------------------------------------------------------- retries


def test_a_permanent_failure_is_logged_and_retry_puts_it_back(
    client, enabled_integration, emulator, story
):
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    body = issue_body(emulator, story["key"], items=[item("duedate", "2020-01-01", "x")])
    feature.start_date = datetime.date(2030, 1, 1)
    feature.save()
    body["issue"]["fields"]["duedate"] = "2020-01-01"  # before the start date: refused here

    event = deliver(client, enabled_integration, body)

    assert event.status == InboundEvent.Status.FAILED
    errors = messages(enabled_integration, "error")
    assert any("due date cannot be before the start date" in m and "Retry" in m for m in errors)
    feature.start_date = None
    feature.save()
    inbound_event_retry(event=event)
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.RECEIVED
    assert event.attempts == 0
    inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    feature.refresh_from_db()
    assert event.status == InboundEvent.Status.PROCESSED
    assert feature.due_date == datetime.date(2020, 1, 1)


def test_retry_refuses_an_event_that_did_not_fail(client, enabled_integration, emulator, story):
    from core.exceptions import ApplicationError

    make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    event = deliver(client, enabled_integration, issue_body(emulator, story["key"], items=[]))
    with pytest.raises(ApplicationError, match="Only a failed event"):
        inbound_event_retry(event=event)


def test_transient_jira_errors_back_off_then_fail_after_max_attempts(
    client, enabled_integration, emulator
):
    """A sub-task in an integrated release whose feature is not here: importing it fetches
    the parent from Jira, which keeps answering 429."""
    Integration.objects.filter(pk=enabled_integration.pk).update(auto_import=True)
    version = emulator.create_version("DEMO", "v1")
    make_linked_record(enabled_integration, "release", version["id"])
    parent = emulator.create_issue(project="DEMO", issuetype="Story", summary="Parent")
    sub = emulator.create_issue(
        project="DEMO",
        issuetype="Sub-task",
        summary="Child",
        parent={"key": parent["key"]},
        fixVersions=[{"id": version["id"]}],
    )
    emulator.faults.queue(429, retry_after=120, count=MAX_ATTEMPTS + 2)
    event = deliver(
        client, enabled_integration, issue_body(emulator, sub["key"], "jira:issue_created")
    )

    assert event.status == InboundEvent.Status.RECEIVED
    assert event.attempts == 1
    assert event.next_attempt_at >= event.received_at + datetime.timedelta(seconds=119)
    # Not due yet: a redelivered message does nothing.
    inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert event.attempts == 1
    for _ in range(MAX_ATTEMPTS):
        InboundEvent.objects.filter(pk=event.pk).update(next_attempt_at=None)
        inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.FAILED
    assert event.attempts == MAX_ATTEMPTS
    assert not JiraLink.objects.filter(
        jira_kind="issue", jira_id=sub["id"]
    ).exists()  # nothing half-imported
    assert any("press Retry" in m for m in messages(enabled_integration, "error"))


def test_a_disabled_integration_ignores_stored_events(client, enabled_integration, emulator, story):
    feature = make_linked_record(enabled_integration, "feature", story["id"], story["key"])
    response = post_webhook(
        client, enabled_integration, issue_body(emulator, story["key"], items=[])
    )
    assert response.status_code == 202
    Integration.objects.filter(pk=enabled_integration.pk).update(state="disabled")
    event = InboundEvent.objects.get()
    inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.IGNORED
    assert "disabled" in event.last_error
    assert Record.objects.get(pk=feature.pk).name == feature.name
