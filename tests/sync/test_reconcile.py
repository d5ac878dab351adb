"""Check Jira (drift reconciliation) end to end: the Jira emulator over real HTTP, its webhook
registered to a live intake but its deliveries held back ("the webhook is down"), issues and
versions changed in Jira, a pass, then the records; the held deliveries released afterwards
(a late real webhook) change nothing."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from records.models import Record
from sync.models import (
    ImportCandidate,
    InboundEvent,
    JiraCheck,
    JiraLink,
    OutboxEntry,
    SyncLogEntry,
)
from sync.services.inbound import inbound_event_process
from sync.services.reconcile import jira_check_run
from tests.sync.conftest import make_enabled_integration, make_linked_record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_link_defaults")]

EVENTS = ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "jira:version_updated"]


@pytest.fixture
def hooked(live_server, workspace, emulator):
    """An enabled integration; the emulator's webhook points at its live intake."""
    integration = make_enabled_integration(workspace, emulator)
    emulator.add_webhook(
        f"{live_server.url}/webhooks/jira/{integration.webhook_token}/",
        events=EVENTS,
        secret=integration.get_webhook_secret(),
    )
    return integration


def settle(emulator, integration):
    """Deliver what the emulator queued, then process what arrived, oldest first."""
    assert emulator.wait_for_webhooks(10)
    pending = InboundEvent.objects.filter(integration=integration, status="received")
    for event_id in pending.order_by("jira_timestamp", "id").values_list("id", flat=True):
        inbound_event_process(event_id=event_id)


def summaries(integration) -> list[str]:
    return list(
        SyncLogEntry.objects.filter(integration=integration, action="check_jira")
        .order_by("id")
        .values_list("message", flat=True)
    )


def agree(integration, record):
    """The synced snapshot a send leaves: both sides hold the record's values."""
    from integrations.selectors import record_mapping_for_kind
    from sync.services.snapshot import mapped_fields, snapshot_of_record, snapshot_store

    link = JiraLink.objects.get(integration=integration, record=record)
    mapping = record_mapping_for_kind(integration, record.kind)
    fields = mapped_fields(mapping, sending=True) | mapped_fields(mapping, sending=False)
    with transaction.atomic():
        snapshot_store(link, snapshot_of_record(record, mapping, fields))


def in_step(integration, emulator, *issues):
    """Linked features with a synced snapshot; the first pass applies what Jira holds
    differently (status names), so the next pass starts in step."""
    features = []
    for issue in issues:
        record = make_linked_record(
            integration, "feature", issue["id"], issue["key"], name=issue["summary"]
        )
        agree(integration, record)
        features.append(record)
    jira_check_run(integration_id=integration.id, full=True)
    settle(emulator, integration)
    return features


def story(emulator, summary):
    created = emulator.create_issue(project="DEMO", issuetype="Story", summary=summary)
    return {**created, "summary": summary}


def test_a_pass_applies_what_the_missed_webhooks_carried(hooked, emulator):
    a, b = story(emulator, "Checkout"), story(emulator, "Search")
    settle(emulator, hooked)
    fa, fb = in_step(hooked, emulator, a, b)
    assert "none drifted" in summaries(hooked)[-1]
    events_before = InboundEvent.objects.count()

    emulator.faults.hold_webhooks = True  # the webhook is down from here
    emulator.update_issue(a["key"], {"summary": "Checkout v2"})
    emulator.transition_issue(b["key"], "In Progress")
    check = jira_check_run(integration_id=hooked.id)

    fa.refresh_from_db()
    fb.refresh_from_db()
    assert fa.name == "Checkout v2"
    assert fb.status == "in_development"
    summary = summaries(hooked)[-1]
    assert "2 drifted" in summary, summary
    assert summary.endswith("applied."), summary
    assert f"{a['key']} summary" in summary
    assert f"{b['key']} status" in summary
    assert check.last_result == JiraCheck.Result.REPAIRED
    assert check.last_drifted == 2
    assert check.watermark is not None
    # Applied by the inbound path: one stored event per drift, processed, nothing sent back.
    made = InboundEvent.objects.filter(pk__gt=0).order_by("id")[events_before:]
    assert [(e.event_type, e.status) for e in made] == [("jira:issue_updated", "processed")] * 2
    assert not OutboxEntry.objects.filter(record__in=[fa, fb]).exists()

    # The late real webhooks arrive now: they change nothing.
    logged = SyncLogEntry.objects.count()
    changed = {r.pk: r.updated_at for r in Record.objects.filter(pk__in=[fa.pk, fb.pk])}
    emulator.faults.hold_webhooks = False
    assert emulator.release_webhooks() == 2
    settle(emulator, hooked)
    late = InboundEvent.objects.filter(integration=hooked, headers__has_key="User-Agent")
    assert late.count() >= 2
    assert {r.pk: r.updated_at for r in Record.objects.filter(pk__in=changed)} == changed
    assert SyncLogEntry.objects.count() == logged
    assert not OutboxEntry.objects.exists()
    # And the next pass finds nothing either.
    jira_check_run(integration_id=hooked.id)
    assert "none drifted" in summaries(hooked)[-1]


