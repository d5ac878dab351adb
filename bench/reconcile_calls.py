"""Check Jira over many unchanged linked issues: Jira calls, writes and wall time of one pass
(sync.services.reconcile), against the Jira emulator over real HTTP.

    .venv/bin/python bench/reconcile_calls.py [--issues 5000] [--versions 20]

PostgreSQL (a throw-away bench database). Set-up: the issues and versions are made in the
emulator, and a feature / release here is linked to each with its synced snapshot (what a
send leaves). A first full pass applies what the set-up left differing (Jira's status names
for the records' statuses); then the measured passes: a full check (every issue read) and an
incremental one (issues updated since the last pass, none). The pass runs the worker's
service function in this process (jira_check_run is what the sync.check_jira task calls).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter

from _setup import machine, use_bench_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--versions", type=int, default=20)
    args = parser.parse_args()

    use_bench_database("mappings_bench_reconcile")
    from django.db import transaction

    from integrations.selectors import record_mapping_for_kind
    from jira_emulator import JiraEmulator
    from records.models import Record
    from records.services import record_create
    from records.signals import change_origin
    from sync.models import InboundEvent, JiraLink, OutboxEntry, SyncLogEntry
    from sync.services.reconcile import jira_check_run
    from sync.services.snapshot import mapped_fields, snapshot_of_record, snapshot_store
    from tests.factories import make_account, make_user, make_workspace
    from tests.sync.conftest import make_enabled_integration

    emulator = JiraEmulator(port=0).start()
    try:
        owner = make_user("bench-owner")
        workspace = make_workspace(account=make_account(owner=owner, name="Bench"), prefix="BEN")
        integration = make_enabled_integration(workspace, emulator)
        started = time.perf_counter()

        def link(record, jira_id, key=""):
            kind = JiraLink.JiraKind.VERSION if record.kind == "release" else "issue"
            made = JiraLink.objects.create(
                integration=integration,
                record=record,
                jira_kind=kind,
                jira_id=str(jira_id),
                jira_key=key,
            )
            mapping = record_mapping_for_kind(integration, record.kind)
            names = mapped_fields(mapping, sending=True) | mapped_fields(mapping, sending=False)
            with transaction.atomic():
                snapshot_store(made, snapshot_of_record(record, mapping, names))

        with change_origin("jira", integration.id):
            for i in range(args.versions):
                version = emulator.create_version("DEMO", f"2027.{i + 1}")
                link(
                    record_create(workspace=workspace, kind="release", name=version["name"]),
                    version["id"],
                )
            for i in range(args.issues):
                issue = emulator.create_issue(
                    project="DEMO", issuetype="Story", summary=f"Feature {i}"
                )
                link(
                    record_create(workspace=workspace, kind="feature", name=f"Feature {i}"),
                    issue["id"],
                    issue["key"],
                )
        setup_seconds = time.perf_counter() - started
        settle = jira_check_run(integration_id=integration.id, full=True)
        print(f"set-up {setup_seconds:.0f} s; settling pass: {settle.last_drifted} drifted")

        def measure(full: bool) -> dict:
            counts = (
                InboundEvent.objects.count(),
                OutboxEntry.objects.count(),
                sum(1 for _ in Record.objects.values_list("updated_at")),
            )
            stamps = dict(Record.objects.values_list("pk", "updated_at"))
            snapshots = dict(JiraLink.objects.values_list("pk", "snapshot"))
            emulator.requests_log.clear()
            began = time.perf_counter()
            check = jira_check_run(integration_id=integration.id, full=full)
            wall = time.perf_counter() - began
            calls = Counter(
                f"{method} {path.replace('/rest/api/3', '')}"
                for (method, path, *_rest) in emulator.requests_log
            )
            writes = {
                "inbound events": InboundEvent.objects.count() - counts[0],
                "outbox entries": OutboxEntry.objects.count() - counts[1],
                "records changed": sum(
                    1
                    for pk, at in Record.objects.values_list("pk", "updated_at")
                    if stamps.get(pk) != at
                ),
                "snapshots changed": sum(
                    1
                    for pk, snap in JiraLink.objects.values_list("pk", "snapshot")
                    if snapshots.get(pk) != snap
                ),
            }
            return {"check": check, "wall": wall, "calls": calls, "writes": writes}

        full = measure(True)
        incremental = measure(False)
        print(f"machine: {machine()}")
        print(f"linked: {args.issues} issues, {args.versions} versions (all unchanged)")
        floor = 1 + math.ceil(args.issues / 100) + 1
        for name, run in (("full check", full), ("incremental", incremental)):
            check = run["check"]
            print(
                f"{name}: {sum(run['calls'].values())} Jira calls (floor for a full check "
                f"{floor}: serverInfo + {math.ceil(args.issues / 100)} search pages + versions), "
                f"{run['wall']:.1f} s, checked {check.last_checked}, drifted "
                f"{check.last_drifted}, writes {run['writes']}"
            )
            for operation, count in sorted(run["calls"].items()):
                print(f"    {count:5d}  {operation}")
            print(f"    summary: {check.last_summary}")
        print(
            "sync log entries written by the two passes:",
            SyncLogEntry.objects.filter(action="check_jira").count() - 1,
        )
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
