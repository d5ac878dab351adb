"""Memory of a real Celery worker process over 100,000 inbound events: does it grow?

    .venv/bin/python bench/worker_memory.py [--events 100000] [--linked-every 10]

One worker (prefork, concurrency 1, no max-tasks-per-child) on PostgreSQL + Redis. The events
are jira:issue_updated deliveries shaped from a real emulator payload, stored as InboundEvents
the way the intake stores them and handed to the worker through Redis. The mix: one event in
``--linked-every`` renames one of 200 linked features (a real change: record update, tags,
sync log); the others concern issues with no record here (looked up, then ignored), which keeps
100,000 events inside ~15 minutes. RSS of the pool child (the process that runs the tasks) and
of the main process is read from /proc every 10,000 processed events.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
import uuid
from pathlib import Path

from _setup import REPO, machine, start_worker, use_bench_database

LINKED = 200


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in text]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--linked-every", type=int, default=10)
    parser.add_argument("--sample-every", type=int, default=10_000)
    parser.add_argument(
        "--cheap-to",
        choices=["unlinked", "disabled"],
        default="unlinked",
        help="where the events that are not renames go: issues not linked here (handler looks "
        "them up, ~13 queries) or a second, disabled integration (the task's whole path, "
        "~4 queries), which lets 100,000 events fit in ~20 minutes",
    )
    args = parser.parse_args()

    queue = f"bench-memory-{os.getpid()}"
    os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ["CELERY_QUEUE"] = queue
    use_bench_database("mappings_bench_worker_memory")

    from jira_emulator import JiraEmulator
    from mappings_site.celery import app
    from sync.models import InboundEvent
    from sync.tasks import process_inbound_event
    from tests.factories import make_account, make_user, make_workspace
    from tests.sync.conftest import make_enabled_integration, make_linked_record

    emulator = JiraEmulator(port=0).start()
    workspace = make_workspace(
        account=make_account(owner=make_user("bench-owner"), name="Bench"), prefix="BEN"
    )
    integration = make_enabled_integration(workspace, emulator)
    other_workspace = make_workspace(account=workspace.account, prefix="OFF")
    disabled = make_enabled_integration(other_workspace, emulator)
    disabled.state = "disabled"
    disabled.save(update_fields=["state"])
    # One real payload: a webhook to a port nothing listens on keeps the body it would send.
    emulator.webhook_retry_delays = []
    emulator.add_webhook("http://127.0.0.1:9/", events=["jira:issue_updated"])
    stories = [
        emulator.create_issue(project="DEMO", issuetype="Story", summary=f"Story {i}")
        for i in range(LINKED)
    ]
    for story in stories:
        make_linked_record(integration, "feature", story["id"], story["key"], name=story["key"])
    emulator.update_issue(stories[0]["key"], {"summary": "template", "labels": ["a"]})
    assert emulator.wait_for_webhooks(30)
    template = emulator.webhook_deliveries[-1].payload
    emulator.stop()  # from here no Jira call is expected; a call would fail loudly
    base_ts = int(time.time() * 1000)

    def body(n: int) -> dict:
        payload = copy.deepcopy(template)
        payload["timestamp"] = base_ts + n
        issue = payload["issue"]
        if n % args.linked_every == 0:
            story = stories[(n // args.linked_every) % LINKED]
            issue["id"], issue["key"] = story["id"], story["key"]
            issue["fields"]["summary"] = f"{story['key']} rename {n}"
            issue["fields"]["labels"] = [f"l{n % 7}"]
        else:
            issue["id"], issue["key"] = str(900_000 + n), f"OTHER-{n}"
            issue["fields"]["summary"] = f"Not ours {n}"
        return payload

    keys = {story["key"] for story in stories}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    worker = start_worker("bench-memory", env)
    samples: list[tuple[int, float, float, float]] = []
    started = time.perf_counter()
    try:
        deadline = time.monotonic() + 60
        while not children(worker.pid):
            if time.monotonic() > deadline:
                raise SystemExit("the worker did not start its pool")
            time.sleep(0.2)
        (child,) = children(worker.pid)
        samples.append((0, 0.0, rss_mb(child), rss_mb(worker.pid)))
        # Store and hand off in batches, keeping ahead of the worker.
        batch = 5_000
        stored = 0
        processed = 0
        next_sample = args.sample_every
        done = InboundEvent.objects.exclude(status="received")
        while processed < args.events:
            if stored < args.events and stored - processed < 2 * batch:
                count = min(batch, args.events - stored)
                rows = InboundEvent.objects.bulk_create(
                    InboundEvent(
                        integration=(
                            integration
                            if args.cheap_to == "unlinked" or payload["issue"]["key"] in keys
                            else disabled
                        ),
                        delivery_id=str(uuid.uuid4()),
                        event_type="jira:issue_updated",
                        jira_issue_id=str(payload["issue"]["id"]),
                        jira_timestamp=payload["timestamp"],
                        body=payload,
                    )
                    for payload in (body(stored + k) for k in range(count))
                )
                with app.producer_or_acquire() as producer:
                    for row in rows:
                        process_inbound_event.apply_async((row.id,), producer=producer)
                stored += count
            processed = done.count()
            while processed >= next_sample and next_sample <= args.events:
                if worker.poll() is not None:
                    raise SystemExit("the worker died")
                (child,) = children(worker.pid)
                samples.append(
                    (next_sample, time.perf_counter() - started, rss_mb(child), rss_mb(worker.pid))
                )
                print(
                    f"{samples[-1][0]:>7,} events  {samples[-1][1]:6.0f} s  "
                    f"child {samples[-1][2]:.1f} MB  main {samples[-1][3]:.1f} MB",
                    flush=True,
                )
                next_sample += args.sample_every
            time.sleep(0.5)
        wall = time.perf_counter() - started
        outcome = dict(
            InboundEvent.objects.values_list("status").annotate(
                n=__import__("django.db.models", fromlist=["Count"]).Count("id")
            )
        )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        import redis

        redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).delete(queue)

    first_child = samples[1][2] if len(samples) > 1 else samples[0][2]
    print()
    print(f"Machine: {machine()}")
    print(
        f"{args.events:,} jira:issue_updated events, 1 in {args.linked_every} a real rename of "
        f"one of {LINKED} linked features, the rest "
        + (
            "for issues not linked here"
            if args.cheap_to == "unlinked"
            else "for a disabled integration"
        )
        + "; one worker "
        f"(prefork, concurrency 1), PostgreSQL, Redis; {wall:.0f} s "
        f"({args.events / wall:,.0f} events/s); outcomes {outcome}"
    )
    print()
    print("| events processed | elapsed | pool child RSS | main process RSS |")
    print("|---|---|---|---|")
    for n, elapsed, child_mb, main_mb in samples:
        print(f"| {n:,} | {elapsed:.0f} s | {child_mb:.1f} MB | {main_mb:.1f} MB |")
    last = samples[-1][2]
    print()
    print(
        f"Pool child: {first_child:.1f} MB after the first {args.sample_every:,} events, "
        f"{last:.1f} MB after {samples[-1][0]:,} ({last - first_child:+.1f} MB)."
    )


if __name__ == "__main__":
    main()
