"""Both sides converge after any mix of edits and faults (issue 8, section 5).

A hypothesis state machine edits records here (releases, epics, features, record links) and
issues and versions in Jira (the emulator, over real HTTP), interleaved with faults: 429 with
Retry-After, 500, a connection dropped before the write, an answer lost after the write was
applied, a worker killed right after Jira applied its write, JQL search lagging behind
writes, and webhook deliveries duplicated, late and reordered. Between steps, a worker runs
some of the waiting tasks in any order (or runs one again, as a redelivered message does).

After the steps it drains everything (the webhooks, then every waiting event and outbox row,
as the broker's redelivery and the beat sweep would) and asserts:

- every linked pair agrees on the mapped fields (name, status, release, epic, released);
- no Jira issue, version or issue link exists twice (every issue and every version the sync
  made is linked to exactly one record);
- no record link is lost, and record links and Jira issue links mirror each other;
- no inbound event or outbox row is left unfinished.

How the test stands in for the worker: it calls the worker's task functions in-process, in
the test's transaction (on-commit hand-offs never fire, so the test plays the broker and the
sweep: it runs every waiting row, marking retries due as if their countdown had run out).
Webhooks reach the real intake view through a relay: the emulator POSTs them over HTTP to a
local receiver; the test forwards each, byte for byte with its headers, to the intake.
A worker crash raises :class:`WorkerCrash` (a BaseException: nothing in the worker catches
it) in the worker's thread the moment Jira has applied its write; the task's open
transaction rolls back, what it committed before stays, as when a process is killed.

The CI run is bounded: fixed seeds, tens of examples (CONVERGENCE_EXAMPLES, CONVERGENCE_STEPS,
CONVERGENCE_SEEDS to change them; bench/convergence_soak.py runs it long).
"""

from __future__ import annotations

import ctypes
import json
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    rule,
)

from integrations.models import RelationshipMapping
from integrations.services.relationships import relationship_mapping_add
from jira_emulator.store import STATUS_BY_ID
from records.models import Record, RecordLink
from records.services import record_create, record_link_create, record_link_delete, record_update
from records.workflows import statuses_for
from sync.events import HANDLED_EVENT_TYPES
from sync.models import (
    BulkSendJob,
    ImportCandidate,
    InboundEvent,
    JiraLink,
    OutboxEntry,
    SyncLogEntry,
)
from sync.services.bulk import bulk_send_start
from sync.tasks import bulk_send, process_inbound_event, process_outbox_entry
from tests.factories import make_workspace

from .conftest import make_enabled_integration

# What the product registers in Jira: the intake's one table of handled events.
WEBHOOK_EVENTS = list(HANDLED_EVENT_TYPES)
# Record link types mapped for features, and their Jira twins (name, symmetric).
LINK_TYPES = {"blocks": ("Blocks", False), "relates_to": ("Relates", True)}
JIRA_LINK_TYPE_IDS = {"Blocks": "10000", "Relates": "10003"}
FEATURE_STATUSES = ["not_started", "in_development", "shipped"]
JIRA_TRANSITIONS = ["To Do", "In Progress", "Done"]
JIRA_CATEGORY = {"new": "todo", "indeterminate": "in_progress", "done": "done"}
# A search lag the sync must live with (Jira Cloud: usually seconds).
SEARCH_LAGS = [0.0, 0.3, 0.8]
MAX_DRAIN_ROUNDS = 40
# The first rounds of the final drain run with the faults still queued.
FAULTY_DRAIN_ROUNDS = 2

STATS: Counter[str] = Counter()  # examples, steps, faults by kind, divergences (the soak reads it)


class WorkerCrash(BaseException):
    """The worker process died: raised in its thread, caught only by the test."""


def _pick(data, items: list) -> Any:
    """One of ``items`` (None if empty). Always draws the same way, whatever the list: what
    the sync has done by now depends on timing, and hypothesis wants the same draws."""
    index = data.draw(st.integers(0, 2**16))
    return items[index % len(items)] if items else None