def test_an_incremental_pass_asks_for_recent_changes_only(hooked, emulator, settings):
    settings.SYNC_CHECK_JIRA_MARGIN_MINUTES = 7
    a = story(emulator, "Checkout")
    settle(emulator, hooked)
    in_step(hooked, emulator, a)
    emulator.requests_log.clear()

    jira_check_run(integration_id=hooked.id)

    searches = [q for (m, path, q, _, _) in emulator.requests_log if path.endswith("/search/jql")]
    assert len(searches) == 1
    assert searches[0]["jql"] == 'project = "DEMO" AND updated >= -8m ORDER BY key ASC'
    assert JiraCheck.objects.get(integration=hooked).last_full is False


def test_a_deleted_issue_is_found_by_a_full_check(hooked, emulator):
    a, b = story(emulator, "Keep"), story(emulator, "Gone")
    settle(emulator, hooked)
    fa, fb = in_step(hooked, emulator, a, b)
    emulator.faults.hold_webhooks = True
    emulator.delete_issue(b["key"])

    jira_check_run(integration_id=hooked.id, full=False)  # an incremental pass cannot see it
    assert JiraLink.objects.filter(record=fb).exists()
    check = jira_check_run(integration_id=hooked.id, full=True)

    assert not JiraLink.objects.filter(record=fb).exists()
    assert Record.objects.filter(pk=fb.pk).exists()  # the record is kept
    assert JiraLink.objects.filter(record=fa).exists()
    assert f"{b['key']} deleted; applied." in summaries(hooked)[-1]
    assert check.last_full
    assert check.last_full_at is not None
    # The late deletion webhook changes nothing.
    emulator.faults.hold_webhooks = False
    emulator.release_webhooks()
    settle(emulator, hooked)
    late = InboundEvent.objects.filter(
        integration=hooked, event_type="jira:issue_deleted", headers__has_key="User-Agent"
    ).get()
    assert late.status == "ignored"
    assert Record.objects.filter(pk=fb.pk).exists()


def test_an_issue_created_under_a_linked_epic_becomes_an_import_candidate(hooked, emulator):
    epic = emulator.create_issue(project="DEMO", issuetype="Epic", summary="Payments")
    settle(emulator, hooked)
    make_linked_record(hooked, "initiative", epic["id"], epic["key"], name="Payments")
    emulator.faults.hold_webhooks = True
    child = emulator.create_issue(
        project="DEMO", issuetype="Story", summary="Card form", parent={"key": epic["key"]}
    )

    jira_check_run(integration_id=hooked.id, full=True)

    candidate = ImportCandidate.objects.get(integration=hooked, jira_id=child["id"])
    assert candidate.status == "pending"
    assert f"{child['key']} new under an integrated parent" in summaries(hooked)[-1]
    # The next pass does not find it again.
    jira_check_run(integration_id=hooked.id, full=True)
    assert ImportCandidate.objects.filter(integration=hooked).count() == 1
    assert "none drifted" in summaries(hooked)[-1]


def test_versions_renamed_or_deleted_in_jira(hooked, emulator):
    v1 = emulator.create_version("DEMO", "2027.1")
    v2 = emulator.create_version("DEMO", "2027.2")
    r1 = make_linked_record(hooked, "release", v1["id"], name="2027.1")
    r2 = make_linked_record(hooked, "release", v2["id"], name="2027.2")
    agree(hooked, r1)
    agree(hooked, r2)
    jira_check_run(integration_id=hooked.id, full=True)
    settle(emulator, hooked)
    emulator.faults.hold_webhooks = True
    emulator.update_version(v1["id"], name="2027.1 LTS")
    emulator.delete_version(v2["id"])

    jira_check_run(integration_id=hooked.id, full=False)

    r1.refresh_from_db()
    assert r1.name == "2027.1 LTS"
    assert not JiraLink.objects.filter(record=r2).exists()
    summary = summaries(hooked)[-1]
    assert "version '2027.1 LTS' name" in summary
    assert "version '2027.2' deleted" in summary


def test_many_unchanged_linked_issues_make_no_writes_and_few_calls(enabled_integration, emulator):
    hooked = enabled_integration  # no webhook: nothing arrives but what the pass finds
    issues = [story(emulator, f"Story {n}") for n in range(230)]
    in_step(hooked, emulator, *issues)
    counts = (InboundEvent.objects.count(), OutboxEntry.objects.count())
    snapshots = dict(JiraLink.objects.values_list("pk", "snapshot"))
    stamps = dict(Record.objects.values_list("pk", "updated_at"))
    emulator.requests_log.clear()

    check = jira_check_run(integration_id=hooked.id, full=True)

    calls = list(emulator.requests_log)
    assert all(method == "GET" for (method, *_rest) in calls), calls
    # serverInfo, 3 search pages (100 a page), the versions list.
    assert len(calls) == 5, [c[1] for c in calls]
    assert check.last_jira_calls == 5
    assert check.last_checked >= 230
    assert check.last_drifted == 0
    assert (InboundEvent.objects.count(), OutboxEntry.objects.count()) == counts
    assert dict(JiraLink.objects.values_list("pk", "snapshot")) == snapshots
    assert dict(Record.objects.values_list("pk", "updated_at")) == stamps


