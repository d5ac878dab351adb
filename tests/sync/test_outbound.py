"""Outbound sync (here -> Jira) over real HTTP to the emulator: every test says what was not
lost and what was not duplicated."""

from __future__ import annotations

import time

import pytest

from records.services import record_update
from sync.models import JiraLink, OutboxEntry, SyncLogEntry
from sync.services.outbound import marker_label
from tests.factories import make_record

from .outbound_helpers import calls, drain, issues_of_project

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_link_defaults")]


def test_feature_goes_to_jira_under_its_epic_in_its_release(
    enabled_integration, workspace, emulator
):
    release = make_record(workspace, "release", "Spring")
    epic = make_record(workspace, "epic", "Checkout", release=release)
    feature = make_record(
        workspace,
        "feature",
        "Pay by card",
        release=release,
        epic=epic,
        description="<p>Card <strong>payments</strong></p>",
    )
    # One entry per record, none lost.
    assert OutboxEntry.objects.filter(integration=enabled_integration).count() == 3

    drain(enabled_integration)

    links = {
        link.record_id: link for link in JiraLink.objects.filter(integration=enabled_integration)
    }
    assert set(links) == {release.id, epic.id, feature.id}
    version_id = links[release.id].jira_id
    issue = emulator.get_issue(links[feature.id].jira_key)
    assert issue["fields"]["summary"] == "Pay by card"
    assert [v["id"] for v in issue["fields"]["fixVersions"]] == [version_id]
    assert issue["fields"]["parent"]["key"] == links[epic.id].jira_key
    assert links[feature.id].jira_url == f"{emulator.base_url}/browse/{links[feature.id].jira_key}"
    assert marker_label(enabled_integration.id, feature.id) in issue["fields"]["labels"]
    # Exactly one issue per record: the feature's entry sent its parents first, and the
    # parents' own entries then found them linked.
    assert len(issues_of_project(emulator)) == 2
    assert len(calls(emulator, "POST", "/version")) == 1
    assert OutboxEntry.objects.filter(status=OutboxEntry.Status.SENT).count() == 3
    assert SyncLogEntry.objects.filter(
        message=f"Created {links[feature.id].jira_key} from {feature.reference}"
    ).exists()


def test_status_from_the_recommended_defaults_goes_out_as_a_transition_and_comes_back(
    client, enabled_integration, workspace, emulator
):
    """No hand-made status mapping: the defaults map status <-> status with a value map."""
    from .test_inbound import deliver, issue_body, item

    status = enabled_integration.record_mappings.get(record_kind="feature").field_mappings.get(
        local_field="status"
    )
    assert status.value_mappings.exists()
    feature = make_record(workspace, "feature", "Pay by card")
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    emulator.requests_log.clear()

    record_update(record=feature, status="in_review")
    drain(enabled_integration)

    assert calls(emulator, "POST", f"/issue/{key}/transitions")
    assert emulator.get_issue(key)["fields"]["status"]["name"] == "In Review"

    emulator.transition_issue(key, "Done")
    deliver(
        client,
        enabled_integration,
        issue_body(emulator, key, items=[item("status", "10002", "Done")]),
    )
    feature.refresh_from_db()
    assert feature.status == "shipped"


def test_changes_go_out(enabled_integration, workspace, emulator):
    feature = make_record(workspace, "feature", "Old name")
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    emulator.requests_log.clear()

    record_update(
        record=feature,
        name="New name",
        status="in_development",
        description="<p>Now with details</p>",
    )
    entry = OutboxEntry.objects.get(record=feature, status=OutboxEntry.Status.PENDING)
    assert entry.payload["fields"] == ["description", "name", "status"]
    drain(enabled_integration)

    issue = emulator.get_issue(key)
    assert issue["fields"]["summary"] == "New name"
    assert issue["fields"]["status"]["name"] == "In Progress"
    assert "Now with details" in str(issue["fields"]["description"])
    # An update, not a second issue.
    assert len(issues_of_project(emulator)) == 1
    assert not calls(emulator, "POST", "/issue")


