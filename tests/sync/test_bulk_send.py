"""Send all: parents first, level by level, bulk create in chunks of 50."""

from __future__ import annotations

import pytest

from core.exceptions import ApplicationError
from sync.models import JiraLink, OutboxEntry
from sync.services.bulk import bulk_send_run, bulk_send_start
from tests.factories import make_record

from .conftest import make_enabled_integration
from .outbound_helpers import calls, issues_of_project

pytestmark = pytest.mark.django_db


def test_send_all_sends_every_record_once_parents_first_in_chunks(workspace, emulator):
    releases = [make_record(workspace, "release", f"R{i}") for i in range(2)]
    epics = [make_record(workspace, "epic", f"E{i}", release=releases[i % 2]) for i in range(3)]
    features = [
        make_record(
            workspace,
            "feature",
            f"F{i}",
            release=releases[i % 2],
            epic=epics[i % 3],
            status="in_development" if i < 4 else None,
        )
        for i in range(120)
    ]
    integration = make_enabled_integration(workspace, emulator)  # after: no outbox entries
    assert not OutboxEntry.objects.exists()

    job = bulk_send_start(integration=integration)
    assert job.total == 125
    with pytest.raises(ApplicationError, match="already running"):
        bulk_send_start(integration=integration)
    bulk_send_run(job_id=job.id)

    job.refresh_from_db()
    assert (job.status, job.sent, job.failed, job.skipped) == ("finished", 125, 0, 0)
    assert job.percent == 100
    assert "Sent 125 record(s)" in job.summary
    assert "120 features" in job.summary
    # Every record linked once; every Jira issue belongs to one record.
    assert JiraLink.objects.filter(integration=integration).count() == 125
    assert len(issues_of_project(emulator)) == 123
    links = {link.record_id: link for link in JiraLink.objects.all()}
    by_key = {i.key: i for i in issues_of_project(emulator)}
    for feature in features:
        issue = by_key[links[feature.id].jira_key]
        assert issue.fix_versions == [int(links[feature.release_id].jira_id)]
        assert emulator.state.issues[issue.parent_id].key == links[feature.epic_id].jira_key
    # The Jira calls: one per version, bulk creates of at most 50 (1 for the epics, 3 for
    # the features), one transitions list per issue type and one transition per issue whose
    # status is not the initial one; no GET of a created issue.
    assert len(calls(emulator, "POST", "/version")) == 2
    bulk = calls(emulator, "POST", "/issue/bulk")
    assert [len(c[3]["issueUpdates"]) for c in bulk] == [3, 50, 50, 20]
    assert len(calls(emulator, "GET", "/transitions")) == 1
    assert len(calls(emulator, "POST", "/transitions")) == 4
    assert not [
        c for c in calls(emulator, "GET") if "/issue/" in c[1] and "transitions" not in c[1]
    ]
    assert len(emulator.requests_log) == 2 + 4 + 1 + 4

    # Run again: everything is linked, nothing is sent twice.
    again = bulk_send_start(integration=integration)
    bulk_send_run(job_id=again.id)
    again.refresh_from_db()
    assert (again.sent, again.skipped) == (0, 125)
    assert len(issues_of_project(emulator)) == 123


def test_send_all_reports_a_refused_record_and_keeps_going(workspace, emulator):
    good = make_record(workspace, "feature", "Good")
    bad = make_record(workspace, "feature", "Bad", story_points=2)
    integration = make_enabled_integration(workspace, emulator)
    from integrations.models import FieldMapping

    row = FieldMapping.objects.filter(record_mapping__record_kind="feature").first().record_mapping
    row.field_mappings.create(
        position=60, local_field="story_points", jira_field_id="customfield_10099"
    )
    job = bulk_send_start(integration=integration)
    bulk_send_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.sent, job.failed) == (1, 1)
    assert JiraLink.objects.filter(record=good).exists()
    failed = OutboxEntry.objects.get(record=bad, status="failed")  # retryable from the log
    assert "customfield_10099" in failed.last_error
    assert "1 failed" in job.summary


def test_send_all_after_a_crash_adopts_what_was_created(workspace, emulator):
    features = [make_record(workspace, "feature", f"F{i}") for i in range(3)]
    integration = make_enabled_integration(workspace, emulator)
    job = bulk_send_start(integration=integration)
    # A first run created the issues in Jira, then died before saving the links.
    from integrations.services.configuration import build_client
    from sync.services.creates import mark_attempt
    from sync.services.sender import Sender

    sender = Sender(integration, build_client(integration))
    mapping = sender.mappings["feature"]
    emulator_fields = [sender.issue_create_fields(f, mapping)[0] for f in features]
    mark_attempt(features, integration.id)  # what the crash-safe create stamps before POST
    sender.client.bulk_create_issues(emulator_fields)
    emulator.requests_log.clear()

    bulk_send_run(job_id=job.id)  # the redelivered task
    job.refresh_from_db()
    assert job.sent == 3
    assert len(issues_of_project(emulator)) == 3  # adopted, not created again
    assert not calls(emulator, "POST", "/issue/bulk")
    assert JiraLink.objects.filter(integration=integration).count() == 3


def test_send_all_searches_each_assignee_once(workspace, emulator):
    from tests.factories import add_member, make_user

    ada = emulator.add_user(email="ada@example.com", display_name="Ada Lovelace")
    bob = emulator.add_user(email="bob@example.com", display_name="Bob Builder")
    people = [
        add_member(workspace.account, make_user(name, email=f"{name}@example.com"))
        for name in ("ada", "bob")
    ]
    features = [
        make_record(workspace, "feature", f"F{i}", assignee=people[i % 2]) for i in range(60)
    ]
    integration = make_enabled_integration(workspace, emulator)

    job = bulk_send_start(integration=integration)
    bulk_send_run(job_id=job.id)

    job.refresh_from_db()
    assert (job.status, job.sent, job.failed) == ("finished", 60, 0)
    assert len(calls(emulator, "GET", "/user/search")) <= 2
    links = {link.record_id: link.jira_key for link in JiraLink.objects.all()}
    by_key = {i.key: i for i in issues_of_project(emulator)}
    assert [by_key[links[f.id]].assignee for f in features[:4]] == [ada, bob, ada, bob]
    assert {i.assignee for i in by_key.values()} == {ada, bob}
