"""Link a record with an existing Jira issue, in both overwrite directions, and each refusal."""

from __future__ import annotations

import pytest

from core.exceptions import ApplicationError
from sync.models import JiraLink, OutboxEntry
from sync.services.linking import parse_issue_key, record_link_existing
from tests.factories import make_record

from .outbound_helpers import drain, issues_of_project

pytestmark = pytest.mark.django_db


def test_jira_overwrites_here(enabled_integration, workspace, emulator):
    existing = emulator.create_issue(
        project="DEMO", issuetype="Story", summary="Jira's name", description="Jira's words"
    )
    feature = make_record(workspace, "feature", "Our name")
    drain(enabled_integration)  # the feature is created; now unlink to relink by hand
    JiraLink.objects.filter(record=feature).delete()
    before = len(issues_of_project(emulator))

    link = record_link_existing(
        record=feature,
        integration=enabled_integration,
        key_or_url=f"{emulator.base_url}/browse/{existing['key']}",
        overwrite="jira",
    )
    feature.refresh_from_db()
    assert feature.name == "Jira's name"
    assert "Jira's words" in feature.description
    assert link.jira_key == existing["key"]
    # Jira's values came in as Jira's change: nothing to send back, no new issue.
    assert not OutboxEntry.objects.filter(status="pending").exists()
    assert len(issues_of_project(emulator)) == before


def test_here_overwrites_jira(enabled_integration, workspace, emulator):
    existing = emulator.create_issue(project="DEMO", issuetype="Story", summary="Old")
    feature = make_record(workspace, "feature", "Ours wins")
    OutboxEntry.objects.filter(record=feature).delete()  # not sent yet

    record_link_existing(
        record=feature, integration=enabled_integration, key_or_url=existing["key"].lower()
    )
    drain(enabled_integration)
    assert emulator.get_issue(existing["key"])["fields"]["summary"] == "Ours wins"
    assert len(issues_of_project(emulator)) == 1  # updated, not created


def test_refusals_say_what_to_do(enabled_integration, workspace, emulator):
    bug = emulator.create_issue(project="DEMO", issuetype="Bug", summary="A bug")
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="A story")
    first = make_record(workspace, "feature", "First")
    second = make_record(workspace, "feature", "Second")
    OutboxEntry.objects.all().delete()

    with pytest.raises(ApplicationError, match="is a Bug, but features map to: Story"):
        record_link_existing(record=first, integration=enabled_integration, key_or_url=bug["key"])
    record_link_existing(record=first, integration=enabled_integration, key_or_url=story["key"])
    with pytest.raises(ApplicationError, match=f"already linked to {first.reference}"):
        record_link_existing(
            record=second, integration=enabled_integration, key_or_url=story["key"]
        )
    with pytest.raises(ApplicationError, match=f"already linked to {story['key']}"):
        record_link_existing(record=first, integration=enabled_integration, key_or_url=story["key"])

    epic = make_record(workspace, "epic", "Not in Jira")
    OutboxEntry.objects.all().delete()
    child = make_record(workspace, "feature", "Child", epic=epic)
    other = emulator.create_issue(project="DEMO", issuetype="Story", summary="Other")
    with pytest.raises(ApplicationError, match=f"Link or send {epic.reference} to Jira first"):
        record_link_existing(record=child, integration=enabled_integration, key_or_url=other["key"])
    with pytest.raises(ApplicationError, match="has no issue DEMO-999"):
        record_link_existing(record=child, integration=enabled_integration, key_or_url="DEMO-999")
    assert JiraLink.objects.filter(record__in=[second, child]).count() == 0  # nothing half-made


def test_parse_issue_key():
    assert parse_issue_key("demo-12") == "DEMO-12"
    assert parse_issue_key("https://x.atlassian.net/browse/DEMO-3") == "DEMO-3"
    assert (
        parse_issue_key(
            "https://x.atlassian.net/jira/software/projects/DEMO/boards/1?selectedIssue=DEMO-4"
        )
        == "DEMO-4"
    )
    with pytest.raises(ApplicationError, match=r"connected to y\.atlassian\.net"):
        parse_issue_key("https://x.atlassian.net/browse/DEMO-3", base_url="https://y.atlassian.net")
    with pytest.raises(ApplicationError, match="Enter a Jira issue key like DEMO-12"):
        parse_issue_key("not a key")


@pytest.mark.parametrize("overwrite", ["here", "jira"])
def test_an_already_synced_record_is_relinked_and_the_old_issue_left_untouched(
    enabled_integration, workspace, emulator, overwrite
):
    """A record sent at once on creation 'is really DEMO-42': link it with that issue."""
    from records.services import record_link_create
    from sync.models import IssueLinkMirror, SyncLogEntry

    other = make_record(workspace, "feature", "Other")
    feature = make_record(workspace, "feature", "Ours")
    record_link_create(source=feature, target=other, link_type="blocks")
    drain(enabled_integration)
    old_key = JiraLink.objects.get(record=feature).jira_key
    old_before = emulator.get_issue(old_key)["fields"]
    real = emulator.create_issue(project="DEMO", issuetype="Story", summary="The real one")

    link = record_link_existing(
        record=feature,
        integration=enabled_integration,
        key_or_url=real["key"],
        overwrite=overwrite,
    )
    drain(enabled_integration)

    assert link.jira_key == real["key"]
    assert JiraLink.objects.get(record=feature).jira_key == real["key"]
    feature.refresh_from_db()
    expected = "Ours" if overwrite == "here" else "The real one"
    assert feature.name == expected
    assert emulator.get_issue(real["key"])["fields"]["summary"] == expected
    # The old issue is as it was, and the log says so.
    old_after = emulator.get_issue(old_key)["fields"]
    assert (old_after["summary"], old_after["updated"]) == (
        old_before["summary"],
        old_before["updated"],
    )
    message = SyncLogEntry.objects.get(action="link_existing").message
    assert f"Re-linked {feature.reference} from {old_key} to {real['key']}" in message
    assert f"{old_key} was left untouched in Jira" in message
    # The record's link now joins the new issue in Jira.
    mirror = IssueLinkMirror.objects.get(record_link__source=feature)
    with emulator.state.lock:
        jira_link = emulator.state.links[int(mirror.jira_link_id)]
        assert emulator.state.issues[jira_link.source_id].key == real["key"]
