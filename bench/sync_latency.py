"""Inbound latency: from a Jira edit to the change applied here, with ONE idle real worker.

    .venv/bin/python bench/sync_latency.py [--events 300]

The Jira emulator sends each issue_updated webhook (signed) over HTTP to a gunicorn server
running the real intake (PostgreSQL, publishing to Redis on commit); one Celery worker process
(concurrency 1, prefork) applies it. Edits are made one at a time: the next only after the
previous one shows in the database. Two figures per event:

* edit -> applied: from the emulator's edit call until a poll of the record (every 2 ms)
  shows the new name: the webhook send, the intake, the broker, the worker, the commit;
* received -> processed: the InboundEvent's own ``received_at`` to ``processed_at`` (the
  intake's commit to the worker's), which leaves the Jira side and the polling out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from _setup import REPO, machine, start_worker, use_bench_database
from webhook_intake import free_port, wait_until_up


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    queue = f"bench-latency-{os.getpid()}"
    os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ["CELERY_QUEUE"] = queue
    use_bench_database("mappings_bench_sync_latency")

    from jira_emulator import JiraEmulator
    from records.models import Record
    from sync.models import InboundEvent
    from tests.factories import make_account, make_user, make_workspace
    from tests.sync.conftest import make_enabled_integration, make_linked_record

    emulator = JiraEmulator(port=0).start()
    owner = make_user("bench-owner")
    workspace = make_workspace(account=make_account(owner=owner, name="Bench"), prefix="BEN")
    integration = make_enabled_integration(workspace, emulator)
    story = emulator.create_issue(project="DEMO", issuetype="Story", summary="Latency")
    feature = make_linked_record(integration, "feature", story["id"], story["key"], name="Latency")

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mappings_site.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
    )
    worker = start_worker("bench-latency", env)
    edit_to_applied: list[float] = []
    received_to_processed: list[float] = []
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health/")
        emulator.add_webhook(
            f"http://127.0.0.1:{port}/webhooks/jira/{integration.webhook_token}/",
            events=["jira:issue_updated"],
            secret=integration.get_webhook_secret(),
        )
        names = Record.objects.filter(pk=feature.pk).values_list("name", flat=True)
        for i in range(args.warmup + args.events):
            name = f"Latency {i}"
            started = time.perf_counter()
            emulator.update_issue(story["key"], {"summary": name})
            deadline = started + 30
            while names.first() != name:
                if time.perf_counter() > deadline:
                    raise SystemExit(f"edit {i} was not applied within 30 s")
                time.sleep(0.002)
            elapsed = time.perf_counter() - started
            if i >= args.warmup:
                edit_to_applied.append(elapsed * 1000)
        assert emulator.wait_for_webhooks(30)
        events = list(
            InboundEvent.objects.filter(integration=integration, event_type="jira:issue_updated")
            .order_by("id")
            .values_list("status", "received_at", "processed_at")
        )[args.warmup :]
        statuses = {status for status, *_ in events}
        received_to_processed = [
            (processed - received).total_seconds() * 1000 for _, received, processed in events
        ]
        failed = [d for d in emulator.webhook_deliveries if not d.ok]
    finally:
        worker.terminate()
        server.terminate()
        worker.wait(timeout=30)
        server.wait(timeout=30)
        emulator.stop()
        import redis

        redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).delete(queue)

    print(f"Machine: {machine()}")
    print(
        f"{args.events} issue_updated webhooks, one at a time (after {args.warmup} warm-up); "
        f"gunicorn --workers 2 (sync), one Celery worker (prefork, concurrency 1), "
        f"PostgreSQL, Redis; event statuses {sorted(statuses)}; failed deliveries {len(failed)}"
    )
    print()
    print("| measure | p50 | p90 | p99 | max | mean |")
    print("|---|---|---|---|---|---|")
    for label, values in (
        ("Jira edit -> record shows it (polled)", edit_to_applied),
        ("InboundEvent received_at -> processed_at", received_to_processed),
    ):
        print(
            f"| {label} | {pct(values, 50):.1f} ms | {pct(values, 90):.1f} ms | "
            f"{pct(values, 99):.1f} ms | {max(values):.1f} ms | {statistics.mean(values):.1f} ms |"
        )


if __name__ == "__main__":
    main()
