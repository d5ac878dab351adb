"""Outbound sync (here -> Jira) over real HTTP to the emulator: every test says what was not
lost and what was not duplicated."""

from __future__ import annotations

import pytest

from records.services import record_update
from records.signals import change_origin
from sync.models import JiraLink, OutboxEntry, SyncLogEntry
from sync.services.outbound import marker_label
from tests.factories import make_record

from .outbound_helpers import calls, drain, issues_of_project

pytestmark = pytest.mark.django_db


def test_feature_goes_to_jira_under_its_epic_in_its_release(enabled_integration, workspace, emulator):
    release = make_record(workspace, "release", "Spring")
    epic = make_record(workspace, "epic", "Checkout", release=release)
    feature = make_record(
        workspace, "feature", "Pay by card", release=release, epic=epic,
        description="<p>Card <strong>payments</strong></p>",
    )
    # One entry per record, none lost.
    assert OutboxEntry.objects.filter(integration=enabled_integration).count() == 3

    drain(enabled_integration)

    links = {link.record_id: link for link in JiraLink.objects.filter(integration=enabled_integration)}
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


def test_changes_go_out(enabled_integration, workspace, emulator):
    feature = make_record(workspace, "feature", "Old name")
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    emulator.requests_log.clear()

    record_update(record=feature, name="New name", status="in_development",
                  description="<p>Now with details</p>")
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


def test_change_from_jira_is_not_sent_back(enabled_integration, workspace, emulator):
    feature = make_record(workspace, "feature", "Name")
    drain(enabled_integration)
    with change_origin("jira", enabled_integration.id):
        record_update(record=feature, name="Renamed in Jira")
    assert not OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).exists()
    # A change by someone else still goes out: the origin is per integration.
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
