"""A worker killed while Jira creates the issue: after a restart there is exactly one Jira
issue and one JiraLink (the marker label lets the retry find what the dead worker created)."""

from __future__ import annotations

import time

import pytest

from sync.models import JiraLink, OutboxEntry
from sync.services.outbound import marker_label
from sync.tasks import process_outbox_entry
from tests.factories import make_record
from tests.workers import WorkerProcess

from .conftest import make_enabled_integration
from .outbound_helpers import calls, issues_of_project


def wait_for(predicate, timeout=40.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_create_leaves_one_issue_and_one_link(
    celery_worker, workspace, emulator, tmp_path
):
    integration = make_enabled_integration(workspace, emulator)
    emulator.faults.latency_seconds = 3  # the create is in Jira's hands when the kill lands
    feature = make_record(workspace, "feature", "Survives a crash")  # enqueued on commit
    entry = OutboxEntry.objects.get(record=feature)

    wait_for(
        lambda: OutboxEntry.objects.get(pk=entry.pk).create_attempted_at,
        what="the worker to start the create",
    )
    time.sleep(0.5)
    celery_worker.kill()
    # Jira finishes the create the dead worker will never hear about.
    wait_for(lambda: len(issues_of_project(emulator)) == 1, what="Jira to create the issue")
    emulator.faults.latency_seconds = 0
    assert not JiraLink.objects.filter(record=feature).exists()
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.PENDING  # not lost

    restarted = WorkerProcess(log_path=tmp_path / "worker2.log").start()
    try:
        # What the broker's redelivery or the beat sweep does for an unacknowledged entry.
        process_outbox_entry.delay(entry.id)
        wait_for(
            lambda: OutboxEntry.objects.get(pk=entry.pk).status == OutboxEntry.Status.SENT,
            what=f"the retry to finish; worker log:\n{restarted.log()}",
        )
    finally:
        restarted.stop()

    (issue,) = issues_of_project(emulator)  # no duplicate
    link = JiraLink.objects.get(integration=integration, record=feature)
    assert link.jira_key == issue.key
    assert marker_label(integration.id, feature.id) in issue.labels
    # The retry searched for the marker instead of creating again.
    assert calls(emulator, "GET", "/search/jql")
    assert len(calls(emulator, "POST", "/rest/api/3/issue")) == 1
