"""Jira HTTP calls per record for "send all" (sync.services.bulk), against the Jira emulator
over real HTTP, side by side with the floor: one call per version, one bulk create per 50
issues. Also the wall time of the send.

    .venv/bin/python bench/sync_send_calls.py [--features 5000] [--releases 20] [--epics 50]

PostgreSQL (a throw-away bench database); the send runs the worker's service function in this
process (bulk_send_run is what the sync.bulk_send task calls), so the calls counted are the
engine's, with no broker in between.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections import Counter

from _setup import machine, use_bench_database


def operation(method: str, path: str) -> str:
    path = re.sub(r"/rest/api/\d/", "/", path)
    path = re.sub(r"/[A-Z][A-Z0-9]*-\d+", "/{key}", path)
    path = re.sub(r"/\d+", "/{id}", path)
    return f"{method} {path}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=5000)
    parser.add_argument("--releases", type=int, default=20)
    parser.add_argument("--epics", type=int, default=50)
    parser.add_argument("--links", type=int, default=500, help="record links between features")
    parser.add_argument("--database", default="mappings_bench_sync_send")
    args = parser.parse_args()

    use_bench_database(args.database)
    from jira_emulator import JiraEmulator
    from records.services import record_create, record_link_create
    from sync.models import BulkSendJob, JiraLink
    from sync.services.bulk import bulk_send_run, bulk_send_start
    from tests.factories import make_account, make_user, make_workspace
    from tests.sync.conftest import make_enabled_integration

    emulator = JiraEmulator(port=0).start()
    try:
        owner = make_user("bench-owner")
        workspace = make_workspace(account=make_account(owner=owner, name="Bench"), prefix="BEN")
        started = time.perf_counter()
        releases = [
            record_create(workspace=workspace, kind="release", name=f"2027.{i + 1}")
            for i in range(args.releases)
        ]
        epics = [
            record_create(
                workspace=workspace,
                kind="epic",
                name=f"Epic {i}",
                release=releases[i % len(releases)],
            )
            for i in range(args.epics)
        ]
        features = []
        for i in range(args.features):
            features.append(
                record_create(
                    workspace=workspace,
                    kind="feature",
                    name=f"Feature {i}",
                    release=releases[i % len(releases)],
                    epic=epics[i % len(epics)],
                )
            )
        for i in range(min(args.links, max(args.features - 1, 0))):
            record_link_create(source=features[i], target=features[i + 1], link_type="blocks")
        setup_seconds = time.perf_counter() - started
        # Enabled after the records exist, as in the wizard: send all is what sends them.
        integration = make_enabled_integration(workspace, emulator)
        emulator.requests_log.clear()

        started = time.perf_counter()
        job = bulk_send_start(integration=integration, user=owner)
        bulk_send_run(job_id=job.id)
        wall = time.perf_counter() - started
        job = BulkSendJob.objects.get(pk=job.pk)
        linked = JiraLink.objects.filter(integration=integration).count()
        log = list(emulator.requests_log)
    finally:
        emulator.stop()

    # Issue links are sent last, once both ends exist: the calls from the first
    # POST /issueLink on are the links' (each is a POST and the GET that reads the new link's
    # id back), counted apart from the record floor below.
    first_link = next(
        (i for i, (m, p, *_) in enumerate(log) if operation(m, p) == "POST /issueLink"), len(log)
    )
    link_ops = Counter(operation(method, path) for method, path, *_ in log[first_link:])
    log = log[:first_link]
    by_op = Counter(operation(method, path) for method, path, *_ in log)
    issues = args.epics + args.features
    records = issues + args.releases
    floor = {
        "POST /version": args.releases,
        "POST /issue/bulk": math.ceil(args.epics / 50) + math.ceil(args.features / 50),
    }
    floor_total = sum(floor.values())
    print(f"Machine: {machine()}")
    print(
        f"Records: {args.releases} releases, {args.epics} epics, {args.features:,} features "
        f"(created in {setup_seconds:.0f} s); job {job.status}: sent {job.sent:,}, "
        f"failed {job.failed}, skipped {job.skipped}; JiraLinks {linked:,}"
    )
    print()
    print("| Jira operation | calls | floor |")
    print("|---|---|---|")
    for op in sorted(set(by_op) | set(floor)):
        print(f"| `{op}` | {by_op.get(op, 0):,} | {floor.get(op, 0):,} |")
    print(f"| **total** | **{len(log):,}** | **{floor_total:,}** |")
    print()
    print(f"Issue links, counted apart ({args.links:,} record links, floor: one POST each):")
    print()
    print("| Jira operation | calls |")
    print("|---|---|")
    for op in sorted(link_ops):
        print(f"| `{op}` | {link_ops[op]:,} |")
    print(f"| **total** | **{sum(link_ops.values()):,}** |")
    print()
    print("| per record | measured | floor |")
    print("|---|---|---|")
    print(
        f"| calls / record ({records:,}) | {len(log) / records:.4f} | {floor_total / records:.4f} |"
    )
    print(
        f"| calls / issue ({issues:,}), versions aside | "
        f"{(len(log) - by_op.get('POST /version', 0)) / issues:.4f} | "
        f"{(floor_total - args.releases) / issues:.4f} |"
    )
    print()
    print(f"Wall time of send all: {wall:.1f} s ({records / wall:,.0f} records/s)")


if __name__ == "__main__":
    main()
