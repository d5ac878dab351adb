"""A version deleted or merged in Jira: Jira takes it off its issues (or moves them to the
merge target) and sends no issue event for it. The sync does what those events would have
done, so the features stay in step with their issues, and a release sent again later puts
its features back in Jira (found by the convergence test, seed 4: the re-sent release's
feature kept a release here that Jira's issue no longer had)."""

from __future__ import annotations

import time

import pytest

from records.services import record_update
from sync.models import ImportCandidate, JiraLink, OutboxEntry, SyncLogEntry
from sync.services.outbound import outbox_entry_process
from tests.factories import make_record

from .outbound_helpers import drain
from .test_inbound_links import deliver

pytestmark = pytest.mark.django_db


def _version_event(emulator, version_id, event="jira:version_deleted", **extra):
    with emulator.state.lock:
        rendered = emulator._renderer(2).version(emulator.state.versions[int(version_id)])
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": event,
        "version": rendered,
        **extra,
    }


def _fix_versions(emulator, link):
    with emulator.state.lock:
        return emulator.state.issues[int(link.jira_id)].fix_versions


def test_a_deleted_version_takes_its_features_out_of_the_release(
    client, enabled_integration, emulator, workspace
):
    release = make_record(workspace, "release", "2027.1")
    feature = make_record(workspace, "feature", "Checkout", release=release)
    drain(enabled_integration)
    version_id = JiraLink.objects.get(record=release).jira_id
    issue = JiraLink.objects.get(record=feature)
    assert _fix_versions(emulator, issue) == [int(version_id)]

    body = _version_event(emulator, version_id)
    emulator.delete_version(version_id)  # Jira drops the fix version; no issue event
    deliver(client, enabled_integration, body)

    feature.refresh_from_db()
    assert feature.release is None
    assert _fix_versions(emulator, issue) == []
    assert any(
        f"{feature.reference}: release no release (was {release.reference})" in e.message
        for e in SyncLogEntry.objects.filter(integration=enabled_integration)
    )

    # The release is sent again (renamed here): it gets a new version, and the feature,
    # now outside it on both sides, stays so.
    record_update(record=release, name="2027.1b")
    drain(enabled_integration)
    assert JiraLink.objects.get(record=release).jira_id != version_id
    assert _fix_versions(emulator, issue) == []


def test_a_merged_version_moves_its_features_to_the_target_release(
    client, enabled_integration, emulator, workspace
):
    old = make_record(workspace, "release", "2027.1")
    target = make_record(workspace, "release", "2027.2")
    feature = make_record(workspace, "feature", "Checkout", release=old)
    drain(enabled_integration)
    old_id = JiraLink.objects.get(record=old).jira_id
    target_id = JiraLink.objects.get(record=target).jira_id
    issue = JiraLink.objects.get(record=feature)

    body = _version_event(emulator, old_id, mergedTo={"id": target_id, "name": "2027.2"})
    emulator.delete_version(old_id, move_fix_issues_to=target_id)
    deliver(client, enabled_integration, body)

    feature.refresh_from_db()
    assert feature.release == target
    assert _fix_versions(emulator, issue) == [int(target_id)]
    # Nothing to send back: the pair agrees.
    assert drain(enabled_integration) == 0


def test_a_feature_moved_here_meanwhile_keeps_its_new_release(
    client, enabled_integration, emulator, workspace
):
    old = make_record(workspace, "release", "2027.1")
    other = make_record(workspace, "release", "2027.2")
    feature = make_record(workspace, "feature", "Checkout", release=old)
    drain(enabled_integration)
    old_id = JiraLink.objects.get(record=old).jira_id
    record_update(record=feature, release=other)  # not sent yet

    body = _version_event(emulator, old_id)
    emulator.delete_version(old_id)
    deliver(client, enabled_integration, body)

    feature.refresh_from_db()
    assert feature.release == other
    drain(enabled_integration)
    issue = JiraLink.objects.get(record=feature)
    assert _fix_versions(emulator, issue) == [int(JiraLink.objects.get(record=other).jira_id)]


def test_a_version_created_then_deleted_leaves_no_candidate_when_the_create_comes_last(
    client, enabled_integration, emulator
):
    """Found by the convergence test (seed 1003): version_created delivered after
    version_deleted (Jira's deliveries come out of order) left an import candidate for a
    version Jira no longer had."""
    version = emulator.create_version("DEMO", "Short-lived")
    created = _version_event(emulator, version["id"], event="jira:version_created")
    deleted = _version_event(emulator, version["id"])
    emulator.delete_version(version["id"])

    deliver(client, enabled_integration, deleted)
    event = deliver(client, enabled_integration, created)

    assert not ImportCandidate.objects.filter(integration=enabled_integration).exists()
    assert "created and deleted since" in event.last_error


def test_a_record_sent_to_a_version_just_deleted_in_jira_is_retried_not_failed(
    client, enabled_integration, emulator, workspace
):
    """Found by the convergence soak (seed 1006): an epic's create set its release's fix
    version, deleted in Jira a moment before (the version_deleted not processed yet); Jira
    answered 400 and the entry failed for good, so the epic never reached Jira."""
    release = make_record(workspace, "release", "2027.1")
    drain(enabled_integration)
    version_id = JiraLink.objects.get(record=release).jira_id
    body = _version_event(emulator, version_id)
    emulator.delete_version(version_id)

    epic = make_record(workspace, "epic", "Payments", release=release)
    entry = OutboxEntry.objects.get(record=epic)
    outbox_entry_process(entry_id=entry.id)
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.PENDING  # retried, not failed
    assert not JiraLink.objects.filter(record=epic).exists()

    deliver(client, enabled_integration, body)  # the deletion arrives: the release unlinks
    drain(enabled_integration)
    epic_link = JiraLink.objects.get(record=epic)
    new_version = JiraLink.objects.get(record=release).jira_id
    assert new_version != version_id
    assert _fix_versions(emulator, epic_link) == [int(new_version)]
