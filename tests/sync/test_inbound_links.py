"""Issue-link and version events (sync.services.handlers.links / versions).

Direction: the webhook's sourceIssueId is REST's inwardIssue and reads "source *blocks*
destination" (shared/jira/README.md). A relationship mapping OUTWARD means the record of its
kind is the Jira link's source; INWARD, its destination."""

from __future__ import annotations

import datetime
import time

import pytest

from integrations.services.relationships import relationship_mapping_add
from records.models import Record, RecordLink
from records.services import record_link_create
from records.signals import change_origin
from sync.models import ImportCandidate, InboundEvent, IssueLinkMirror, JiraLink, SyncLogEntry
from sync.services.inbound import inbound_event_process
from tests.sync.conftest import make_linked_record, post_webhook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_link_defaults")]

LINK_TYPES = {
    "10000": ("Blocks", "is blocked by", "blocks"),
    "10001": ("Cloners", "is cloned by", "clones"),
    "10002": ("Duplicate", "is duplicated by", "duplicates"),
    "10003": ("Relates", "relates to", "relates to"),
}


def link_body(event, link_id, source_id, dest_id, type_id, timestamp=None):
    name, inward, outward = LINK_TYPES[type_id]
    return {
        "timestamp": timestamp or int(time.time() * 1000),
        "webhookEvent": event,
        "issueLink": {
            "id": int(link_id),
            "sourceIssueId": int(source_id),
            "destinationIssueId": int(dest_id),
            "issueLinkType": {
                "id": int(type_id),
                "name": name,
                "inwardName": inward,
                "outwardName": outward,
                "isSubTaskLinkType": False,
                "isSystemLinkType": False,
            },
            "systemLink": False,
        },
    }


def deliver(client, integration, body):
    response = post_webhook(client, integration, body)
    assert response.status_code == 202, response.content
    event = InboundEvent.objects.filter(integration=integration).latest("id")
    inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    return event


def rel(integration, kind, link_type, jira_type, direction="outward", sync="both"):
    return relationship_mapping_add(
        integration=integration,
        record_kind=kind,
        link_type=link_type,
        jira_link_type_id=jira_type,
        jira_direction=direction,
        sync_direction=sync,
    )


@pytest.fixture
def two_features(enabled_integration):
    a = make_linked_record(enabled_integration, "feature", 20192, "DEMO-1")
    b = make_linked_record(enabled_integration, "feature", 20734, "DEMO-2")
    return a, b


def test_outward_mapping_source_blocks_destination(client, enabled_integration, two_features):
    a, b = two_features
    rel(enabled_integration, "feature", "blocks", "10000", "outward")

    event = deliver(
        client, enabled_integration, link_body("issuelink_created", 501, 20192, 20734, "10000")
    )

    assert event.status == InboundEvent.Status.PROCESSED
    link = RecordLink.objects.get()
    assert (link.source, link.target, link.link_type) == (a, b, "blocks")
    assert IssueLinkMirror.objects.get().record_link == link
    assert any(
        f"{a.reference} Blocks {b.reference}" in e.message for e in SyncLogEntry.objects.all()
    )


def test_inward_mapping_destination_depends_on_source(client, enabled_integration, two_features):
    """Depends on <-> Blocks inward: "DEMO-1 blocks DEMO-2" arrives as "APP-2 depends on
    APP-1"."""
    a, b = two_features
    rel(enabled_integration, "feature", "depends_on", "10000", "inward")

    deliver(client, enabled_integration, link_body("issuelink_created", 502, 20192, 20734, "10000"))

    link = RecordLink.objects.get()
    assert (link.source, link.target, link.link_type) == (b, a, "depends_on")


def test_first_matching_pair_wins_relates_arrives_as_relates_to(
    client, enabled_integration, two_features
):
    rel(enabled_integration, "feature", "relates_to", "10003")
    rel(enabled_integration, "feature", "contains", "10003")

    deliver(client, enabled_integration, link_body("issuelink_created", 503, 20734, 20192, "10003"))

    assert list(RecordLink.objects.values_list("link_type", flat=True)) == ["relates_to"]


