"""The sync log of a send says only what is true (issue 10, the first walk): no "No Jira
transition takes DEMO-5 to 'Done'" when the issue is already Done."""

from __future__ import annotations

import pytest

from records.services import record_update
from sync.models import JiraLink, SyncLogEntry
from tests.factories import make_record

from .outbound_helpers import drain

pytestmark = pytest.mark.django_db


def test_no_transition_warning_when_the_issue_is_already_in_that_status(
    enabled_integration, workspace, emulator
):
    feature = make_record(workspace, "feature", "Pay by card")
    drain(enabled_integration)
    key = JiraLink.objects.get(record=feature).jira_key
    emulator.transition_issue(key, "Done")  # done in Jira, its webhook not (yet) here

    record_update(record=feature, status="shipped")
    drain(enabled_integration)

    assert emulator.get_issue(key)["fields"]["status"]["name"] == "Done"
    warnings = list(
        SyncLogEntry.objects.filter(integration=enabled_integration, level="warning").values_list(
            "message", flat=True
        )
    )
    assert not [w for w in warnings if "No Jira transition" in w], warnings


def test_an_assignee_missing_in_jira_is_said_once_per_send(workspace, emulator):
    """Send all of three features assigned to someone Jira does not know: one warning that
    says how many records it concerned, not one per record."""
    from sync.services.bulk import bulk_send_run, bulk_send_start
    from tests.factories import add_member, make_user

    from .conftest import make_enabled_integration

    zed = add_member(workspace.account, make_user("zed", email="zed@example.com"))
    features = [make_record(workspace, "feature", f"F{i}", assignee=zed) for i in range(3)]
    integration = make_enabled_integration(workspace, emulator)
    job = bulk_send_start(integration=integration)
    bulk_send_run(job_id=job.id)

    warnings = list(
        SyncLogEntry.objects.filter(integration=integration, level="warning").values_list(
            "message", flat=True
        )
    )
    assert len(warnings) == 1, warnings
    assert "No Jira user matches Zed" in warnings[0]
    assert "3 records of this send" in warnings[0]
    assert features[0].reference in warnings[0]
