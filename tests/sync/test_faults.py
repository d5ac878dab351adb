"""The sync through faults, with real processes: a REAL Celery worker process (killed with
SIGKILL in one test), the live server over HTTP, the Jira emulator sending real signed
webhooks and failing on cue (429 with Retry-After, 500, answers slower than the client's read
timeout), a broker that refuses connections, and a relay in front of the intake that loses
an answer or holds deliveries back to reorder them.

Each test states what it checks was neither lost nor duplicated. They pass on the embedded
default (SQLite + file-system broker) and on PostgreSQL + Redis.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from integrations.models import Integration
from integrations.services.relationships import relationship_mapping_add
from records.models import Record, RecordLink
from records.services import record_link_create
from sync.models import (
    ImportCandidate,
    InboundEvent,
    IssueLinkMirror,
    JiraLink,
    OutboxEntry,
    SyncLogEntry,
)
from sync.services.outbound import marker_label
from sync.tasks import sweep
from tests.factories import make_record
from tests.workers import WorkerProcess

from .conftest import make_enabled_integration, make_linked_record
from .outbound_helpers import calls, issues_of_project
from .test_end_to_end import hook_emulator, intake_url, settled, wait_for, wait_settled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_link_defaults")]

# The worker's read timeout for Jira calls: an emulator latency above it is a timeout.
WORKER_JIRA_TIMEOUT = "1"


class Workers:
    """The module's real worker process; a test may kill it and start the next one."""

    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.current: WorkerProcess | None = None

    def start(self) -> WorkerProcess:
        self.count += 1
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("JIRA_HTTP_TIMEOUT", WORKER_JIRA_TIMEOUT)
            self.current = WorkerProcess(log_path=self.folder / f"worker{self.count}.log").start()
        return self.current

    def log(self) -> str:
        return self.current.log() if self.current else ""


@pytest.fixture(scope="module")
def workers(django_db_setup, tmp_path_factory):
    pool = Workers(tmp_path_factory.mktemp("faults"))
    pool.start()
    yield pool
    pool.current.kill()  # the tests waited for every task they caused


@pytest.fixture
def worker(workers, transactional_db):
    return workers.current


@pytest.fixture
def integration(live_server, workspace, emulator):
    integration = make_enabled_integration(workspace, emulator)
    hook_emulator(emulator, integration, intake_url(live_server, integration))
    return integration


@pytest.fixture
def no_grace(monkeypatch):
    """The sweep leaves rows younger than 30 s alone (their message is probably in flight);
    the tests call the sweep as if that much time had passed."""
    monkeypatch.setattr("sync.services.sweeps.GRACE", timedelta(0))


# -- a broker that refuses connections ---------------------------------------------------------


@contextlib.contextmanager
def broker_down(tmp_path):
    """Point this process (the live server's intake, the sweep) at a broker that cannot take
    a message: Redis on a port nothing listens on, or, for the file-system broker, a queue
    folder inside a regular file (writes fail with ENOTDIR even for root). The app's pools
    are set aside (new ones read the broken settings) and put back afterwards."""
    from mappings_site.celery import app

    amqp = app.amqp
    url, write_url = app.conf.broker_url, app.conf.broker_write_url
    options = dict(app.conf.broker_transport_options or {})
    saved = (app.pool, amqp.producer_pool)
    if url.startswith("redis"):
        # Celery copies broker_url into broker_write_url when configured: publishing reads that.
        app.conf.broker_url = app.conf.broker_write_url = "redis://127.0.0.1:1/15"
    else:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        app.conf.broker_transport_options = {**options, "data_folder_out": str(blocker / "q")}
    app._pool, amqp._producer_pool = None, None
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            amqp.producer_pool.connections.force_close_all()
        app.conf.broker_url, app.conf.broker_write_url = url, write_url
        app.conf.broker_transport_options = options
        app._pool, amqp._producer_pool = saved