def test_a_jira_failure_leaves_the_watermark_and_says_what_to_do(hooked, emulator):
    a = story(emulator, "Checkout")
    settle(emulator, hooked)
    in_step(hooked, emulator, a)
    before = JiraCheck.objects.get(integration=hooked).watermark
    emulator.faults.queue(status=401, path="/search/jql")

    check = jira_check_run(integration_id=hooked.id)

    assert check.last_result == JiraCheck.Result.FAILED
    assert check.watermark == before
    assert check.running_since is None
    entry = SyncLogEntry.objects.filter(integration=hooked, action="check_jira").first()
    assert entry.level == "error"
    assert "failed" in entry.message
    assert "Check Jira now" in entry.message


def test_a_disabled_integration_is_not_checked(workspace, emulator):
    from integrations.models import Integration

    integration = make_enabled_integration(workspace, emulator)
    Integration.objects.filter(pk=integration.pk).update(state=Integration.State.DISABLED)
    assert jira_check_run(integration_id=integration.id) is None
    assert emulator.requests_log == []


def test_a_record_edited_here_meanwhile_is_not_drift(hooked, emulator):
    """Our own unsent change is not Jira's drift: Jira still holds the agreed value."""
    a = story(emulator, "Checkout")
    settle(emulator, hooked)
    (fa,) = in_step(hooked, emulator, a)
    emulator.faults.hold_webhooks = True
    from records.services import record_update

    record_update(record=fa, name="Checkout (ours)")
    jira_check_run(integration_id=hooked.id, full=True)
    fa.refresh_from_db()
    assert fa.name == "Checkout (ours)"
    assert "none drifted" in summaries(hooked)[-1]


def test_late_webhooks_of_older_states_are_stale_after_a_pass(hooked, emulator):
    a = story(emulator, "Checkout")
    settle(emulator, hooked)
    (fa,) = in_step(hooked, emulator, a)
    emulator.faults.hold_webhooks = True
    emulator.update_issue(a["key"], {"summary": "Checkout v2"})
    # Jira's clock ticks in ms: two edits within one ms are not ordered by their timestamps
    # (the next pass would repair that), so the test keeps them apart.
    time.sleep(0.01)
    emulator.update_issue(a["key"], {"summary": "Checkout v3"})

    jira_check_run(integration_id=hooked.id)
    fa.refresh_from_db()
    assert fa.name == "Checkout v3"

    logged = SyncLogEntry.objects.count()
    emulator.faults.hold_webhooks = False
    assert emulator.release_webhooks(reverse=True) == 2  # late, and out of order
    settle(emulator, hooked)
    fa.refresh_from_db()
    assert fa.name == "Checkout v3"
    assert SyncLogEntry.objects.count() == logged  # nothing applied, nothing logged
    late = InboundEvent.objects.filter(
        integration=hooked, event_type="jira:issue_updated", headers__has_key="User-Agent"
    )
    # v2's is older than the state applied; v3's is its echo.
    assert sorted(late.values_list("status", flat=True)) == ["processed", "stale"]
    assert not OutboxEntry.objects.exists()


def test_one_pass_at_a_time_per_integration(enabled_integration, emulator):
    from django.utils import timezone

    JiraCheck.objects.create(integration=enabled_integration, running_since=timezone.now())
    assert jira_check_run(integration_id=enabled_integration.id) is None
    assert emulator.requests_log == []
    # A pass whose worker died long ago does not block the next.
    JiraCheck.objects.update(running_since=timezone.now() - timezone.timedelta(hours=2))
    check = jira_check_run(integration_id=enabled_integration.id)
    assert check.last_result == JiraCheck.Result.IN_STEP
    assert check.running_since is None


def test_the_beat_checks_every_enabled_integration(settings, workspace, emulator):
    from integrations.models import Integration
    from sync.services.reconcile import jira_check_due_ids

    assert settings.CELERY_BEAT_SCHEDULE["sync-check-jira"] == {
        "task": "sync.check_jira_all",
        "schedule": 15 * 60.0,
    }
    on = make_enabled_integration(workspace, emulator, name="On")
    off = make_enabled_integration(workspace, emulator, name="Off")
    Integration.objects.filter(pk=off.pk).update(state=Integration.State.DISABLED)
    assert on.id in jira_check_due_ids()
    assert off.id not in jira_check_due_ids()