def test_change_from_jira_is_not_sent_back(client, enabled_integration, workspace, emulator):
    from .test_inbound import deliver, issue_body, item

    feature = make_record(workspace, "feature", "Name")
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    emulator.update_issue(key, {"summary": "Renamed in Jira"})
    deliver(client, enabled_integration, issue_body(emulator, key, items=[item("summary")]))
    feature.refresh_from_db()
    assert feature.name == "Renamed in Jira"
    # Applied with its snapshot: our value equals what both sides agreed, nothing to send.
    assert not OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).exists()
    # A change by someone else still goes out.
    record_update(record=feature, name="Renamed here")
    assert OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).count() == 1


def test_two_changes_before_sending_coalesce(enabled_integration, workspace, emulator):
    feature = make_record(workspace, "feature", "Name")
    drain(enabled_integration)
    record_update(record=feature, name="A")
    record_update(record=feature, status="in_development")
    pending = OutboxEntry.objects.filter(record=feature, status=OutboxEntry.Status.PENDING)
    assert pending.count() == 1
    assert pending.get().payload["fields"] == ["name", "status"]
    # A change not mapped to Jira makes no entry at all.
    record_update(record=feature, story_points=3)
    assert pending.count() == 1
    emulator.requests_log.clear()
    drain(enabled_integration)
    issue = emulator.get_issue(JiraLink.objects.get(record=feature).jira_key)
    assert (issue["fields"]["summary"], issue["fields"]["status"]["name"]) == ("A", "In Progress")
    assert len(calls(emulator, "PUT")) == 1


def test_approval_mode_holds_then_sends_or_discards(workspace, emulator):
    from sync.services.outbound import (
        outbox_approve_all,
        outbox_entry_approve,
        outbox_entry_discard,
    )

    from .conftest import make_enabled_integration

    integration = make_enabled_integration(workspace, emulator, require_approval=True)
    kept = make_record(workspace, "feature", "Kept")
    dropped = make_record(workspace, "feature", "Dropped")
    held = OutboxEntry.objects.filter(status=OutboxEntry.Status.AWAITING_APPROVAL)
    assert held.count() == 2
    drain(integration)
    assert issues_of_project(emulator) == []  # nothing sent while held

    outbox_entry_approve(entry=held.get(record=kept))
    outbox_entry_discard(entry=held.get(record=dropped))
    drain(integration)
    assert [i.summary for i in issues_of_project(emulator)] == ["Kept"]
    assert OutboxEntry.objects.get(record=dropped).status == OutboxEntry.Status.DISCARDED
    assert not JiraLink.objects.filter(record=dropped).exists()

    # Two held changes of one record are still one update; approve all sends it once.
    record_update(record=kept, name="Kept 2")
    record_update(record=kept, name="Kept 3")
    assert held.count() == 1
    assert outbox_approve_all(integration=integration) == 1
    drain(integration)
    assert [i.summary for i in issues_of_project(emulator)] == ["Kept 3"]


def _relates_and_contains_to_relates(integration):
    from integrations.services.relationships import relationship_mapping_add

    for link_type in ("relates_to", "contains"):
        relationship_mapping_add(
            integration=integration,
            record_kind="feature",
            link_type=link_type,
            jira_link_type_id="10003",  # Relates
        )
    relationship_mapping_add(
        integration=integration,
        record_kind="feature",
        link_type="blocks",
        jira_link_type_id="10000",  # Blocks
    )