def test_broker_down_when_the_webhook_arrives_the_event_waits_then_the_sweep_hands_it_off(
    integration, emulator, worker, tmp_path, no_grace
):
    """The intake answers 2xx on the first try, within the emulator's 2 s timeout, and stores
    the event although it cannot enqueue it; once the broker is back, the sweep hands it to
    the worker, which applies it: the delivery is stored once, processed once, not lost."""
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Before")
    assert emulator.wait_for_webhooks(10)
    InboundEvent.objects.all().delete()  # the creation's event is not what this test watches
    feature = make_linked_record(integration, "feature", story["id"], story["key"], name="Before")
    emulator.webhook_timeout = 2.0
    emulator.webhook_deliveries.clear()

    with broker_down(tmp_path):
        started = time.monotonic()
        emulator.update_issue(story["key"], {"summary": "After the outage"})
        assert emulator.wait_for_webhooks(10)
        answered_in = time.monotonic() - started
        (delivery,) = emulator.webhook_deliveries
        assert (delivery.attempt, delivery.status) == (1, 202), delivery.error
        assert answered_in < 2.0
        event = InboundEvent.objects.get(delivery_id=delivery.identifier)
        assert event.status == InboundEvent.Status.RECEIVED  # stored, not handed off
        sweep()  # the beat while the broker is still down: nothing breaks, nothing is lost
        event.refresh_from_db()
        assert event.status == InboundEvent.Status.RECEIVED

    feature.refresh_from_db()
    assert feature.name == "Before"  # no message reached the worker
    sweep()  # the broker is back
    wait_for(
        lambda: InboundEvent.objects.get(pk=event.pk).status == InboundEvent.Status.PROCESSED,
        "the swept event to be processed",
        worker=worker,
    )
    feature.refresh_from_db()
    assert feature.name == "After the outage"
    assert InboundEvent.objects.filter(delivery_id=delivery.identifier).count() == 1
    assert SyncLogEntry.objects.filter(inbound_event=event, level="info").count() <= 1


# -- a worker killed in the middle of a Jira call ---------------------------------------------


def _restart_after_kill(workers) -> WorkerProcess:
    workers.current.kill()
    return workers.start()


def test_worker_killed_during_the_create_then_a_new_worker_and_the_sweep_leave_one_issue(
    integration, workspace, emulator, workers, worker, no_grace
):
    """SIGKILL while Jira is creating the issue (the emulator is slow, so the kill lands in
    the call); Jira finishes the create nobody hears about. A new worker, handed the entry
    by the sweep (the file-system broker loses an unacked message with its worker; Redis
    would only redeliver it after the visibility timeout), adopts the issue by its marker
    label: exactly one Jira issue and one JiraLink, the entry sent once."""
    emulator.faults.latency_seconds = 3
    feature = make_record(workspace, "feature", "Survives a crash")
    entry = OutboxEntry.objects.get(record=feature)
    wait_for(
        lambda: OutboxEntry.objects.get(pk=entry.pk).create_attempted_at,
        "the worker to start the create",
        worker=worker,
    )
    time.sleep(0.5)  # not an assertion: lets the POST reach the emulator before the kill
    new_worker = _restart_after_kill(workers)
    wait_for(lambda: issues_of_project(emulator), "Jira to finish the create", timeout=10)
    emulator.faults.latency_seconds = 0
    assert OutboxEntry.objects.get(pk=entry.pk).status == OutboxEntry.Status.PENDING
    # Jira's issue_created webhook may reach the new worker first and adopt the issue by its
    # marker label (handlers.issues.adopt_our_issue); either way the sweep's send must adopt,
    # not create again.

    sweep()
    wait_settled(emulator, integration, new_worker, "the swept entry to be sent")

    (issue,) = issues_of_project(emulator)
    assert JiraLink.objects.get(record=feature).jira_key == issue.key
    assert marker_label(integration.id, feature.id) in issue.labels
    assert len(calls(emulator, "POST", "/rest/api/3/issue")) == 1
    assert not ImportCandidate.objects.exists()  # Jira's issue_created echo imported nothing
    assert Record.objects.filter(workspace=workspace).count() == 1


def test_worker_killed_during_the_link_create_leaves_one_jira_link_and_one_record_link(
    integration, workspace, emulator, workers, worker, no_grace
):
    """SIGKILL while Jira creates an issue link for a record link made here. Jira's
    issuelink_created webhook for it and the swept outbox entry then race in the new worker:
    exactly one Jira link, one record link and one mirror remain."""
    relationship_mapping_add(
        integration=integration,
        record_kind="feature",
        link_type="blocks",
        jira_link_type_id="10000",
    )
    a = make_record(workspace, "feature", "Blocker")
    b = make_record(workspace, "feature", "Blocked")
    wait_settled(emulator, integration, worker, "the two features to reach Jira")

    emulator.faults.latency_seconds = 3
    link = record_link_create(source=a, target=b, link_type="blocks")
    entry = OutboxEntry.objects.get(action=OutboxEntry.Action.CREATE_LINK)
    wait_for(
        lambda: OutboxEntry.objects.get(pk=entry.pk).claimed_at,
        "the worker to start the link",
        worker=worker,
    )
    time.sleep(0.5)  # not an assertion: lets the POST reach the emulator before the kill
    new_worker = _restart_after_kill(workers)
    wait_for(lambda: emulator.state.links, "Jira to finish the link", timeout=10)
    emulator.faults.latency_seconds = 0
    assert emulator.wait_for_webhooks(10)

    sweep()
    wait_settled(emulator, integration, new_worker, "the entry and the link event")

    with emulator.state.lock:
        assert len(emulator.state.links) == 1
        (jira_link_id,) = emulator.state.links
    assert list(RecordLink.objects.values_list("pk", flat=True)) == [link.pk]
    assert list(IssueLinkMirror.objects.values_list("jira_link_id", "record_link")) == [
        (str(jira_link_id), link.pk)
    ]
    assert OutboxEntry.objects.get(pk=entry.pk).status == OutboxEntry.Status.SENT


