"""Import candidates (sync.services.imports): accept creates the record under its parents and
links it; a sub-task brings its feature; reject; all at once; Jira errors in plain words."""

from __future__ import annotations

import pytest

from core.exceptions import ApplicationError
from records.models import Record
from sync.models import ImportCandidate, JiraLink, OutboxEntry
from sync.selectors import import_candidate_list, jira_link_for_record, sync_log_list
from sync.services.imports import (
    candidate_for_issue,
    candidate_for_version,
    import_candidate_accept,
    import_candidate_reject,
    import_candidates_accept_all,
    import_candidates_reject_all,
)
from tests.sync.conftest import make_linked_record

pytestmark = pytest.mark.django_db


def candidate(integration, emulator, key, kind):
    issue = emulator.get_issue(key, version=2)
    return candidate_for_issue(integration=integration, issue=issue, record_kind=kind, where="x")[0]


@pytest.fixture
def release_v1(enabled_integration, emulator):
    version = emulator.create_version("DEMO", "v1")
    return version, make_linked_record(enabled_integration, "release", version["id"], name="v1")


def test_accept_creates_the_record_under_its_parents_and_links_it(
    enabled_integration, emulator, owner, release_v1
):
    version, release = release_v1
    epic_issue = emulator.create_issue(project="DEMO", issuetype="Epic", summary="Payments")
    epic = make_linked_record(enabled_integration, "epic", epic_issue["id"], epic_issue["key"])
    story = emulator.create_issue(
        project="DEMO",
        issuetype="Story",
        summary="Pay by card",
        fixVersions=[{"id": version["id"]}],
        parent={"key": epic_issue["key"]},
        labels=["beta"],
        description="Cards first",
    )
    cand = candidate(enabled_integration, emulator, story["key"], "feature")

    record = import_candidate_accept(candidate=cand, user=owner)

    assert (record.kind, record.name, record.release, record.epic) == (
        "feature",
        "Pay by card",
        release,
        epic,
    )
    assert list(record.tags.values_list("name", flat=True)) == ["beta"]
    assert "Cards first" in record.description
    assert record.created_by == owner
    link = jira_link_for_record(record)
    assert (link.jira_id, link.jira_key) == (story["id"], story["key"])
    assert link.jira_url.endswith(f"/browse/{story['key']}")
    cand.refresh_from_db()
    assert (cand.status, cand.record, cand.decided_by) == ("accepted", record, owner)
    assert not OutboxEntry.objects.filter(record=record).exists()  # not sent back to Jira
    # Accepting again is a no-op returning the same record: never a second one.
    assert import_candidate_accept(candidate=cand, user=owner) == record
    assert Record.objects.filter(kind="feature").count() == 1
    assert any(
        f"Imported {story['key']} from Jira as {record.reference}" in e.message
        for e in sync_log_list(enabled_integration, level="info")
    )


def test_a_requirement_brings_its_feature_from_jira(enabled_integration, emulator, release_v1):
    version, release = release_v1
    story = emulator.create_issue(
        project="DEMO",
        issuetype="Story",
        summary="Parent story",
        fixVersions=[{"id": version["id"]}],
    )
    sub = emulator.create_issue(
        project="DEMO", issuetype="Sub-task", summary="Child", parent={"key": story["key"]}
    )
    cand = candidate(enabled_integration, emulator, sub["key"], "requirement")
    emulator.requests_log.clear()

    requirement = import_candidate_accept(candidate=cand, user=None)

    feature = requirement.feature
    assert feature.name == "Parent story"
    assert feature.release == release
    assert JiraLink.objects.get(record=feature).jira_key == story["key"]
    assert JiraLink.objects.get(record=requirement).jira_key == sub["key"]
    # The accepted issue's existence was checked, and the parent was fetched from Jira once.
    gets = [r[1] for r in emulator.requests_log if r[0] == "GET" and "/issue/" in r[1]]
    assert gets == [f"/rest/api/3/issue/{sub['id']}", f"/rest/api/3/issue/{story['id']}"]


def test_a_requirement_uses_its_features_pending_candidate(
    enabled_integration, emulator, release_v1
):
    version, _ = release_v1
    story = emulator.create_issue(
        project="DEMO", issuetype="Story", summary="Parent", fixVersions=[{"id": version["id"]}]
    )
    sub = emulator.create_issue(
        project="DEMO", issuetype="Sub-task", summary="Child", parent={"key": story["key"]}
    )
    parent_cand = candidate(enabled_integration, emulator, story["key"], "feature")
    child_cand = candidate(enabled_integration, emulator, sub["key"], "requirement")
    emulator.requests_log.clear()

    requirement = import_candidate_accept(candidate=child_cand, user=None)

    parent_cand.refresh_from_db()
    assert parent_cand.status == "accepted"
    assert parent_cand.record == requirement.feature
    # One Jira call only: that the accepted issue still exists; the parent came from its
    # pending candidate.
    assert [r[1] for r in emulator.requests_log] == [f"/rest/api/3/issue/{sub['id']}"]
    assert Record.objects.filter(kind="feature").count() == 1


