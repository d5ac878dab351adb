"""Creates whose answer was lost after Jira applied them (the emulator applies the request,
then drops the connection), with and without Jira's search-index lag: one issue per record,
one issue link per mapped record link, and a duplicate that still slips through is reported.
Send all runs the demo workspace with the recommended defaults only."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from records.models import Record, RecordLink
from sync.models import IssueLinkMirror, JiraLink, OutboxEntry, SyncLogEntry
from sync.services.bulk import bulk_send_run, bulk_send_start
from sync.services.creates import marker_label, markers_check
from tests.factories import make_record

from .conftest import make_enabled_integration
from .outbound_helpers import calls, drain, issues_of_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def quick_searches(settings):
    settings.SYNC_MARKER_RESEARCH_DELAYS = (0.3, 0.6, 1.2)
    settings.SYNC_MARKER_CHECK_DELAY = 0


def _demo_workspace():
    call_command("seed_demo", verbosity=0)
    from accounts.models import Workspace

    return Workspace.objects.order_by("id").first()


def _markers(emulator, integration):
    prefix = f"rjs-{integration.id}-"
    return Counter(
        label
        for issue in issues_of_project(emulator)
        for label in issue.labels
        if label.startswith(prefix)
    )


def test_send_all_of_the_demo_workspace_with_a_lost_bulk_answer_makes_one_of_each(
    emulator, quick_searches
):
    workspace = _demo_workspace()
    integration = make_enabled_integration(workspace, emulator)
    emulator.faults.queue(lose_answer=True, method="POST", path="/issue/bulk")
    emulator.faults.search_lag_seconds = 0.5  # the lost create is not searchable at once

    job = bulk_send_start(integration=integration)
    bulk_send_run(job_id=job.id)
    drain(integration)  # whatever went back to the retry

    mapped = set(integration.record_mappings.values_list("record_kind", flat=True))
    records = Record.objects.filter(workspace=workspace, kind__in=mapped)
    linked = JiraLink.objects.filter(integration=integration)
    assert linked.count() == records.count()
    issues = linked.filter(jira_kind=JiraLink.JiraKind.ISSUE).count()
    assert len(issues_of_project(emulator)) == issues  # nothing twice
    assert set(_markers(emulator, integration).values()) == {1}
    # Every record link of the demo is mapped by the defaults, and each is one Jira link.
    record_links = RecordLink.objects.filter(
        workspace=workspace, source__kind__in=mapped, target__kind__in=mapped
    ).count()
    assert record_links
    assert IssueLinkMirror.objects.filter(integration=integration).count() == record_links
    with emulator.state.lock:
        assert len(emulator.state.links) == record_links
    assert SyncLogEntry.objects.filter(
        integration=integration, message__startswith="Found "
    ).exists()  # the lost bulk's issues were adopted
    assert not OutboxEntry.objects.filter(
        integration=integration, status__in=["pending", "failed"]
    ).exists()


def test_a_single_create_whose_answer_was_lost_is_adopted_not_repeated(
    enabled_integration, workspace, emulator, quick_searches
):
    emulator.faults.queue(lose_answer=True, method="POST", path="/issue")
    emulator.faults.search_lag_seconds = 0.5
    feature = make_record(workspace, "feature", "Pay by card")

    drain(enabled_integration)

    assert len(issues_of_project(emulator)) == 1
    assert len(calls(emulator, "POST", "/issue")) == 1  # never repeated blindly
    assert JiraLink.objects.filter(record=feature).exists()


def test_a_duplicate_that_slips_past_the_search_lag_is_reported(
    enabled_integration, workspace, emulator, settings
):
    settings.SYNC_MARKER_RESEARCH_DELAYS = (0.1,)
    settings.SYNC_MARKER_CHECK_DELAY = 0
    emulator.faults.queue(lose_answer=True, method="POST", path="/issue")
    emulator.faults.search_lag_seconds = 1.5  # longer than the re-searches
    feature = make_record(workspace, "feature", "Pay by card")

    drain(enabled_integration)  # lost, not found, retried: created again
    assert len(issues_of_project(emulator)) == 2
    time.sleep(1.6)  # the index catches up; the scheduled check looks again
    assert markers_check(integration_id=enabled_integration.id, record_ids=[feature.id]) == 1

    report = SyncLogEntry.objects.get(integration=enabled_integration, action="duplicate")
    linked = JiraLink.objects.get(record=feature).jira_key
    other = next(i.key for i in issues_of_project(emulator) if i.key != linked)
    assert marker_label(enabled_integration.id, feature.id) in report.message
    assert f"{linked} is linked here" in report.message
    assert other in report.message


def test_a_retry_after_a_worker_died_once_jira_applied_the_create_looks_as_after_a_lost_answer(
    enabled_integration, workspace, emulator, quick_searches
):
    """A worker killed between Jira's answer and our commit leaves the entry stamped
    ``create_attempted_at`` and an issue in Jira that the lagging search index does not show
    yet: the retry searches again after pauses and adopts it, never creating a second one
    (found by the convergence soak, seed 1007)."""
    emulator.faults.search_lag_seconds = 0.5
    emulator.faults.hold_webhooks = True  # the send, not Jira's webhook, must find the issue
    feature = make_record(workspace, "feature", "Pay by card")
    # What the killed attempt did: stamped the entry, then Jira created the issue.
    OutboxEntry.objects.filter(record=feature).update(create_attempted_at=timezone.now())
    emulator.create_issue(
        project="DEMO",
        issuetype="Story",
        summary="Pay by card",
        labels=[marker_label(enabled_integration.id, feature.id)],
    )

    drain(enabled_integration)

    assert len(issues_of_project(emulator)) == 1
    assert calls(emulator, "POST", "/issue") == []  # adopted, not created again
    assert JiraLink.objects.get(record=feature).jira_key == issues_of_project(emulator)[0].key