def test_unmapped_link_type_or_unlinked_issue_is_ignored(client, enabled_integration, two_features):
    rel(enabled_integration, "feature", "blocks", "10000")
    cloners = deliver(
        client, enabled_integration, link_body("issuelink_created", 504, 20192, 20734, "10001")
    )
    stranger = deliver(
        client, enabled_integration, link_body("issuelink_created", 505, 20192, 99999, "10000")
    )
    assert cloners.status == InboundEvent.Status.IGNORED
    assert "no record link mapping takes Jira's Cloners (10001)" in cloners.last_error
    assert stranger.status == InboundEvent.Status.IGNORED
    assert "99999" in stranger.last_error
    assert not RecordLink.objects.exists()
    assert not IssueLinkMirror.objects.exists()


def test_requirements_have_no_record_link_mapping(client, enabled_integration, two_features):
    a, _ = two_features
    with change_origin("jira", enabled_integration.id):
        req = Record.objects.get(pk=a.pk)
        from tests.factories import make_record

        requirement = make_record(enabled_integration.workspace, "requirement", feature=req)
    JiraLink.objects.create(
        integration=enabled_integration, record=requirement, jira_kind="issue", jira_id="30000"
    )
    rel(enabled_integration, "feature", "blocks", "10000")
    event = deliver(
        client, enabled_integration, link_body("issuelink_created", 506, 30000, 20734, "10000")
    )
    assert event.status == InboundEvent.Status.IGNORED
    assert "initiatives, releases, epics and features only" in event.last_error


def test_echo_of_our_own_link_only_adds_the_mirror(client, enabled_integration, two_features):
    a, b = two_features
    rel(enabled_integration, "feature", "blocks", "10000")
    with change_origin("jira", enabled_integration.id):
        ours = record_link_create(source=a, target=b, link_type="blocks")

    deliver(client, enabled_integration, link_body("issuelink_created", 507, 20192, 20734, "10000"))
    again = deliver(
        client, enabled_integration, link_body("issuelink_created", 507, 20192, 20734, "10000")
    )

    assert list(RecordLink.objects.all()) == [ours]  # not duplicated
    assert IssueLinkMirror.objects.get().record_link == ours
    assert again.status == InboundEvent.Status.IGNORED
    assert "already mirrored" in again.last_error


def test_link_deleted_in_jira_removes_the_record_link_and_its_mirror(
    client, enabled_integration, two_features
):
    rel(enabled_integration, "feature", "blocks", "10000")
    deliver(client, enabled_integration, link_body("issuelink_created", 508, 20192, 20734, "10000"))
    assert RecordLink.objects.count() == 1

    event = deliver(
        client, enabled_integration, link_body("issuelink_deleted", 508, 20192, 20734, "10000")
    )

    assert event.status == InboundEvent.Status.PROCESSED
    assert not RecordLink.objects.exists()
    assert not IssueLinkMirror.objects.exists()  # nothing left dangling
    assert all(r is not None for r in Record.objects.all())


def test_created_arriving_after_its_deleted_does_not_bring_the_link_back(
    client, enabled_integration, two_features
):
    rel(enabled_integration, "feature", "blocks", "10000")
    deleted = deliver(
        client, enabled_integration, link_body("issuelink_deleted", 509, 20192, 20734, "10000")
    )
    late = deliver(
        client, enabled_integration, link_body("issuelink_created", 509, 20192, 20734, "10000")
    )
    assert deleted.status == InboundEvent.Status.IGNORED
    assert late.status == InboundEvent.Status.IGNORED
    assert "deleted before this delivery" in late.last_error
    assert not RecordLink.objects.exists()


# --------------------------------------------------------------------------- versions


def version_body(event, version, **extra):
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": event,
        "version": version,
        **extra,
    }


def test_version_renamed_and_released_update_the_release(client, enabled_integration, emulator):
    version = emulator.create_version("DEMO", "v1", release_date="2026-12-01")
    release = make_linked_record(enabled_integration, "release", version["id"], name="v1")

    renamed = emulator.update_version(version["id"], name="v1.0", releaseDate="2026-12-24")
    deliver(client, enabled_integration, version_body("jira:version_updated", renamed))
    release.refresh_from_db()
    assert release.name == "v1.0"
    assert str(release.release_date) == "2026-12-24"
    assert release.status == "planned"  # unreleased: our status already says so

    released = emulator.update_version(version["id"], released=True)
    deliver(client, enabled_integration, version_body("jira:version_released", released))
    release.refresh_from_db()
    assert release.status == "released"
    assert any("status Released" in m.message for m in SyncLogEntry.objects.filter(level="info"))


