"""The synced snapshot (sync.services.snapshot): echoes change nothing, only what differs is
sent or applied, conflicts are settled by direction and policy and logged with both values.
Payloads are rendered by the Jira emulator the way its webhooks render them."""

from __future__ import annotations

import time

import pytest

from integrations.models import Direction, Integration
from records.services import record_update
from sync.models import JiraLink, OutboxEntry, SyncLogEntry
from tests.factories import make_record

from .outbound_helpers import calls, drain
from .test_inbound import deliver, issue_body, item, messages

pytestmark = pytest.mark.django_db


def version_body(emulator, version_id, event="jira:version_updated"):
    with emulator.state.lock:
        version = emulator.state.versions[int(version_id)]
        rendered = emulator._renderer(2).version(version)
    return {"timestamp": int(time.time() * 1000), "webhookEvent": event, "version": rendered}


def test_echo_of_our_version_edit_keeps_the_rich_description(
    client, enabled_integration, workspace, emulator
):
    """Jira keeps a version's description as plain text: the echo of our own send (and a
    rename in Jira) must not replace our bold and lists with it."""
    rich = "<p>Ships <strong>card</strong> payments</p><ul><li>Visa</li><li>Amex</li></ul>"
    release = make_record(workspace, "release", "Spring", description=rich)
    drain(enabled_integration)
    link = JiraLink.objects.get(record=release)
    assert "description" in link.snapshot

    deliver(client, enabled_integration, version_body(emulator, link.jira_id))  # the echo
    emulator.update_version(link.jira_id, name="Spring 2")  # then a rename in Jira
    deliver(client, enabled_integration, version_body(emulator, link.jira_id))

    release.refresh_from_db()
    assert release.name == "Spring 2"
    assert "<strong>card</strong>" in release.description
    assert "<li>Amex</li>" in release.description
    assert not OutboxEntry.objects.filter(
        record=release, status=OutboxEntry.Status.PENDING
    ).exists()


def test_echo_of_our_issue_description_is_not_applied(
    client, enabled_integration, workspace, emulator
):
    feature = make_record(
        workspace, "feature", "Pay by card", description="<p>Card <i>payments</i></p>"
    )
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key

    event = deliver(client, enabled_integration, issue_body(emulator, key))

    feature.refresh_from_db()
    assert feature.description == "<p>Card <i>payments</i></p>"  # not rewritten as <em>
    assert event.status == "processed"
    assert not [m for m in messages(enabled_integration) if f"(from {key})" in m]


def test_only_fields_that_differ_from_the_snapshot_go_out(enabled_integration, workspace, emulator):
    feature = make_record(workspace, "feature", "Name")
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    emulator.requests_log.clear()

    # In development and In review are both In Progress in Jira: after the first, the second
    # needs no call; a name changed and changed back needs none either.
    record_update(record=feature, status="in_development")
    drain(enabled_integration)
    assert len(calls(emulator, "POST", f"/issue/{key}/transitions")) == 1
    emulator.requests_log.clear()
    record_update(record=feature, name="Other")
    record_update(record=feature, name="Name")
    drain(enabled_integration)
    assert not calls(emulator, "PUT")
    assert not calls(emulator, "POST")


def test_a_jira_change_applied_here_is_not_sent_back(
    client, enabled_integration, workspace, emulator
):
    feature = make_record(workspace, "feature", "Name")
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    emulator.update_issue(key, {"summary": "Renamed in Jira"})
    emulator.requests_log.clear()

    deliver(client, enabled_integration, issue_body(emulator, key, items=[item("summary")]))

    feature.refresh_from_db()
    assert feature.name == "Renamed in Jira"
    assert not OutboxEntry.objects.filter(
        record=feature, status=OutboxEntry.Status.PENDING
    ).exists()
    assert JiraLink.objects.get(record=feature).snapshot["name"] == [
        "Renamed in Jira",
        "Renamed in Jira",
    ]