def test_record_links_become_issue_links_and_deleting_removes_them(
    enabled_integration, workspace, emulator
):
    from records.services import record_link_create, record_link_delete
    from sync.models import IssueLinkMirror

    _relates_and_contains_to_relates(enabled_integration)
    a = make_record(workspace, "feature", "A")
    b = make_record(workspace, "feature", "B")
    contains = record_link_create(source=a, target=b, link_type="contains")
    blocks = record_link_create(source=a, target=b, link_type="blocks")
    drain(enabled_integration)
    key_a = JiraLink.objects.get(record=a).jira_key
    key_b = JiraLink.objects.get(record=b).jira_key

    with emulator.state.lock:
        issues = emulator.state.issues
        links = sorted(
            (link.type_id, issues[link.source_id].key, issues[link.dest_id].key)
            for link in emulator.state.links.values()
        )
    # Contains -> Relates (the first pair for it); Blocks: A (source here) is Jira's
    # inwardIssue, the one that blocks.
    assert links == [("10000", key_a, key_b), ("10003", key_a, key_b)]
    assert IssueLinkMirror.objects.filter(integration=enabled_integration).count() == 2
    # Sending the entries again creates no second Jira link.
    for entry in OutboxEntry.objects.filter(action="create_link"):
        OutboxEntry.objects.filter(pk=entry.pk).update(status="pending")
    drain(enabled_integration)
    assert len(emulator.state.links) == 2

    record_link_delete(link=contains)
    drain(enabled_integration)
    assert [link.type_id for link in emulator.state.links.values()] == ["10000"]
    assert IssueLinkMirror.objects.filter(integration=enabled_integration).count() == 1
    assert blocks.pk  # the other link stays


def test_rate_limit_is_retried_later_without_a_duplicate(enabled_integration, workspace, emulator):
    feature = make_record(workspace, "feature", "Busy Jira")
    emulator.faults.queue(status=429, retry_after=120)  # longer than the client waits in-call
    entry = OutboxEntry.objects.get(record=feature)
    from sync.services.outbound import outbox_entry_process

    outbox_entry_process(entry_id=entry.id)
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.PENDING
    assert entry.attempts == 1
    wait = (entry.next_attempt_at - entry.created_at).total_seconds()
    assert wait >= 119  # Jira's Retry-After is honoured
    assert SyncLogEntry.objects.filter(level="warning", outbox_entry=entry).count() == 1
    # Processing again before it is due does nothing (an early duplicate message).
    outbox_entry_process(entry_id=entry.id)
    assert issues_of_project(emulator) == []

    drain(enabled_integration)  # due now
    assert [i.summary for i in issues_of_project(emulator)] == ["Busy Jira"]
    assert JiraLink.objects.filter(record=feature).count() == 1


def test_server_error_is_retried(enabled_integration, workspace, emulator):
    feature = make_record(workspace, "feature", "Flaky")
    emulator.faults.queue(status=500)
    entry = OutboxEntry.objects.get(record=feature)
    from sync.services.outbound import outbox_entry_process

    outbox_entry_process(entry_id=entry.id)
    entry.refresh_from_db()
    assert (entry.status, entry.attempts) == (OutboxEntry.Status.PENDING, 1)
    # The 500 came before Jira created anything, so the retry creates exactly one issue.
    drain(enabled_integration)
    assert len(issues_of_project(emulator)) == 1
    assert OutboxEntry.objects.get(pk=entry.pk).status == OutboxEntry.Status.SENT


def test_validation_error_fails_clearly_then_retry_after_fixing(
    enabled_integration, workspace, emulator
):
    from integrations.models import FieldMapping
    from sync.services.outbound import outbox_entry_retry

    feature = make_record(workspace, "feature", "Estimated", story_points=5)
    # A mapping to a field that is not on the issue type's screen: Jira answers 400.
    bad = FieldMapping.objects.create(
        record_mapping=FieldMapping.objects.filter(
            record_mapping__integration=enabled_integration,
            record_mapping__record_kind="feature",
        )
        .first()
        .record_mapping,
        position=50,
        local_field="story_points",
        jira_field_id="customfield_10099",
        jira_field_name="Team points",
    )
    drain(enabled_integration)
    entry = OutboxEntry.objects.get(record=feature)
    assert entry.status == OutboxEntry.Status.FAILED
    error = SyncLogEntry.objects.get(level="error", outbox_entry=entry)
    assert "Jira refused customfield_10099 (customfield_10099)" in error.message
    assert "not on the appropriate screen" in error.message
    assert "then Retry" in error.message
    assert issues_of_project(emulator) == []

    bad.delete()
    outbox_entry_retry(entry=entry)
    drain(enabled_integration)
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.SENT
    (issue,) = issues_of_project(emulator)
    assert issue.summary == "Estimated"


