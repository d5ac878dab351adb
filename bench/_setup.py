"""Shared bench set-up: a throw-away PostgreSQL database, migrated, with Django configured."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def use_bench_database(name: str = "mappings_bench") -> None:
    """Point Django at a fresh PostgreSQL database (``BENCH_DATABASE_URL`` overrides the
    server; default the local trust-auth one) and migrate it."""
    import psycopg

    server = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mappings_site.settings")
    # Measure what production runs: DEBUG off (no query log, no debug toolbar of errors).
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("APP_ENCRYPTION_KEYS", "i5bG3mDpTLJQd6vVqLq0V8b8wqfJmH3g9Wl0F5n8mKQ=")
    os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
    os.environ.setdefault("DJANGO_STATIC_ROOT", str(REPO / "var" / "bench-static"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The benches' Jira emulator is on loopback, which production settings refuse by default.
    os.environ.setdefault("APP_JIRA_ALLOWED_NETWORKS", "127.0.0.0/8")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def machine() -> str:
    import platform

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def start_worker(name: str, env: dict[str, str]):
    """One real Celery worker process (prefork, concurrency 1) with the bench's environment."""
    import subprocess

    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mappings_site",
            "worker",
            "--concurrency=1",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
            "-n",
            f"{name}-{os.getpid()}@%h",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
