"""Sync latency on the embedded default (what ``scripts/dev`` runs): SQLite, kombu's file-system
broker, ``manage.py runserver``, one Celery worker with beat, concurrency 1.

    .venv/bin/python bench/embedded_latency.py [--edits 100] [--burst 150] [--intervals 1.0,0.05]

For each broker polling interval given (``CELERY_FILESYSTEM_POLLING_INTERVAL``; kombu's own
default is 1.0 s), a fresh stack in a temporary directory, back to back in one run:

* one edit at a time, alternating sides: Jira -> here (the emulator edits an issue, its signed
  webhook goes over HTTP to the intake; timed until the record shows the new name, polled every
  2 ms) and here -> Jira (``record_update`` in this process, the outbox entry handed to the
  worker on commit; timed until the emulator's issue shows it);
* a burst: ``--burst`` edits as fast as they can be made, half in Jira and half here, on 30
  linked issues (15 edited on each side, so no edit races another on the same issue); timed
  until every record and issue shows its last edit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import REPO, machine
from webhook_intake import free_port

ITEMS_PER_SIDE = 15


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise SystemExit(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.002)


def wait_until_serving(url: str, timeout: float = 120) -> None:
    """Any HTTP answer will do (health says 503 until the worker's first heartbeat)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not come up")


def run_stack(interval: str, edits: int, burst: int, warmup: int) -> dict:
    """One child process per stack: Django settings are read once per process."""
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--intervals",
            interval,
            "--edits",
            str(edits),
            "--burst",
            str(burst),
            "--warmup",
            str(warmup),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"stack with polling {interval}s failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def child(interval: str, edits: int, burst: int, warmup: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_QUEUE"):
        os.environ.pop(name, None)
    os.environ.update(
        SQLITE_PATH=str(tmp / "db.sqlite3"),
        CELERY_FILESYSTEM_DIR=str(tmp / "broker"),
        CELERY_FILESYSTEM_POLLING_INTERVAL=interval,
        DJANGO_SETTINGS_MODULE="mappings_site.settings",
        DJANGO_SECRET_KEY="bench-only-secret-key",
        APP_ENCRYPTION_KEYS="i5bG3mDpTLJQd6vVqLq0V8b8wqfJmH3g9Wl0F5n8mKQ=",
        DJANGO_SECURE_COOKIES="false",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from jira_emulator import JiraEmulator
    from records.models import Record
    from records.services import record_update
    from tests.factories import make_account, make_user, make_workspace
    from tests.sync.conftest import make_enabled_integration, make_linked_record

    emulator = JiraEmulator(port=0).start()
    owner = make_user("bench-owner")
    workspace = make_workspace(account=make_account(owner=owner, name="Bench"), prefix="BEN")
    integration = make_enabled_integration(workspace, emulator)
    pairs = []  # (issue key, feature) linked; the first two serve the one-at-a-time edits
    for i in range(2 + 2 * ITEMS_PER_SIDE):
        story = emulator.create_issue(project="DEMO", issuetype="Story", summary=f"Item {i}")
        feature = make_linked_record(
            integration, "feature", story["id"], story["key"], name=f"Item {i}"
        )
        pairs.append((story["key"], feature))

    port = free_port()
    env = dict(os.environ)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(  # as scripts/dev starts it on SQLite
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mappings_site",
            "worker",
            "--beat",
            "--concurrency=1",
            f"--schedule={tmp / 'celerybeat-schedule'}",
            "--loglevel=INFO",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "worker.log", "w"),  # noqa: SIM115 (closed with the process)
    )

    def name_here(feature) -> str:
        return Record.objects.filter(pk=feature.pk).values_list("name", flat=True).first()

    def summary_in_jira(key: str) -> str:
        return emulator.get_issue(key)["fields"]["summary"]

    inbound: list[float] = []
    outbound: list[float] = []
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health/")
        emulator.add_webhook(
            f"http://127.0.0.1:{port}/webhooks/jira/{integration.webhook_token}/",
            events=["jira:issue_updated"],
            secret=integration.get_webhook_secret(),
        )
        (in_key, in_feature), (out_key, out_feature) = pairs[0], pairs[1]
        for i in range(warmup + edits):
            name = f"Edit {i}"
            started = time.perf_counter()
            if i % 2 == 0:
                emulator.update_issue(in_key, {"summary": name})
                wait_for(lambda n=name: name_here(in_feature) == n, 60, f"Jira edit {i}")
                target = inbound
            else:
                record = Record.objects.get(pk=out_feature.pk)
                record_update(record=record, name=name)
                wait_for(lambda n=name: summary_in_jira(out_key) == n, 60, f"edit {i} here")
                target = outbound
            if i >= warmup:
                target.append((time.perf_counter() - started) * 1000)

        in_jira, here = pairs[2 : 2 + ITEMS_PER_SIDE], pairs[2 + ITEMS_PER_SIDE :]
        last_jira: dict[str, tuple[str, object]] = {}
        last_here: dict[str, str] = {}
        started = time.perf_counter()
        for i in range(burst):
            name = f"Burst {i}"
            if i % 2 == 0:
                key, feature = in_jira[(i // 2) % ITEMS_PER_SIDE]
                emulator.update_issue(key, {"summary": name})
                last_jira[key] = (name, feature)
            else:
                key, feature = here[(i // 2) % ITEMS_PER_SIDE]
                record_update(record=Record.objects.get(pk=feature.pk), name=name)
                last_here[key] = name
        made = time.perf_counter() - started
        wait_for(
            lambda: (
                all(name_here(f) == n for n, f in last_jira.values())
                and all(summary_in_jira(k) == n for k, n in last_here.items())
            ),
            600,
            f"burst of {burst}",
        )
        settled = time.perf_counter() - started
    except SystemExit:  # a stall: what the events and the worker say, for the report
        from sync.models import InboundEvent

        for row in InboundEvent.objects.order_by("id").values("id", "status", "event_type"):
            print(row, file=sys.stderr)
        print((tmp / "worker.log").read_text()[-4000:], file=sys.stderr)
        raise
    finally:
        worker.terminate()
        server.terminate()
        worker.wait(timeout=60)
        server.wait(timeout=30)
        emulator.stop()
    return {
        "interval": interval,
        "inbound": inbound,
        "outbound": outbound,
        "burst_made": made,
        "burst_settled": settled,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=100, help="one at a time, both sides")
    parser.add_argument("--burst", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=6)
    parser.add_argument("--intervals", default="1.0,0.05", help="broker polling, seconds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.intervals, args.edits, args.burst, args.warmup)))
        return

    results = [run_stack(i, args.edits, args.burst, args.warmup) for i in args.intervals.split(",")]
    print(f"Machine: {machine()}")
    print(
        f"SQLite + file-system broker, runserver, one Celery worker with beat (concurrency 1); "
        f"{args.edits} edits one at a time alternating sides (after {args.warmup} warm-up), "
        f"then a burst of {args.burst}."
    )
    print()
    print("| broker polling | direction | p50 | p90 | p99 | max | mean |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        for label, values in (("Jira -> here", r["inbound"]), ("here -> Jira", r["outbound"])):
            print(
                f"| {r['interval']} s | {label} | {pct(values, 50):.0f} ms | "
                f"{pct(values, 90):.0f} ms | {pct(values, 99):.0f} ms | {max(values):.0f} ms | "
                f"{statistics.mean(values):.0f} ms |"
            )
    print()
    print("| broker polling | burst edits made in | all settled after |")
    print("|---|---|---|")
    for r in results:
        print(f"| {r['interval']} s | {r['burst_made']:.1f} s | {r['burst_settled']:.1f} s |")


if __name__ == "__main__":
    main()
