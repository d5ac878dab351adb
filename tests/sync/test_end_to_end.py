"""The sync end to end with real processes: a REAL Celery worker process, the live server over
HTTP and the Jira emulator sending real, signed webhooks to it. Nothing is called in-process:
records change here through the services (as a page or the API would), Jira changes through
the emulator, and the test only watches the database and the emulator, with deadlines.

Each test states what it checks was neither lost nor duplicated. They pass on the embedded
default (SQLite + file-system broker) and on PostgreSQL + Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from integrations.services.relationships import relationship_mapping_add
from records.models import Record, RecordLink
from records.services import record_update
from sync.models import ImportCandidate, InboundEvent, JiraLink, OutboxEntry, SyncLogEntry
from sync.services.outbound import marker_label
from tests.factories import make_record

from .conftest import make_enabled_integration
from .outbound_helpers import calls, issues_of_project

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_link_defaults")]

WEBHOOK_EVENTS = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "issuelink_created",
    "issuelink_deleted",
    "jira:version_created",
    "jira:version_updated",
    "jira:version_released",
]
DEADLINE = 30.0


def wait_for(predicate: Callable[[], object], what: str, timeout: float = DEADLINE, worker=None):
    """Poll until ``predicate()`` is truthy; fail with ``what`` (and the worker's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    log = f"\nworker log:\n{worker.log()[-4000:]}" if worker is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{log}")


def hook_emulator(emulator, integration, url: str) -> None:
    """Jira's admin webhook (System > WebHooks) pointing at ``url``, with the secret."""
    emulator.add_webhook(url, events=WEBHOOK_EVENTS, secret=integration.get_webhook_secret())


def intake_url(live_server, integration) -> str:
    return f"{live_server.url}/webhooks/jira/{integration.webhook_token}/"


@pytest.fixture(scope="module")
def module_worker(django_db_setup, tmp_path_factory):
    """One real worker process for the module's tests (starting and stopping one costs
    seconds); it keeps no state between tests, and each test's rows are flushed after it."""
    from tests.workers import WorkerProcess

    worker = WorkerProcess(log_path=tmp_path_factory.mktemp("e2e") / "worker.log").start()
    yield worker
    worker.kill()  # nothing in flight to finish: the tests waited for every task they caused


@pytest.fixture
def celery_worker(module_worker, transactional_db):
    return module_worker


@pytest.fixture
def hooked(live_server, workspace, emulator):
    """An enabled integration whose Jira (the emulator) sends webhooks to the live server."""
    integration = make_enabled_integration(workspace, emulator)
    hook_emulator(emulator, integration, intake_url(live_server, integration))
    return integration


def entry_sent(record) -> bool:
    entries = OutboxEntry.objects.filter(record=record, action=OutboxEntry.Action.SEND_RECORD)
    return entries.exists() and not entries.exclude(status=OutboxEntry.Status.SENT).exists()


def settled(integration) -> bool:
    """Nothing waits: every outbox entry sent, every webhook delivered and processed."""
    return (
        not OutboxEntry.objects.filter(integration=integration)
        .exclude(status=OutboxEntry.Status.SENT)
        .exists()
        and not InboundEvent.objects.filter(
            integration=integration, status=InboundEvent.Status.RECEIVED
        ).exists()
    )


def wait_settled(emulator, integration, worker, what: str) -> None:
    """Wait for the worker and the webhooks to run dry (the echo of a send included)."""

    def done():
        return emulator.wait_for_webhooks(0.5) and settled(integration)

    wait_for(done, what, worker=worker)
    failed = [d for d in emulator.webhook_deliveries if not d.ok]
    assert not failed, [(d.event, d.status, d.error) for d in failed]


def send_feature_with_parents(emulator, integration, workspace, worker, name="Checkout"):
    """A release, an epic and a feature created here, sent by the worker; returns them."""
    release = make_record(workspace, "release", "2027.1")
    epic = make_record(workspace, "epic", "Payments", release=release)
    feature = make_record(workspace, "feature", name, release=release, epic=epic)
    wait_settled(emulator, integration, worker, f"{name} and its parents to reach Jira")
    return release, epic, feature


def test_a_feature_created_here_appears_in_jira_in_its_fix_version_under_its_epic(
    hooked, workspace, emulator, celery_worker
):
    """Outbox -> worker -> Jira client: one version, one epic and one story in Jira (none lost,
    none duplicated), the story in the release's fix version under the epic; the webhooks Jira
    sends back for them create no import candidate and no second record."""
    release, epic, feature = send_feature_with_parents(emulator, hooked, workspace, celery_worker)

    links = {link.record_id: link for link in JiraLink.objects.filter(integration=hooked)}
    assert set(links) == {release.pk, epic.pk, feature.pk}
    issues = {issue.key: issue for issue in issues_of_project(emulator)}
    assert len(issues) == 2  # the epic and the story, once each
    story = issues[links[feature.pk].jira_key]
    assert story.summary == "Checkout"
    assert story.fix_versions == [int(links[release.pk].jira_id)]
    assert emulator.state.issues[story.parent_id].key == links[epic.pk].jira_key
    assert marker_label(hooked.id, feature.pk) in story.labels
    with emulator.state.lock:
        versions = [v for v in emulator.state.versions.values() if v.name == "2027.1"]
    assert len(versions) == 1
    assert len(calls(emulator, "POST", "/rest/api/3/issue")) == 2
    # Jira's webhooks about our own creations were stored and processed, and imported nothing.
    assert InboundEvent.objects.filter(integration=hooked, event_type="jira:issue_created").count()
    assert not ImportCandidate.objects.exists()
    assert Record.objects.filter(workspace=workspace).count() == 3


def test_an_issue_link_added_in_jira_appears_here_with_the_mapped_type(
    hooked, workspace, emulator, celery_worker
):
    """Webhook -> intake -> worker: the Jira link becomes exactly one record link of the
    mapped type (Blocks -> blocks, inward issue blocks the outward one), mirrored once; no
    link goes back to Jira (Jira keeps exactly the one link)."""
    relationship_mapping_add(
        integration=hooked, record_kind="feature", link_type="blocks", jira_link_type_id="10000"
    )
    a = make_record(workspace, "feature", "Blocker")
    b = make_record(workspace, "feature", "Blocked")
    wait_settled(emulator, hooked, celery_worker, "the two features to reach Jira")
    key_a = JiraLink.objects.get(record=a).jira_key
    key_b = JiraLink.objects.get(record=b).jira_key

    link_id = emulator.link_issues("Blocks", key_a, key_b)  # inward = the one that blocks

    wait_for(lambda: RecordLink.objects.exists(), "the link to arrive", worker=celery_worker)
    wait_settled(emulator, hooked, celery_worker, "the link event to be processed")
    assert list(RecordLink.objects.values_list("source", "link_type", "target")) == [
        (a.pk, "blocks", b.pk)
    ]
    event = InboundEvent.objects.get(integration=hooked, event_type="issuelink_created")
    assert event.status == InboundEvent.Status.PROCESSED
    from sync.models import IssueLinkMirror

    assert list(IssueLinkMirror.objects.values_list("jira_link_id", flat=True)) == [link_id]
    assert not OutboxEntry.objects.filter(action=OutboxEntry.Action.CREATE_LINK).exists()
    with emulator.state.lock:
        assert len(emulator.state.links) == 1


def test_a_change_in_jira_comes_back_here(hooked, workspace, emulator, celery_worker):
    """Summary, status and labels edited in Jira reach the record; each delivery is stored
    once and processed once; nothing is sent back to Jira for them (no outbox entry, no
    Jira write after the edits)."""
    _, _, feature = send_feature_with_parents(emulator, hooked, workspace, celery_worker)
    key = JiraLink.objects.get(record=feature).jira_key
    outbox_before = OutboxEntry.objects.count()
    emulator.requests_log.clear()

    emulator.update_issue(key, {"summary": "Checkout v2", "labels": ["web", "mobile"]})
    emulator.transition_issue(key, "In Progress")

    def applied():
        feature.refresh_from_db()
        tags = sorted(feature.tags.values_list("name", flat=True))
        return (feature.name, feature.status, tags) == (
            "Checkout v2",
            "in_development",
            ["mobile", "web"],
        )

    wait_for(applied, "the Jira edits to reach the record", worker=celery_worker)
    wait_settled(emulator, hooked, celery_worker, "the edit events to be processed")
    updates = InboundEvent.objects.filter(integration=hooked, event_type="jira:issue_updated")
    identifiers = {d.identifier for d in emulator.webhook_deliveries if d.event.endswith("updated")}
    assert set(updates.values_list("delivery_id", flat=True)) == identifiers
    assert set(updates.values_list("status", flat=True)) == {InboundEvent.Status.PROCESSED}
    assert OutboxEntry.objects.count() == outbox_before
    assert not [c for c in emulator.requests_log if c[0] in ("POST", "PUT", "DELETE")]


def test_the_echo_of_our_own_change_writes_nothing_and_calls_jira_no_more(
    hooked, workspace, emulator, celery_worker
):
    """A rename here goes to Jira once; the issue_updated webhook Jira sends for it (the
    echo) is processed without a write here (updated_at unchanged, no sync log entry, no
    outbox entry) and without any further Jira call."""
    _, _, feature = send_feature_with_parents(emulator, hooked, workspace, celery_worker)
    key = JiraLink.objects.get(record=feature).jira_key
    emulator.requests_log.clear()
    events_before = set(InboundEvent.objects.values_list("id", flat=True))

    record_update(record=feature, name="Checkout, renamed here")
    wait_for(lambda: entry_sent(feature), "the rename to be sent", worker=celery_worker)
    assert emulator.state.find_issue(key).summary == "Checkout, renamed here"
    calls_after_send = len(emulator.requests_log)
    assert len(calls(emulator, "PUT", f"/issue/{key}")) == 1
    updated_at = Record.objects.get(pk=feature.pk).updated_at
    log_count = SyncLogEntry.objects.filter(record=feature).count()
    outbox_count = OutboxEntry.objects.count()

    # The echo: Jira's issue_updated for our own PUT, delivered and processed by the worker.
    def echo_processed():
        echo = InboundEvent.objects.exclude(id__in=events_before).filter(
            event_type="jira:issue_updated", jira_issue_id=str(emulator.state.find_issue(key).id)
        )
        return echo.exists() and not echo.exclude(status=InboundEvent.Status.PROCESSED).exists()

    wait_for(echo_processed, "the echo to be processed", worker=celery_worker)
    wait_settled(emulator, hooked, celery_worker, "the worker to run dry")

    assert Record.objects.get(pk=feature.pk).updated_at == updated_at
    assert SyncLogEntry.objects.filter(record=feature).count() == log_count
    assert OutboxEntry.objects.count() == outbox_count
    assert len(emulator.requests_log) == calls_after_send, emulator.requests_log[calls_after_send:]