# -- races with Jira's webhooks about our own writes --------------------------------------------
# Jira may deliver (and a worker process) the webhook about an issue or link we just created
# before the outbound side commits its JiraLink / IssueLinkMirror. Each test forces that
# order: the real Jira call is made, then the webhook is delivered and processed, and only
# then does the sender go on to save.


def _webhook_first(monkeypatch, integration, method_name, make_body) -> list:
    """Make JiraClient.<method_name> deliver (and process) Jira's webhook about what it just
    did before returning to the sender. Returns the processed events, as they come."""
    from django.test import Client

    from integrations.providers.jira.client import JiraClient
    from sync.models import InboundEvent
    from sync.services.inbound import inbound_event_process
    from tests.sync.conftest import post_webhook

    original = getattr(JiraClient, method_name)
    delivered = []

    def call_then_deliver(self, *args, **kwargs):
        answer = original(self, *args, **kwargs)
        response = post_webhook(Client(), integration, make_body(answer, *args, **kwargs))
        assert response.status_code == 202, response.content
        event = InboundEvent.objects.filter(integration=integration).latest("id")
        inbound_event_process(event_id=event.id)
        event.refresh_from_db()
        delivered.append(event)
        return answer

    monkeypatch.setattr(JiraClient, method_name, call_then_deliver)
    return delivered


@pytest.mark.parametrize("auto_import", [False, True])
def test_issue_created_webhook_before_our_link_is_saved_adopts_the_issue(
    monkeypatch, workspace, emulator, auto_import
):
    from records.models import Record
    from sync.models import ImportCandidate, InboundEvent
    from tests.sync.conftest import make_enabled_integration

    integration = make_enabled_integration(workspace, emulator, auto_import=auto_import)
    release = make_record(workspace, "release", "Spring")
    drain(integration)  # the release is linked: a new issue in its version is "integrated"

    def created_body(answer, *args, **kwargs):
        return {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": "jira:issue_created",
            "issue": emulator.get_issue(answer["key"], version=2),
        }

    delivered = _webhook_first(monkeypatch, integration, "create_issue", created_body)
    feature = make_record(workspace, "feature", "Pay by card", release=release)
    drain(integration)

    assert [e.event_type for e in delivered] == ["jira:issue_created"]
    assert delivered[0].status == InboundEvent.Status.PROCESSED, delivered[0].last_error
    assert Record.objects.filter(workspace=workspace, kind="feature").count() == 1
    link = JiraLink.objects.get(integration=integration, jira_kind="issue")
    assert link.record_id == feature.id
    assert link.jira_url.endswith(f"/browse/{link.jira_key}")
    assert not ImportCandidate.objects.exists()
    assert len(issues_of_project(emulator)) == 1
    assert OutboxEntry.objects.get(record=feature).status == OutboxEntry.Status.SENT
    assert not SyncLogEntry.objects.filter(integration=integration, level="error").exists()


def test_issue_updated_before_our_link_is_saved_adopts_but_another_integrations_marker_not(
    client, enabled_integration, workspace, emulator
):
    """issue_updated (say, our transition right after the create) adopts the issue too;
    a marker of another integration is not ours: that issue stays an import candidate."""
    from sync.models import ImportCandidate, InboundEvent

    from .test_inbound import deliver, issue_body

    release = make_record(workspace, "release", "Spring")
    feature = make_record(workspace, "feature", "Mine", release=release)
    drain(enabled_integration)
    version_id = JiraLink.objects.get(record=release).jira_id
    ours = JiraLink.objects.get(record=feature)
    ours.delete()  # as if the outbound side had not committed it yet
    event = deliver(client, enabled_integration, issue_body(emulator, ours.jira_key))
    assert event.status == InboundEvent.Status.PROCESSED, event.last_error
    assert JiraLink.objects.get(record=feature).jira_id == ours.jira_id

    stranger = emulator.create_issue(
        project="DEMO",
        issuetype="Story",
        summary="Someone else's",
        labels=[marker_label(enabled_integration.id + 1, feature.id)],
        fixVersions=[{"id": version_id}],
    )
    deliver(client, enabled_integration, issue_body(emulator, stranger["key"]))
    assert ImportCandidate.objects.get().jira_key == stranger["key"]
    assert JiraLink.objects.get(record=feature).jira_id == ours.jira_id


