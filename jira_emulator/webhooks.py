"""Outgoing webhook deliveries, sent over real HTTP from a background thread.

Mirrors Jira Cloud's delivery contract (shared/jira/README.md):

* ``POST`` with a JSON body, ``User-Agent: Atlassian Webhook HTTP Client``;
* ``X-Atlassian-Webhook-Identifier`` unique per delivery and the SAME on
  every retry; ``X-Atlassian-Webhook-Retry: <n>`` on retries;
* ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`` when the
  webhook has a secret;
* retries on 408, 409, 425, 429, 5xx, timeouts and connection errors.

Jira retries for up to ~30 minutes; the emulator uses a short, configurable
schedule (``retry_delays``). Pending retries do not block later deliveries, so
deliveries can arrive out of order, as they do from Jira.

Faults (``Faults.queue_webhook``, ``Faults.hold_webhooks``) make deliveries come
twice with the same identifier, late, or held and then released in any order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from .store import Webhook

if TYPE_CHECKING:
    from .server import Faults

RETRY_STATUSES = {408, 409, 425, 429}
USER_AGENT = "Atlassian Webhook HTTP Client"


@dataclass
class WebhookDelivery:
    """One attempt to deliver one event. Supports ``d.event`` and ``d["event"]``."""

    url: str
    event: str
    identifier: str
    attempt: int  # 1 for the first try; the retry header carries attempt - 1
    status: int | None = None
    error: str | None = None
    webhook_id: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    hook: Webhook = field(compare=False)
    event: str = field(compare=False)
    body: bytes = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    identifier: str = field(compare=False)
    attempt: int = field(compare=False, default=1)


class WebhookSender:
    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults
        self._held: list[_Job] = []
        self.retry_delays: list[float] = [0.2, 0.5, 1.0]
        self.timeout: float = 5.0
        self.deliveries: list[WebhookDelivery] = []
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def start(self) -> None:
        with self._cond:
            if self._thread and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="jira-emulator-webhooks", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=5)
        self._session.close()

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self._held.clear()
            self.deliveries.clear()
            self._cond.notify_all()

    def enqueue(self, hook: Webhook, payload: dict[str, Any]) -> None:
        """Serialise now (the body is fixed across retries) and queue the first attempt."""
        body = json.dumps(payload).encode()
        job = _Job(
            time.monotonic(),
            next(self._seq),
            hook,
            payload["webhookEvent"],
            body,
            payload,
            str(uuid.uuid4()),
        )
        fault = self.faults.take_webhook() if self.faults is not None else None
        jobs = [job]
        if fault is not None:
            job.due += fault.delay
            if fault.duplicate:
                # The same delivery again: same identifier, same body, same headers.
                jobs.append(dataclasses.replace(job, seq=next(self._seq)))
        with self._cond:
            for one in jobs:
                if self.faults is not None and self.faults.hold_webhooks:
                    self._held.append(one)
                else:
                    heapq.heappush(self._heap, one)
            self._cond.notify_all()

    @property
    def held(self) -> int:
        with self._cond:
            return len(self._held)

    def release(self, order: Callable[[list[_Job]], list[_Job]] | None = None) -> int:
        """Send the held deliveries now, in ``order(held)`` (default: as queued)."""
        with self._cond:
            jobs = order(list(self._held)) if order else list(self._held)
            self._held.clear()
            now = time.monotonic()
            for job in jobs:
                job.due = now
                job.seq = next(self._seq)
                heapq.heappush(self._heap, job)
            self._cond.notify_all()
            return len(jobs)

    def wait(self, timeout: float = 5.0) -> bool:
        """Block until nothing is queued or in flight (retries included)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    if self._heap:
                        wait = self._heap[0].due - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._stopping:
                    return
                job = heapq.heappop(self._heap)
                self._in_flight += 1
            try:
                self._attempt(job)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _attempt(self, job: _Job) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Atlassian-Webhook-Identifier": job.identifier,
        }
        if job.attempt > 1:
            headers["X-Atlassian-Webhook-Retry"] = str(job.attempt - 1)
        if job.hook.secret:
            digest = hmac.new(job.hook.secret.encode(), job.body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        record = WebhookDelivery(
            url=job.hook.url,
            event=job.event,
            identifier=job.identifier,
            attempt=job.attempt,
            webhook_id=job.hook.id,
            headers=headers,
            payload=job.payload,
        )
        retry = False
        try:
            resp = self._session.post(
                job.hook.url, data=job.body, headers=headers, timeout=self.timeout
            )
            record.status = resp.status_code
            retry = resp.status_code in RETRY_STATUSES or resp.status_code >= 500
        except requests.RequestException as exc:  # timeouts and connection errors
            record.error = f"{type(exc).__name__}: {exc}"
            retry = True
        with self._cond:
            self.deliveries.append(record)
            if retry and job.attempt <= len(self.retry_delays) and not self._stopping:
                job.due = time.monotonic() + self.retry_delays[job.attempt - 1]
                job.attempt += 1
                job.seq = next(self._seq)
                heapq.heappush(self._heap, job)