# -- Jira failing: 429 with Retry-After, 500, timeouts -----------------------------------------


def arm(emulator, fault: str) -> None:
    """More failures than the client retries by itself (3), so the entry or event itself
    must be retried later, with backoff."""
    if fault == "429":
        emulator.faults.queue(429, retry_after=1, count=4)
    elif fault == "500":
        emulator.faults.queue(500, count=4)
    else:  # slower than the worker's read timeout
        emulator.faults.latency_seconds = float(WORKER_JIRA_TIMEOUT) + 1


def disarm_after_first_failure(emulator, row, worker) -> None:
    wait_for(
        lambda: type(row).objects.get(pk=row.pk).attempts >= 1,
        "the first attempt to fail",
        worker=worker,
    )
    emulator.faults.latency_seconds = 0


@pytest.mark.parametrize("fault", ["429", "500", "timeout"])
def test_outbound_send_through_jira_failures_is_retried_and_sent_once(
    fault, integration, workspace, emulator, worker
):
    """Jira answers 429 (Retry-After), 500, or too slowly while a new feature is sent: the
    entry fails an attempt, waits its backoff, is retried and sent; exactly one Jira issue
    (a create that timed out on our side but happened in Jira is adopted by its marker)."""
    arm(emulator, fault)
    feature = make_record(workspace, "feature", f"Sent through {fault}")
    entry = OutboxEntry.objects.get(record=feature)
    disarm_after_first_failure(emulator, entry, worker)
    failed_attempt = OutboxEntry.objects.get(pk=entry.pk)
    assert failed_attempt.status == OutboxEntry.Status.PENDING
    assert failed_attempt.next_attempt_at is not None  # backoff, not an immediate loop

    wait_settled(emulator, integration, worker, "the entry to be sent after its retry")

    entry.refresh_from_db()
    assert (entry.status, entry.attempts) == (OutboxEntry.Status.SENT, 1)
    (issue,) = issues_of_project(emulator)
    assert JiraLink.objects.get(record=feature).jira_key == issue.key
    statuses = [c[4] for c in calls(emulator) if c[1].startswith("/rest/api/")]
    if fault == "429":
        assert statuses.count(429) == 4
    elif fault == "500":
        assert statuses.count(500) == 4
    creates = [c for c in calls(emulator, "POST", "/rest/api/3/issue") if c[4] == 201]
    assert len(creates) == 1
    warnings = SyncLogEntry.objects.filter(outbox_entry=entry, level="warning")
    assert warnings.filter(message__contains="retrying in").count() == 1


@pytest.mark.parametrize("fault", ["429", "500", "timeout"])
def test_inbound_import_through_jira_failures_is_retried_and_imported_once(
    fault, integration, workspace, emulator, worker
):
    """A sub-task created in Jira under a story we do not have: auto-import fetches the
    parent story, and Jira answers 429, 500 or too slowly. The event fails an attempt, waits
    its backoff, is retried and processed: the story and the sub-task imported once each."""
    Integration.objects.filter(pk=integration.pk).update(auto_import=True)
    version = emulator.create_version("DEMO", "v1")
    make_linked_record(integration, "release", version["id"], name="v1")
    parent = emulator.create_issue(project="DEMO", issuetype="Story", summary="Parent")
    wait_settled(emulator, integration, worker, "the parent's creation event")

    arm(emulator, fault)
    sub = emulator.create_issue(
        project="DEMO",
        issuetype="Sub-task",
        summary="Child",
        parent={"key": parent["key"]},
        fixVersions=[{"id": version["id"]}],
    )
    wait_for(
        lambda: InboundEvent.objects.filter(jira_issue_id=sub["id"]).exists(),
        "the sub-task's webhook",
    )
    event = InboundEvent.objects.get(jira_issue_id=sub["id"], event_type="jira:issue_created")
    disarm_after_first_failure(emulator, event, worker)
    assert InboundEvent.objects.get(pk=event.pk).status == InboundEvent.Status.RECEIVED

    wait_settled(emulator, integration, worker, "the event to be processed after its retry")

    event.refresh_from_db()
    assert (event.status, event.attempts) == (InboundEvent.Status.PROCESSED, 1)
    child = JiraLink.objects.get(jira_kind="issue", jira_id=sub["id"]).record
    assert (child.kind, child.name, child.feature.name) == ("requirement", "Child", "Parent")
    assert Record.objects.filter(kind="feature", name="Parent").count() == 1
    assert Record.objects.filter(kind="requirement", name="Child").count() == 1