def test_reject_and_reject_all(enabled_integration, emulator, owner, release_v1):
    issues = [
        emulator.create_issue(project="DEMO", issuetype="Story", summary=f"S{i}") for i in range(3)
    ]
    cands = [candidate(enabled_integration, emulator, i["key"], "feature") for i in issues]

    import_candidate_reject(candidate=cands[0], user=owner)
    assert import_candidates_reject_all(integration=enabled_integration, user=owner) == 2

    assert not import_candidate_list(enabled_integration, "pending").exists()
    assert import_candidate_list(enabled_integration, "rejected").count() == 3
    assert Record.objects.filter(kind="feature").count() == 0
    with pytest.raises(ApplicationError, match="rejected"):
        import_candidate_accept(candidate=cands[0], user=owner)


def test_accept_all_imports_every_pending_candidate_once(enabled_integration, emulator, release_v1):
    version, release = release_v1
    issues = [
        emulator.create_issue(
            project="DEMO", issuetype="Story", summary=f"S{i}", fixVersions=[{"id": version["id"]}]
        )
        for i in range(3)
    ]
    for issue in issues:
        candidate(enabled_integration, emulator, issue["key"], "feature")

    result = import_candidates_accept_all(integration=enabled_integration, user=None)

    assert result.errors == []
    assert sorted(r.name for r in result.accepted) == ["S0", "S1", "S2"]
    assert Record.objects.filter(kind="feature", release=release).count() == 3


def test_a_transient_jira_error_on_accept_is_a_plain_message_and_stays_pending(
    enabled_integration, emulator
):
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Parent")
    sub = emulator.create_issue(
        project="DEMO", issuetype="Sub-task", summary="Child", parent={"key": story["key"]}
    )
    cand = candidate(enabled_integration, emulator, sub["key"], "requirement")
    emulator.faults.queue(429, retry_after=120)

    with pytest.raises(ApplicationError) as exc:
        import_candidate_accept(candidate=cand, user=None)

    assert "Could not import" in exc.value.message
    assert "Try again" in exc.value.message
    cand.refresh_from_db()
    assert cand.status == "pending"
    assert not Record.objects.exists()  # nothing half-imported
    # Jira answers again: the same candidate imports.
    requirement = import_candidate_accept(candidate=cand, user=None)
    assert requirement.feature.name == "Parent"


def test_version_candidate_imports_a_release(enabled_integration, emulator):
    version = emulator.create_version(
        "DEMO", "v7", release_date="2026-12-24", start_date="2026-12-01", description="Winter"
    )
    cand, created = candidate_for_version(integration=enabled_integration, version=version)
    assert created

    release = import_candidate_accept(candidate=cand, user=None)

    assert (release.kind, release.name, str(release.release_date), str(release.start_date)) == (
        "release",
        "v7",
        "2026-12-24",
        "2026-12-01",
    )
    link = JiraLink.objects.get(record=release)
    assert (link.jira_kind, link.jira_id) == ("version", str(version["id"]))
    assert ImportCandidate.objects.get().status == "accepted"


def test_a_deleted_or_merged_version_withdraws_its_pending_candidate(
    client, enabled_integration, emulator
):
    """The withdrawal used to be rolled back with the 'not linked' outcome."""
    from tests.sync.test_inbound import deliver
    from tests.sync.test_inbound_links import version_body

    v1 = emulator.create_version("DEMO", "v1")
    v2 = emulator.create_version("DEMO", "v2")
    for version in (v1, v2):
        candidate_for_version(integration=enabled_integration, version=version, event=None)
    assert ImportCandidate.objects.filter(status="pending").count() == 2

    deliver(client, enabled_integration, version_body("jira:version_deleted", v1))
    deliver(client, enabled_integration, version_body("jira:version_merged", v2, mergedTo=v1))

    assert not ImportCandidate.objects.filter(status="pending").exists()
    assert not Record.objects.filter(kind="release").exists()


@pytest.mark.parametrize("what", ["version", "issue"])
def test_accept_checks_that_the_version_or_issue_still_exists_in_jira(
    enabled_integration, emulator, owner, what
):
    if what == "version":
        version = emulator.create_version("DEMO", "v9")
        cand, _ = candidate_for_version(
            integration=enabled_integration, version=version, event=None
        )
        emulator.delete_version(version["id"])  # its webhook never came
    else:
        story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Gone")
        cand = candidate(enabled_integration, emulator, story["key"], "feature")
        emulator.delete_issue(story["key"])

    with pytest.raises(ApplicationError, match="no longer exists in Jira"):
        import_candidate_accept(candidate=cand, user=owner)

    assert not ImportCandidate.objects.filter(pk=cand.pk).exists()
    assert not Record.objects.filter(kind__in=["release", "feature"]).exists()
    assert not JiraLink.objects.exists()