def test_unreleased_version_keeps_an_in_progress_release(client, enabled_integration, emulator):
    version = emulator.create_version("DEMO", "v1")
    release = make_linked_record(
        enabled_integration, "release", version["id"], name="v1", status="in_progress"
    )
    deliver(client, enabled_integration, version_body("jira:version_updated", version))
    release.refresh_from_db()
    assert release.status == "in_progress"


def _release_with_details(enabled_integration, version_id):
    return make_linked_record(
        enabled_integration,
        "release",
        version_id,
        name="v1",
        description="<p>The spring release</p>",
        start_date=datetime.date(2026, 11, 1),
        release_date=datetime.date(2026, 12, 1),
    )


def test_version_update_leaves_alone_what_the_payload_omits(client, enabled_integration, emulator):
    version = emulator.create_version("DEMO", "v1")
    release = _release_with_details(enabled_integration, version["id"])
    # Only id, name and the flags: description and dates unknown, not empty.
    payload = {k: version[k] for k in ("id", "name", "released", "archived", "projectId")}
    payload["name"] = "v1.0"

    event = deliver(client, enabled_integration, version_body("jira:version_updated", payload))

    assert event.status == InboundEvent.Status.PROCESSED
    release.refresh_from_db()
    assert release.name == "v1.0"
    assert release.description == "<p>The spring release</p>"
    assert release.start_date == datetime.date(2026, 11, 1)
    assert release.release_date == datetime.date(2026, 12, 1)


@pytest.mark.parametrize("empty", [None, ""])
def test_version_update_with_explicit_empty_values_clears_them(
    client, enabled_integration, emulator, empty
):
    version = emulator.create_version("DEMO", "v1")
    release = _release_with_details(enabled_integration, version["id"])
    payload = {**version, "description": empty, "startDate": empty, "releaseDate": empty}

    event = deliver(client, enabled_integration, version_body("jira:version_updated", payload))

    assert event.status == InboundEvent.Status.PROCESSED
    release.refresh_from_db()
    assert release.description == ""
    assert release.start_date is None
    assert release.release_date is None


def test_version_deleted_with_merge_target_unlinks_and_reports(
    client, enabled_integration, emulator
):
    v1 = emulator.create_version("DEMO", "v1")
    v2 = emulator.create_version("DEMO", "v2")
    r1 = make_linked_record(enabled_integration, "release", v1["id"], name="v1")
    r2 = make_linked_record(enabled_integration, "release", v2["id"], name="v2")

    event = deliver(
        client, enabled_integration, version_body("jira:version_deleted", v1, mergedTo=v2)
    )

    assert event.status == InboundEvent.Status.PROCESSED
    assert Record.objects.filter(pk=r1.pk).exists()
    assert not JiraLink.objects.filter(record=r1).exists()
    warning = SyncLogEntry.objects.get(level="warning").message
    assert "'v1' was deleted (merged into 'v2', linked here to " + r2.reference in warning
    assert f"{r1.reference} is kept here and no longer linked" in warning


def test_version_created_in_the_project_becomes_a_release_candidate(
    client, enabled_integration, emulator
):
    version = emulator.create_version("DEMO", "v9")
    other = emulator.create_version("INIT", "elsewhere")

    event = deliver(client, enabled_integration, version_body("jira:version_created", version))
    ignored = deliver(client, enabled_integration, version_body("jira:version_created", other))

    assert event.status == InboundEvent.Status.PROCESSED
    candidate = ImportCandidate.objects.get()
    assert (candidate.record_kind, candidate.summary) == ("release", "v9")
    assert ignored.status == InboundEvent.Status.IGNORED
    assert "belongs to project" in ignored.last_error


def test_version_older_event_is_stale(client, enabled_integration, emulator):
    version = emulator.create_version("DEMO", "v1")
    release = make_linked_record(enabled_integration, "release", version["id"], name="v1")
    now = int(time.time() * 1000)
    newer = version_body("jira:version_updated", {**version, "name": "new"})
    newer["timestamp"] = now
    older = version_body("jira:version_updated", {**version, "name": "old"})
    older["timestamp"] = now - 1000
    deliver(client, enabled_integration, newer)
    assert deliver(client, enabled_integration, older).status == InboundEvent.Status.STALE
    release.refresh_from_db()
    assert release.name == "new"
