"""Start real Celery worker processes against the test database and the test run's queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parent.parent


def worker_env() -> dict[str, str]:
    """The environment a subprocess needs to use the database and broker this test uses."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        auth = quote(db["USER"] or "")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"])
        host = db["HOST"] or "127.0.0.1"
        port = db["PORT"] or 5432
        env["DATABASE_URL"] = f"postgres://{auth}@{host}:{port}/{db['NAME']}"
    env["DJANGO_SETTINGS_MODULE"] = "mappings_site.settings"
    env["APP_ENCRYPTION_KEYS"] = ",".join(settings.FIELD_ENCRYPTION_KEYS)
    env["CELERY_QUEUE"] = settings.CELERY_TASK_DEFAULT_QUEUE
    # The Jira emulator is on loopback, which the test settings allow explicitly.
    env["APP_JIRA_ALLOWED_NETWORKS"] = ",".join(settings.JIRA_ALLOWED_NETWORKS)
    test_broker_dir = getattr(settings, "TEST_BROKER_DIR", None)
    if test_broker_dir:
        env["CELERY_FILESYSTEM_DIR"] = test_broker_dir
    env["PYTHONUNBUFFERED"] = "1"
    return env


class WorkerProcess:
    def __init__(
        self, *, concurrency: int = 1, log_path: Path, extra_args: list[str] | None = None
    ):
        self.log_path = log_path
        self.args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mappings_site",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            *(extra_args or []),
        ]
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.args,
            cwd=REPO,
            env=worker_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker dies mid-task, as in a crash."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
