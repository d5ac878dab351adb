"""Query counts and server times of the record list endpoints and the workspace page, for
10 / 1,000 / 10,000 / 100,000 features on PostgreSQL, measured side by side in one run.

    .venv/bin/python bench/records_queries.py [--sizes 10,1000,10000,100000] [--repeat 5]

A constant query count across sizes is the proof of no N+1. Data is inserted with
bulk_create (services would take minutes for 100,000 rows); pages and API go through the real
Django stack in-process (test client), so times are server time without network.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _setup import machine, use_bench_database


def populate(workspace, user, n_features: int) -> None:
    from records.models import Record, RecordLink, Tag

    n_releases = max(1, min(20, n_features // 10 or 1))
    n_epics = max(1, min(50, n_features // 5 or 1))
    releases = Record.objects.bulk_create(
        Record(
            workspace=workspace,
            kind="release",
            number=i,
            reference=f"B-R-{i}",
            name=f"Release {i}",
            status="planned",
            created_by=user,
        )
        for i in range(1, n_releases + 1)
    )
    epics = Record.objects.bulk_create(
        Record(
            workspace=workspace,
            kind="epic",
            number=i,
            reference=f"B-E-{i}",
            name=f"Epic {i}",
            status="not_started",
            release=releases[i % n_releases],
            created_by=user,
        )
        for i in range(1, n_epics + 1)
    )
    tags = [Tag.objects.create(workspace=workspace, name=f"tag{i}") for i in range(5)]
    batch = 5000
    for start in range(0, n_features, batch):
        features = Record.objects.bulk_create(
            Record(
                workspace=workspace,
                kind="feature",
                number=i,
                reference=f"B-{i}",
                name=f"Feature {i}",
                status="in_development",
                assignee=user,
                release=releases[i % n_releases],
                epic=epics[i % n_epics],
                created_by=user,
            )
            for i in range(start + 1, min(n_features, start + batch) + 1)
        )
        through = Record.tags.through
        through.objects.bulk_create(
            through(record_id=f.pk, tag_id=tags[f.number % len(tags)].pk) for f in features
        )
    first = Record.objects.filter(workspace=workspace, kind="feature").order_by("id")[:20]
    ids = list(first.values_list("id", flat=True))
    RecordLink.objects.bulk_create(
        RecordLink(workspace=workspace, source_id=a, target_id=b, link_type="relates_to")
        for a, b in zip(ids[::2], ids[1::2], strict=False)
    )


def measure(client, url: str, repeat: int) -> tuple[int, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up: first-request costs (URL resolver, caches) are not the view's
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    # Read now: the next request resets the connection's query log.
    query_count = len(ctx.captured_queries)
    if not query_count:
        raise SystemExit(f"no queries captured for {url}: the measurement is broken")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    return query_count, statistics.median(times), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    use_bench_database()

    from django.db import connection
    from django.test import Client

    from accounts.models import Workspace
    from accounts.services import account_create, api_key_create, user_create

    user = user_create(username="bench", email="bench@example.com", password="bench-pass-123")
    account = account_create(name="Bench", owner=user)
    _, raw_key = api_key_create(user=user, name="bench")
    rows = []
    for size in sizes:
        workspace = Workspace.objects.create(
            account=account, name=f"W{size}", prefix=f"B{size}"[:10]
        )
        populate(workspace, user, size)
        # What autovacuum does after a bulk load (PostgreSQL 13+ vacuums after inserts too):
        # statistics, and the visibility map that lets counts read an index alone.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        api = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        page = Client()
        page.force_login(user)
        targets = {
            "GET /api/v1/features/?workspace=": (
                api,
                f"/api/v1/features/?workspace={workspace.id}",
            ),
            "GET /api/v1/features/?workspace=&status=&tag=": (
                api,
                f"/api/v1/features/?workspace={workspace.id}&status=in_development&tag=tag1",
            ),
            "GET /api/v1/epics/?workspace=": (api, f"/api/v1/epics/?workspace={workspace.id}"),
            "GET /api/v1/record-links/?workspace=": (
                api,
                f"/api/v1/record-links/?workspace={workspace.id}",
            ),
            "workspace page": (page, f"/workspaces/{workspace.id}/"),
        }
        for name, (client, url) in targets.items():
            queries, ms, size_bytes = measure(client, url, args.repeat)
            rows.append((name, size, queries, ms, size_bytes))
            print(
                f"{name:48} {size:>7} features: {queries:>3} queries, {ms:8.1f} ms, "
                f"{size_bytes / 1024:8.1f} KiB",
                flush=True,
            )

    print()
    print(f"Machine: {machine()}; PostgreSQL; median of {args.repeat} requests after one warm-up.")
    print()
    print("| endpoint | " + " | ".join(f"{s:,} features" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in dict.fromkeys(r[0] for r in rows):
        cells = [f"{q} queries, {ms:.1f} ms" for n, s, q, ms, _ in rows if n == name]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