# -- deliveries repeated or out of order, through a relay in front of the intake --------------


class Relay:
    """A tiny HTTP server in front of the intake: forwards Jira's deliveries byte for byte,
    and can lose the first answer (Jira sees a 500 for a delivery we stored) or hold
    deliveries back so the test releases them in another order."""

    def __init__(self, target: str, *, lose_first_answer=False, hold=False):
        self.target = target
        self.lose_first_answer = lose_first_answer
        self.hold = hold
        self.held: list[tuple[bytes, dict[str, str]]] = []
        self.forwarded = 0
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                if relay.hold:
                    relay.held.append((body, headers))
                    status = 202
                else:
                    status = relay.forward(body, headers).status_code
                    if relay.lose_first_answer and relay.forwarded == 1:
                        status = 500  # stored by the intake, but Jira sees a failure
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        self.forwarded += 1
        return requests.post(self.target, data=body, headers=headers, timeout=10)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def relayed(live_server, workspace, emulator):
    """An enabled integration whose Jira webhooks go through a Relay (forwarding plainly
    until the test switches it)."""
    integration = make_enabled_integration(workspace, emulator)
    relay = Relay(intake_url(live_server, integration))
    hook_emulator(emulator, integration, relay.url)
    yield integration, relay
    relay.close()


def test_a_delivery_retried_after_a_lost_answer_is_processed_once(relayed, emulator, worker):
    """The intake stored the delivery but Jira saw a 500 and retried it with the same
    identifier: one event stored (the retry answered "duplicate"), the change applied once
    (one sync log line, one tag)."""
    integration, relay = relayed
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Once")
    wait_settled(emulator, integration, worker, "the creation event")
    feature = make_linked_record(integration, "feature", story["id"], story["key"], name="Once")
    relay.forwarded = 0
    relay.lose_first_answer = True

    emulator.update_issue(story["key"], {"labels": ["retried"]})
    wait_for(
        lambda: emulator.wait_for_webhooks(0.5) and settled(integration),
        "the update and its retry",
        worker=worker,
    )

    updates = [d for d in emulator.webhook_deliveries if d.event == "jira:issue_updated"]
    assert [(d.attempt, d.status) for d in updates] == [(1, 500), (2, 200)]
    assert updates[0].identifier == updates[1].identifier
    assert relay.forwarded == 2  # both reached the intake
    event = InboundEvent.objects.get(delivery_id=updates[0].identifier)
    assert event.status == InboundEvent.Status.PROCESSED
    assert list(feature.tags.values_list("name", flat=True)) == ["retried"]
    assert SyncLogEntry.objects.filter(record=feature, message__contains="retried").count() == 1


def test_an_older_delivery_after_a_newer_one_changes_nothing(relayed, emulator, worker):
    """Two edits in Jira arrive newest first: the newer is applied; the older, processed after
    it, is marked stale and writes nothing (name and updated_at unchanged); both stored once."""
    integration, relay = relayed
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Order")
    wait_settled(emulator, integration, worker, "the creation event")
    feature = make_linked_record(integration, "feature", story["id"], story["key"])
    relay.hold = True
    emulator.update_issue(story["key"], {"summary": "First"})
    time.sleep(0.01)  # not an assertion: two edits a few ms apart have distinct timestamps
    emulator.update_issue(story["key"], {"summary": "Second"})
    assert emulator.wait_for_webhooks(10)
    updates = [
        (body, headers)
        for body, headers in relay.held
        if json.loads(body)["webhookEvent"] == "jira:issue_updated"
    ]
    older, newer = sorted(updates, key=lambda held: json.loads(held[0])["timestamp"])
    assert json.loads(older[0])["timestamp"] < json.loads(newer[0])["timestamp"]

    assert relay.forward(*newer).status_code == 202
    wait_for(
        lambda: Record.objects.get(pk=feature.pk).name == "Second", "the newer edit", worker=worker
    )
    wait_settled(emulator, integration, worker, "the newer event")
    updated_at = Record.objects.get(pk=feature.pk).updated_at

    assert relay.forward(*older).status_code == 202
    older_id = older[1]["X-Atlassian-Webhook-Identifier"]
    wait_for(
        lambda: InboundEvent.objects.get(delivery_id=older_id).status != "received",
        "the older event to be processed",
        worker=worker,
    )
    assert InboundEvent.objects.get(delivery_id=older_id).status == InboundEvent.Status.STALE
    assert Record.objects.get(pk=feature.pk).name == "Second"
    assert Record.objects.get(pk=feature.pk).updated_at == updated_at
    assert InboundEvent.objects.filter(event_type="jira:issue_updated").count() == 2