def _pick_two(data, items: list) -> tuple[Any, Any]:
    """Two different items of ``items`` (Nones if fewer than two)."""
    first, second = data.draw(st.integers(0, 2**16)), data.draw(st.integers(0, 2**16))
    if len(items) < 2:
        return None, None
    one = first % len(items)
    other = (one + 1 + second % (len(items) - 1)) % len(items)
    return items[one], items[other]


def _fault_kind(fault) -> str | None:
    """How a queued API fault is counted (a worker crash is counted when it happens)."""
    if fault.then is not None:
        return None
    if fault.lose_answer:
        return "lost answer"
    if fault.drop_connection:
        return "drop"
    return str(fault.status)


def _webhook_fault_kind(fault) -> str:
    return "webhook duplicated" if fault.duplicate else "webhook late"


def _crash_thread(thread_id: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(WorkerCrash)
    )


# -- the webhook relay: emulator -> HTTP -> here -> the intake view ------------------------------


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes


@dataclass
class Relay:
    url: str = ""
    received: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> list[Delivery]:
        with self.lock:
            out, self.received = self.received, []
        return out


@pytest.fixture(scope="module")
def relay():
    state = Relay()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.received.append(Delivery(dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


# -- the machine ---------------------------------------------------------------------------------

_names = count(1)


class Convergence(RuleBasedStateMachine):
    """One example: a fresh workspace and integration on a freshly reset emulator."""

    emulator: Any = None
    relay: Relay | None = None

    def __init__(self) -> None:
        super().__init__()
        emu = self.emulator
        emu.reset()
        emu.webhook_retry_delays = [0.05, 0.1]
        emu.webhook_timeout = 2.0
        self.relay.take()
        self.workspace = make_workspace()
        self.integration = make_enabled_integration(self.workspace, emu)
        for link_type, (jira_name, _) in LINK_TYPES.items():
            if RelationshipMapping.objects.filter(
                integration=self.integration, record_kind="feature", link_type=link_type
            ).exists():
                continue  # the recommended defaults map it already
            relationship_mapping_add(
                integration=self.integration,
                record_kind="feature",
                link_type=link_type,
                jira_link_type_id=JIRA_LINK_TYPE_IDS[jira_name],
            )
        emu.add_webhook(
            self.relay.url, events=WEBHOOK_EVENTS, secret=self.integration.get_webhook_secret()
        )
        self.client = Client()
        self.intake = f"/webhooks/jira/{self.integration.webhook_token}/"
        self.thread_id = threading.get_ident()
        # Record links that must exist at the end, as (type, source pk, target pk); the
        # symmetric type is kept with the smaller pk first.
        self.expected_links: set[tuple[str, int, int]] = set()
        self.jira_versions: set[int] = set()  # versions made in Jira by a step
        self.unlinked_by_jira: set[int] = set()  # releases whose version Jira deleted
        self.crashes = 0
        self.replay = current_build_context().is_final
        self._count("examples", 1)

    # -- helpers ------------------------------------------------------------------------------

    def _records(self, kind: str) -> list[Record]:
        return list(Record.objects.filter(workspace=self.workspace, kind=kind).order_by("pk"))

    def _linked(self, kind: str) -> list[JiraLink]:
        return list(
            JiraLink.objects.filter(integration=self.integration, record__kind=kind)
            .select_related("record")
            .order_by("pk")
        )

    def _live_issue(self, link: JiraLink):
        with self.emulator.state.lock:
            return self.emulator.state.issues.get(int(link.jira_id))

    def _live_version(self, link: JiraLink):
        with self.emulator.state.lock:
            return self.emulator.state.versions.get(int(link.jira_id))

    @staticmethod
    def _link_key(link_type: str, source: int, target: int) -> tuple[str, int, int]:
        if LINK_TYPES[link_type][1]:
            source, target = sorted((source, target))
        return link_type, source, target

    def _count(self, key: str, n: int = 1) -> None:
        # Hypothesis runs a failing example once more to report it: count it once.
        if not self.replay:
            STATS[key] += n

    def _step(self) -> None:
        self._count("steps", 1)

    def _fault(self, kind: str) -> None:
        self._count(f"fault: {kind}", 1)

    # -- steps here -----------------------------------------------------------------------------

    @initialize()
    def start_with_a_release(self) -> None:
        record_create(workspace=self.workspace, kind="release", name=f"R{next(_names)}")

    @rule()
    def create_release(self) -> None:
        self._step()
        record_create(workspace=self.workspace, kind="release", name=f"R{next(_names)}")

    @rule(data=st.data())
    def create_epic(self, data) -> None:
        self._step()
        release = _pick(data, [None, *self._records("release")])
        record_create(
            workspace=self.workspace, kind="epic", name=f"E{next(_names)}", release=release
        )

    @rule(data=st.data())
    def create_feature(self, data) -> None:
        self._step()
        release = _pick(data, [None, *self._records("release")])
        epic = _pick(data, [None, *self._records("epic")])
        record_create(
            workspace=self.workspace,
            kind="feature",
            name=f"F{next(_names)}",
            release=release,
            epic=epic,
        )

    @rule(data=st.data(), kind=st.sampled_from(["release", "epic", "feature"]))
    def rename_record(self, data, kind) -> None:
        records = self._records(kind)
        if records:
            self._step()
            record = _pick(data, records)
            record_update(record=record, name=f"{kind[0].upper()}{next(_names)}")

    @rule(data=st.data())
    def move_feature(self, data) -> None:
        features = self._records("feature")
        if features:
            self._step()
            feature = _pick(data, features)
            release = _pick(data, [None, *self._records("release")])
            epic = _pick(data, [None, *self._records("epic")])
            record_update(record=feature, release=release, epic=epic)

    @rule(data=st.data())
    def move_epic(self, data) -> None:
        epics = self._records("epic")
        if epics:
            self._step()
            epic = _pick(data, epics)
            release = _pick(data, [None, *self._records("release")])
            record_update(record=epic, release=release)

    @rule(data=st.data(), status=st.sampled_from(FEATURE_STATUSES))
    def set_feature_status(self, data, status) -> None:
        features = self._records("feature")
        if features:
            self._step()
            record_update(record=_pick(data, features), status=status)

    @rule(data=st.data(), released=st.booleans())
    def set_release_status(self, data, released) -> None:
        releases = self._records("release")
        if releases:
            self._step()
            status = "released" if released else "planned"
            record_update(record=_pick(data, releases), status=status)

    @rule(data=st.data(), link_type=st.sampled_from(sorted(LINK_TYPES)))
    def add_record_link(self, data, link_type) -> None:
        features = self._records("feature")
        if len(features) < 2:
            return
        source, target = _pick_two(data, features)
        key = self._link_key(link_type, source.pk, target.pk)
        if (
            key in self.expected_links
            or RecordLink.objects.filter(link_type=link_type, source=source, target=target).exists()
        ):
            return
        if (
            LINK_TYPES[link_type][1]
            and RecordLink.objects.filter(
                link_type=link_type, source=target, target=source
            ).exists()
        ):
            return
        self._step()
        record_link_create(source=source, target=target, link_type=link_type)
        self.expected_links.add(key)

    @rule(data=st.data())
    def remove_record_link(self, data) -> None:
        links = list(
            RecordLink.objects.filter(workspace_id=self.workspace.pk, link_type__in=LINK_TYPES)
            .select_related("source", "target")
            .order_by("pk")
        )
        if links:
            self._step()
            link = _pick(data, links)
            self.expected_links.discard(
                self._link_key(link.link_type, link.source_id, link.target_id)
            )
            record_link_delete(link=link)

    @rule()
    def send_all(self) -> None:
        """Send all (the Enable step's button): a job a worker runs like any task."""
        if not BulkSendJob.objects.filter(
            integration=self.integration, status=BulkSendJob.Status.RUNNING
        ).exists():
            self._step()
            bulk_send_start(integration=self.integration)

    # -- steps in Jira (an engineer edits Jira; only issues and versions the sync made) ------

    @rule(data=st.data(), kind=st.sampled_from(["epic", "feature"]))
    def jira_rename_issue(self, data, kind) -> None:
        link = _pick(data, self._linked(kind))
        if link is not None and self._live_issue(link) is not None:
            self._step()
            self.emulator.update_issue(
                link.jira_key, fields={"summary": f"{kind[0].upper()}{next(_names)}"}
            )

    @rule(data=st.data(), to=st.sampled_from(JIRA_TRANSITIONS))
    def jira_transition_issue(self, data, to) -> None:
        link = _pick(data, self._linked("feature"))
        if link is not None and self._live_issue(link) is not None:
            self._step()
            self.emulator.transition_issue(link.jira_key, to)

    @rule(data=st.data())
    def jira_move_issue(self, data) -> None:
        """Another fix version (or none) and another epic (or none) for a feature's issue."""
        link = _pick(data, self._linked("feature"))
        versions = [v for v in self._linked("release") if self._live_version(v) is not None]
        epics = [e for e in self._linked("epic") if self._live_issue(e) is not None]
        version = _pick(data, [None, *versions])
        epic = _pick(data, [None, *epics])
        if link is None or self._live_issue(link) is None:
            return
        self._step()
        self.emulator.update_issue(
            link.jira_key,
            fields={
                "fixVersions": [{"id": version.jira_id}] if version else [],
                "parent": {"key": epic.jira_key} if epic else None,
            },
        )

    @rule(data=st.data(), jira_name=st.sampled_from(["Blocks", "Relates"]))
    def jira_link_issues(self, data, jira_name) -> None:
        links = [f for f in self._linked("feature") if self._live_issue(f) is not None]
        inward, outward = _pick_two(data, links)
        if inward is None:
            return
        state = self.emulator.state
        with state.lock:
            ids = {int(inward.jira_id), int(outward.jira_id)}
            if any({ln.source_id, ln.dest_id} == ids for ln in state.links.values()):
                return  # one link per pair keeps the model simple
        self._step()
        self.emulator.link_issues(jira_name, inward.jira_key, outward.jira_key)
        link_type = next(k for k, (name, _) in LINK_TYPES.items() if name == jira_name)
        self.expected_links.add(self._link_key(link_type, inward.record_id, outward.record_id))

    @rule(data=st.data())
    def jira_unlink_issues(self, data) -> None:
        by_issue = {int(f.jira_id): f.record_id for f in self._linked("feature")}
        state = self.emulator.state
        with state.lock:
            links = sorted(
                (ln.id, ln.type_id, ln.source_id, ln.dest_id)
                for ln in state.links.values()
                if ln.source_id in by_issue and ln.dest_id in by_issue
            )
        picked = _pick(data, links)
        if picked is None:
            return
        link_id, type_id, source, dest = picked
        self._step()
        self.emulator.delete_link(link_id)
        jira_name = next(n for n, i in JIRA_LINK_TYPE_IDS.items() if i == type_id)
        link_type = next(k for k, (name, _) in LINK_TYPES.items() if name == jira_name)
        self.expected_links.discard(self._link_key(link_type, by_issue[source], by_issue[dest]))

    @rule()
    def jira_create_version(self) -> None:
        self._step()
        version = self.emulator.create_version("DEMO", f"J{next(_names)}")
        self.jira_versions.add(int(version["id"]))

    @rule(data=st.data(), released=st.booleans(), rename=st.booleans())
    def jira_edit_version(self, data, released, rename) -> None:
        links = [v for v in self._linked("release") if self._live_version(v) is not None]
        link = _pick(data, links)
        if link is not None:
            self._step()
            changes: dict[str, Any] = {"released": released}
            if rename:
                changes["name"] = f"R{next(_names)}"
            self.emulator.update_version(link.jira_id, **changes)

    @rule(data=st.data())
    def jira_delete_version(self, data) -> None:
        links = [v for v in self._linked("release") if self._live_version(v) is not None]
        link = _pick(data, links)
        if link is not None:
            self._step()
            self.emulator.delete_version(link.jira_id)
            # The release stays here, no longer linked (until it is sent again).
            self.unlinked_by_jira.add(link.record_id)

    # -- faults ---------------------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(["429", "500", "drop", "lost answer"]),
        method=st.sampled_from([None, "GET", "POST", "PUT", "DELETE"]),
    )
    def fault_http(self, kind, method) -> None:
        """The next request (of that method) fails."""
        faults = self.emulator.faults
        self._fault(kind)
        if kind == "429":
            faults.queue(status=429, retry_after=1, method=method)
        elif kind == "500":
            faults.queue(status=500, method=method)
        elif kind == "drop":
            faults.queue(drop_connection=True, method=method)
        else:
            # A lost answer matters for a write; a read's is only a dropped connection.
            faults.queue(lose_answer=True, method=method if method != "GET" else "POST")

    @rule(method=st.sampled_from(["POST", "POST", "PUT", "DELETE"]))
    def fault_worker_crash(self, method) -> None:
        """The worker dies the moment Jira has applied its next write."""
        thread_id = self.thread_id
        self.emulator.faults.queue(
            lose_answer=True, method=method, then=lambda: _crash_thread(thread_id)
        )

    @rule(lag=st.sampled_from(SEARCH_LAGS))
    def fault_search_lag(self, lag) -> None:
        self.emulator.faults.search_lag_seconds = lag
        if lag:
            self._fault("search lag")

    @rule(duplicate=st.booleans(), n=st.integers(1, 3))
    def fault_webhooks(self, duplicate, n) -> None:
        """The next deliveries come twice, or late (overtaken by later ones)."""
        if duplicate:
            self.emulator.faults.queue_webhook(duplicate=True, count=n)
        else:
            self.emulator.faults.queue_webhook(delay=0.15, count=n)
        self._count(f"fault: webhook {'duplicated' if duplicate else 'late'}", n)

    @rule()
    def hold_webhooks(self) -> None:
        """Deliveries wait from now on, to be released shuffled."""
        self.emulator.faults.hold_webhooks = True

    @rule(rng=st.randoms(use_true_random=False))
    def release_webhooks(self, rng) -> None:
        self.emulator.faults.hold_webhooks = False
        if self.emulator.release_webhooks(rng=rng) > 1:
            self._fault("webhooks reordered")

    # -- the worker between steps -------------------------------------------------------------

    @rule(data=st.data())
    def worker_runs_some(self, data) -> None:
        """Deliver what arrived, then run a few waiting tasks in any order, some twice."""
        self._relay()
        tasks = self._waiting_tasks()
        for _ in range(data.draw(st.integers(0, 6))):
            task = _pick(data, tasks)
            if task is not None:
                self._run(task)

    @rule(data=st.data())
    def redeliver_a_done_task(self, data) -> None:
        """A message delivered again after its task finished (acks_late + a crash)."""
        done = list(
            OutboxEntry.objects.filter(
                integration=self.integration, status=OutboxEntry.Status.SENT
            ).values_list("pk", flat=True)[:20]
        )
        events = list(
            InboundEvent.objects.filter(integration=self.integration)
            .exclude(status=InboundEvent.Status.RECEIVED)
            .values_list("pk", flat=True)[:20]
        )
        task = _pick(data, [("outbox", pk) for pk in done] + [("inbound", pk) for pk in events])
        if task is not None:
            self._fault("message redelivered")
            self._run(task)

    # -- running tasks ----------------------------------------------------------------------------

    def _relay(self) -> None:
        self.emulator.wait_for_webhooks(timeout=10)
        for delivery in self.relay.take():
            headers = {
                "HTTP_" + name.upper().replace("-", "_"): value
                for name, value in delivery.headers.items()
                if name.lower().startswith("x-")
            }
            resp = self.client.post(
                self.intake, data=delivery.body, content_type="application/json", **headers
            )
            assert resp.status_code < 300, (resp.status_code, resp.content[:300])
            if delivery.headers.get("X-Atlassian-Webhook-Retry"):
                self._fault("webhook retried")

    def _waiting_tasks(self) -> list[tuple[str, int]]:
        now = timezone.now()
        # Time passes: a retry's countdown has run out (its message, or the sweep, comes).
        OutboxEntry.objects.filter(
            integration=self.integration,
            status=OutboxEntry.Status.PENDING,
            next_attempt_at__isnull=False,
        ).update(next_attempt_at=now - timedelta(seconds=1))
        InboundEvent.objects.filter(
            integration=self.integration,
            status=InboundEvent.Status.RECEIVED,
            next_attempt_at__isnull=False,
        ).update(next_attempt_at=now - timedelta(seconds=1))
        outbox = OutboxEntry.objects.filter(
            integration=self.integration, status=OutboxEntry.Status.PENDING
        ).values_list("pk", flat=True)
        inbound = InboundEvent.objects.filter(
            integration=self.integration, status=InboundEvent.Status.RECEIVED
        ).values_list("pk", flat=True)
        jobs = BulkSendJob.objects.filter(
            integration=self.integration, status=BulkSendJob.Status.RUNNING
        ).values_list("pk", flat=True)
        return (
            [("inbound", pk) for pk in inbound]
            + [("outbox", pk) for pk in outbox]
            + [("send all", pk) for pk in jobs]
        )

    def _run(self, task: tuple[str, int]) -> None:
        kind, pk = task
        try:
            if kind == "outbox":
                process_outbox_entry(pk)
            elif kind == "send all":
                bulk_send(pk)
            else:
                process_inbound_event(pk)
        except WorkerCrash:
            self.crashes += 1
            self._fault("worker crash")

    def _drain(self) -> None:
        emu = self.emulator
        emu.faults.hold_webhooks = False
        emu.release_webhooks()
        for round_number in range(MAX_DRAIN_ROUNDS):
            if round_number == FAULTY_DRAIN_ROUNDS:
                self._disarm_faults()
            assert emu.wait_for_webhooks(timeout=10), "the emulator's webhooks never drained"
            self._relay()
            tasks = self._waiting_tasks()
            if not tasks and round_number >= FAULTY_DRAIN_ROUNDS:
                emu.wait_for_webhooks(timeout=10)
                if not self.relay.received:
                    return
                continue
            for task in tasks:
                self._run(task)
        raise AssertionError(f"still not settled after {MAX_DRAIN_ROUNDS} rounds")

    def _disarm_faults(self) -> None:
        """Faults still queued never met their request: they did not happen."""
        faults = self.emulator.faults
        while (fault := faults.take()) is not None:
            if _fault_kind(fault):
                self._count(f"fault: {_fault_kind(fault)}", -1)
        while (hook_fault := faults.take_webhook()) is not None:
            self._count(f"fault: {_webhook_fault_kind(hook_fault)}", -1)

    # -- after the steps: drain, then the sides must agree -------------------------------------

    def teardown(self) -> None:
        try:
            self._drain()
            self._check_finished()
            self._check_no_duplicates()
            self._check_pairs_agree()
            self._check_links()
        except AssertionError as exc:
            self._count("divergences", 1)
            exc.add_note(self._journal())
            raise
        finally:
            self.emulator.faults.clear()

    def _journal(self) -> str:
        """What happened, for a failure's report: the sync log and the Jira calls, in order."""
        log = [
            f"  {e.level} {e.action} {e.jira_key}: {e.message}"
            for e in SyncLogEntry.objects.filter(integration=self.integration).order_by("pk")
        ]
        calls = [
            f"  {method} {path} {json.dumps(body)[:160] if body else ''} -> {status}"
            for method, path, _query, body, status in self.emulator.requests_log
            if method != "GET"
        ]
        records = [
            f"  {r.pk} {r.kind} {r.name} status={r.status} release={r.release_id} epic={r.epic_id}"
            for r in Record.objects.filter(workspace=self.workspace).order_by("pk")
        ]
        return "\n".join(["sync log:", *log, "Jira writes:", *calls, "records:", *records])

    def _check_finished(self) -> None:
        rows = OutboxEntry.objects.filter(integration=self.integration)
        finished = [OutboxEntry.Status.SENT, OutboxEntry.Status.DISCARDED]
        left = list(
            rows.exclude(status__in=[*finished, OutboxEntry.Status.FAILED]).values_list(
                "pk", "action", "status", "last_error"
            )
        )
        assert not left, f"outbox rows left unfinished: {left}"
        # A failed row is finished (it waits in the sync log with Retry). One for a record
        # that reached Jira since and agrees (checked below) lost nothing: Jira refused a
        # value that was already stale (a version deleted in Jira a moment before, say).
        linked = JiraLink.objects.filter(integration=self.integration).values("record_id")
        failed = rows.filter(status=OutboxEntry.Status.FAILED)
        lost = list(
            failed.exclude(action=OutboxEntry.Action.SEND_RECORD, record_id__in=linked).values_list(
                "pk", "action", "last_error"
            )
        )
        assert not lost, f"outbox rows failed, their change lost: {lost}"
        self._count("failed rows superseded by a later send", failed.count())
        events = list(
            InboundEvent.objects.filter(integration=self.integration)
            .filter(status__in=[InboundEvent.Status.RECEIVED, InboundEvent.Status.FAILED])
            .values_list("pk", "event_type", "status", "last_error")
        )
        assert not events, f"inbound events left unfinished: {events}"
        jobs = list(
            BulkSendJob.objects.filter(integration=self.integration)
            .exclude(status=BulkSendJob.Status.FINISHED)
            .values_list("pk", "status", "summary")
        )
        assert not jobs, f"send all jobs left unfinished: {jobs}"
        state = self.emulator.state
        with state.lock:
            # A version's candidate is kept as "version:<id>" (Jira numbers both from one range).
            alive = {str(i) for i in state.issues} | {f"version:{v}" for v in state.versions}
        ghosts = list(
            ImportCandidate.objects.filter(
                integration=self.integration, status=ImportCandidate.Status.PENDING
            )
            .exclude(jira_id__in=alive)
            .values_list("jira_key", "summary")
        )
        assert not ghosts, f"import candidates for what Jira deleted: {ghosts}"

    def _check_no_duplicates(self) -> None:
        state = self.emulator.state
        issue_links = JiraLink.objects.filter(
            integration=self.integration, jira_kind=JiraLink.JiraKind.ISSUE
        )
        version_links = JiraLink.objects.filter(
            integration=self.integration, jira_kind=JiraLink.JiraKind.VERSION
        )
        with state.lock:
            issues = {i.id: (i.key, i.summary, i.labels) for i in state.issues.values()}
            versions = {v.id: v.name for v in state.versions.values()}
            links = [(ln.type_id, ln.source_id, ln.dest_id) for ln in state.links.values()]
        linked = Counter(int(j) for j in issue_links.values_list("jira_id", flat=True))
        assert set(linked) <= set(issues), (
            f"links to issues Jira lacks: {set(linked) - set(issues)}"
        )
        orphans = {i: issues[i] for i in set(issues) - set(linked)}
        assert not orphans, f"Jira issues no record is linked to (duplicates?): {orphans}"
        linked_versions = {int(j) for j in version_links.values_list("jira_id", flat=True)}
        orphan_versions = {
            v: versions[v] for v in set(versions) - linked_versions - self.jira_versions
        }
        assert not orphan_versions, f"Jira versions made twice: {orphan_versions}"
        pairs = Counter(
            (type_id, *sorted((s, d)))
            if type_id == JIRA_LINK_TYPE_IDS["Relates"]
            else (
                type_id,
                s,
                d,
            )
            for type_id, s, d in links
        )
        twice = [p for p, n in pairs.items() if n > 1]
        assert not twice, f"Jira issue links made twice: {twice}"

    def _check_pairs_agree(self) -> None:
        state = self.emulator.state
        links = list(JiraLink.objects.filter(integration=self.integration).select_related("record"))
        by_record = {link.record_id: link for link in links}
        wrong: list[str] = []
        for link in links:
            record = link.record
            if link.jira_kind == JiraLink.JiraKind.VERSION:
                version = self._live_version(link)
                if version is None:
                    wrong.append(f"{record.name}: linked to version {link.jira_id}, deleted")
                    continue
                released = record.status == "released"
                if (version.name, version.released) != (record.name, released):
                    wrong.append(
                        f"release {record.name}/{record.status} vs version "
                        f"{version.name}/released={version.released}"
                    )
                continue
            issue = self._live_issue(link)
            if issue is None:
                wrong.append(f"{record.name}: linked to issue {link.jira_key}, deleted")
                continue
            with state.lock:
                category = JIRA_CATEGORY[STATUS_BY_ID[issue.status_id].category]
                fix_versions = sorted(issue.fix_versions)
                parent = issue.parent_id
            ours = next(s.category for s in statuses_for(record.kind) if s.key == record.status)
            release_link = by_record.get(record.release_id)
            expected_versions = [int(release_link.jira_id)] if release_link else []
            if record.name != issue.summary:
                wrong.append(f"{issue.key}: name {record.name!r} vs summary {issue.summary!r}")
            if ours != category:
                wrong.append(f"{issue.key}: status {record.status} vs Jira category {category}")
            if fix_versions != expected_versions:
                wrong.append(
                    f"{issue.key}: release {record.release_id} ({expected_versions}) vs "
                    f"fixVersions {fix_versions}"
                )
            if record.kind == "feature":
                epic_link = by_record.get(record.epic_id)
                expected_parent = int(epic_link.jira_id) if epic_link else None
                if parent != expected_parent:
                    wrong.append(
                        f"{issue.key}: epic {record.epic_id} ({expected_parent}) vs parent {parent}"
                    )
        # Every record is in Jira at the end (none was left behind by a fault).
        unlinked = list(
            Record.objects.filter(workspace=self.workspace)
            .exclude(pk__in=by_record)
            .exclude(pk__in=self.unlinked_by_jira)
            .values_list("kind", "name")
        )
        if unlinked:
            wrong.append(f"records never sent: {unlinked}")
        assert not wrong, "pairs disagree:\n" + "\n".join(wrong)

    def _check_links(self) -> None:
        here = {
            self._link_key(t, s, d)
            for t, s, d in RecordLink.objects.filter(
                workspace_id=self.workspace.pk, link_type__in=LINK_TYPES
            ).values_list("link_type", "source_id", "target_id")
        }
        lost = self.expected_links - here
        assert not lost, f"record links lost: {sorted(lost)}"
        extra = here - self.expected_links
        assert not extra, f"record links nobody made: {sorted(extra)}"
        by_issue = {
            int(j.jira_id): j.record_id
            for j in JiraLink.objects.filter(
                integration=self.integration, jira_kind=JiraLink.JiraKind.ISSUE
            )
        }
        state = self.emulator.state
        with state.lock:
            jira = set()
            for ln in state.links.values():
                jira_name = next(n for n, i in JIRA_LINK_TYPE_IDS.items() if i == ln.type_id)
                link_type = next(k for k, (name, _) in LINK_TYPES.items() if name == jira_name)
                jira.add(
                    self._link_key(
                        link_type, by_issue.get(ln.source_id, -1), by_issue.get(ln.dest_id, -1)
                    )
                )
        assert here == jira, f"record links {sorted(here)} vs Jira links {sorted(jira)}"


# -- the test --------------------------------------------------------------------------------------


def _seeds() -> list[int]:
    raw = os.environ.get("CONVERGENCE_SEEDS", "")
    return [int(s) for s in raw.split(",") if s.strip()] or [1, 2]


def run_convergence(emulator, relay, *, seeds, examples, steps, keep_going=False) -> list[str]:
    """Run the machine for each seed; returns the failures (raises the first unless
    ``keep_going``)."""
    Convergence.emulator = emulator
    Convergence.relay = relay
    phases = [Phase.explicit, Phase.generate]
    if os.environ.get("CONVERGENCE_SHRINK"):
        phases.append(Phase.shrink)
    failures = []
    for one in seeds:
        config = settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
        )
        try:
            seed(one)(get_state_machine_test(Convergence, settings=config))()
        except Exception as exc:  # an assertion, or hypothesis's Flaky wrapping one
            notes = "\n".join(getattr(exc, "__notes__", []))
            failures.append(f"seed {one}: {exc}\n{notes}")
            if not keep_going:
                raise
    return failures


@pytest.mark.django_db
def test_both_sides_converge_after_random_edits_and_faults(emulator, relay):
    STATS.clear()
    examples = int(os.environ.get("CONVERGENCE_EXAMPLES", "10"))
    steps = int(os.environ.get("CONVERGENCE_STEPS", "30"))
    keep_going = bool(os.environ.get("CONVERGENCE_KEEP_GOING"))
    try:
        failures = run_convergence(
            emulator,
            relay,
            seeds=_seeds(),
            examples=examples,
            steps=steps,
            keep_going=keep_going,
        )
    finally:
        out = os.environ.get("CONVERGENCE_STATS")
        if out:
            with open(out, "w") as fh:
                json.dump(dict(STATS), fh, indent=1, sort_keys=True)
    assert not failures, "\n\n".join(failures)
    assert STATS["examples"] >= examples