@pytest.mark.parametrize("policy", ["jira", "here"])
def test_a_field_changed_on_both_sides_is_a_conflict_settled_by_policy(
    client, enabled_integration, workspace, emulator, policy
):
    Integration.objects.filter(pk=enabled_integration.pk).update(conflict_policy=policy)
    enabled_integration.refresh_from_db()
    feature = make_record(workspace, "feature", "Name")
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    record_update(record=feature, name="Ours")  # waiting in the outbox
    emulator.update_issue(key, {"summary": "Theirs"})

    deliver(client, enabled_integration, issue_body(emulator, key, items=[item("summary")]))
    feature.refresh_from_db()
    conflict = [m for m in messages(enabled_integration, "warning") if "conflict" in m]
    assert len(conflict) == 1
    assert "Ours" in conflict[0]
    assert "Theirs" in conflict[0]
    drain(enabled_integration)

    expected = "Theirs" if policy == "jira" else "Ours"
    feature.refresh_from_db()
    assert feature.name == expected
    assert emulator.get_issue(key)["fields"]["summary"] == expected


def test_a_from_jira_field_takes_jira_value_in_a_conflict_whatever_the_policy(
    client, enabled_integration, workspace, emulator
):
    Integration.objects.filter(pk=enabled_integration.pk).update(conflict_policy="here")
    feature = make_record(workspace, "feature", "Name")
    drain(enabled_integration)
    mapping = enabled_integration.record_mappings.get(record_kind="feature")
    mapping.field_mappings.filter(local_field="name").update(direction=Direction.FROM_JIRA)
    key = JiraLink.objects.get(record=feature).jira_key
    record_update(record=feature, name="Ours")
    emulator.update_issue(key, {"summary": "Theirs"})

    deliver(client, enabled_integration, issue_body(emulator, key, items=[item("summary")]))

    feature.refresh_from_db()
    assert feature.name == "Theirs"
    assert SyncLogEntry.objects.filter(message__contains="conflict on name").exists()


def test_a_link_made_before_snapshots_takes_the_current_values_on_first_use(
    client, enabled_integration, workspace, emulator
):
    """An echo of a value that equals ours is nothing to apply, even with no snapshot yet."""
    feature = make_record(workspace, "feature", "Pay", description="<p>Card <i>payments</i></p>")
    drain(enabled_integration)
    link = JiraLink.objects.get(record=feature)
    JiraLink.objects.filter(pk=link.pk).update(snapshot={})  # as the migration leaves it
    emulator.update_issue(link.jira_key, {"summary": "Pay v2"})

    deliver(client, enabled_integration, issue_body(emulator, link.jira_key))

    feature.refresh_from_db()
    assert feature.name == "Pay v2"
    assert feature.description == "<p>Card <i>payments</i></p>"
    link.refresh_from_db()
    assert set(link.snapshot) >= {"name", "description", "status"}


def test_fields_and_changelog_disagree_the_log_quotes_what_was_applied(
    client, enabled_integration, workspace, emulator
):
    """A delivery whose changelog says "Fix Version -> v2" while its fields (newer) say no
    version: the fields are applied, and the log quotes them, not the changelog."""
    release = make_record(workspace, "release", "v2")
    feature = make_record(workspace, "feature", "Pay", release=release)
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    version_id = JiraLink.objects.get(record=release).jira_id
    emulator.update_issue(key, {"fixVersions": []})
    body = issue_body(
        emulator, key, items=[item("fixVersions", version_id, "v2", field="Fix Version")]
    )

    deliver(client, enabled_integration, body)

    feature.refresh_from_db()
    assert feature.release is None
    applied = [m for m in messages(enabled_integration, "info") if f"(from {key})" in m]
    assert applied == [f"{feature.reference}: release none (was {release.reference}) (from {key})"]


def test_done_with_resolution_wont_do_is_not_shipped(
    client, enabled_integration, workspace, emulator
):
    feature = make_record(workspace, "feature", "Pay")
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    emulator.transition_issue(key, "Done")
    body = issue_body(emulator, key, items=[item("status", "10002", "Done")])
    body["issue"]["fields"]["resolution"] = {"id": "10001", "name": "Won't Do"}

    deliver(client, enabled_integration, body)

    feature.refresh_from_db()
    assert feature.status == "will_not_implement"


def test_a_change_here_on_a_link_made_before_snapshots_is_sent(
    enabled_integration, workspace, emulator
):
    feature = make_record(workspace, "feature", "Name")
    drain(enabled_integration)
    link = JiraLink.objects.get(record=feature)
    JiraLink.objects.filter(pk=link.pk).update(snapshot={})  # as the migration leaves it

    record_update(record=feature, name="Renamed here")
    drain(enabled_integration)

    assert emulator.get_issue(link.jira_key)["fields"]["summary"] == "Renamed here"
    assert JiraLink.objects.get(pk=link.pk).snapshot["name"][0] == "Renamed here"