def test_issuelink_created_webhook_before_our_mirror_is_saved_makes_one_of_each(
    monkeypatch, workspace, enabled_integration, emulator
):
    from records.models import RecordLink
    from records.services import record_link_create
    from sync.models import InboundEvent, IssueLinkMirror

    _relates_and_contains_to_relates(enabled_integration)
    a = make_record(workspace, "feature", "A")
    b = make_record(workspace, "feature", "B")
    drain(enabled_integration)

    def link_created_body(jira_link_id, type_id, inward_key, outward_key):
        return {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": "issuelink_created",
            "issueLink": {
                "id": int(jira_link_id),
                "sourceIssueId": int(emulator.get_issue(inward_key)["id"]),
                "destinationIssueId": int(emulator.get_issue(outward_key)["id"]),
                "issueLinkType": {
                    "id": int(type_id),
                    "name": "Blocks",
                    "inwardName": "is blocked by",
                    "outwardName": "blocks",
                    "isSubTaskLinkType": False,
                    "isSystemLinkType": False,
                },
                "systemLink": False,
            },
        }

    delivered = _webhook_first(
        monkeypatch, enabled_integration, "create_issue_link", link_created_body
    )
    blocks = record_link_create(source=a, target=b, link_type="blocks")
    drain(enabled_integration)

    assert [e.event_type for e in delivered] == ["issuelink_created"]
    assert delivered[0].status == InboundEvent.Status.PROCESSED, delivered[0].last_error
    assert list(RecordLink.objects.values_list("pk", flat=True)) == [blocks.pk]
    mirror = IssueLinkMirror.objects.get(integration=enabled_integration)
    assert mirror.record_link_id == blocks.pk
    assert len(emulator.state.links) == 1
    assert str(next(iter(emulator.state.links))) == mirror.jira_link_id
    entry = OutboxEntry.objects.get(action="create_link")
    assert entry.status == OutboxEntry.Status.SENT, entry.last_error


# -- assignees ---------------------------------------------------------------------------------


def test_assignee_goes_to_the_jira_user_with_that_email(enabled_integration, workspace, emulator):
    from tests.factories import add_member, make_user

    ada = emulator.add_user(email="ada@example.com", display_name="Ada Lovelace")
    feature = make_record(
        workspace,
        "feature",
        "Assigned",
        assignee=add_member(workspace.account, make_user("ada", email="ada@example.com")),
    )
    drain(enabled_integration)

    issue = emulator.get_issue(JiraLink.objects.get(record=feature).jira_key)
    assert issue["fields"]["assignee"]["accountId"] == ada
    assert len(calls(emulator, "GET", "/user/search")) == 1
    assert not SyncLogEntry.objects.filter(level="warning").exists()


def test_assignee_with_no_jira_user_is_a_warning_and_the_issue_is_still_created(
    enabled_integration, workspace, emulator
):
    from tests.factories import add_member, make_user

    feature = make_record(
        workspace,
        "feature",
        "Nobody there",
        assignee=add_member(workspace.account, make_user("zed", email="zed@example.com")),
    )
    drain(enabled_integration)

    link = JiraLink.objects.get(record=feature)
    assert emulator.get_issue(link.jira_key)["fields"]["assignee"] is None
    warning = SyncLogEntry.objects.get(integration=enabled_integration, level="warning")
    assert warning.message == (
        f"{feature.reference}: No Jira user matches Zed by email or display name; the "
        "assignee was not sent."
    )
    assert OutboxEntry.objects.get(record=feature).status == OutboxEntry.Status.SENT
