"""Webhook intake throughput and latency under gunicorn, side by side with a no-op Django view
on the same server, in one run.

    apt-get install wrk   # the load generator (C, so it does not compete with Python for CPU)
    .venv/bin/python bench/webhook_intake.py [--seconds 15] [--connections 16] [--workers 4]

The intake parses the JSON, stores the event in PostgreSQL and publishes its id to Redis on
commit: everything a real delivery costs before the answer. Every request carries a new
X-Atlassian-Webhook-Identifier and a body of its own (its ``timestamp`` differs), so none is a
duplicate: the intake deduplicates on both. wrk cannot sign a body it varies, so the bench
integration has no webhook secret (HMAC verification costs well under a millisecond).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _setup import REPO, machine, use_bench_database

STAMP = "1999999999999999"  # stands for the timestamp; each request writes its own
PAYLOAD = REPO / "tests" / "fixtures" / "jira" / "webhooks" / "pinpt_issue_updated_labels.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
            return
        except Exception:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not come up")


LUA = """
counter = 0
request = function()
  counter = counter + 1
  wrk.headers["X-Atlassian-Webhook-Identifier"] = string.format("bench-%d-%d-%d", %(run)d, id or 0, counter)
  local stamp = string.format("1%03d%02d%09d", %(run)d, id or 0, counter)
  return wrk.format("POST", nil, nil, body_head .. stamp .. body_tail)
end
threads = 0
setup = function(thread) threads = threads + 1; thread:set("id", threads) end
"""


def run_wrk(
    url: str, body: bytes, headers: dict[str, str], seconds: int, connections: int, run: int
):
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        # The body is read from files, around its timestamp: Lua string literals know no
        # \uXXXX escapes.
        head, tail = body.split(STAMP.encode(), 1)
        (Path(tmp) / "head.json").write_bytes(head)
        (Path(tmp) / "tail.json").write_bytes(tail)
        lines = [
            'wrk.method = "POST"',
            f'local f = assert(io.open("{tmp}/head.json", "rb")); body_head = f:read("*a"); f:close()',
            f'local g = assert(io.open("{tmp}/tail.json", "rb")); body_tail = g:read("*a"); g:close()',
        ]
        lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
        script.write_text("\n".join(lines) + LUA.replace("%(run)d", str(run)))
        proc = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        out = proc.stdout
        if proc.stderr.strip():
            raise SystemExit(f"wrk script failed: {proc.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, pct("50"), pct("99"), int(non2xx.group(1)) if non2xx else 0, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    use_bench_database("mappings_bench_webhook")
    queue = f"bench-{os.getpid()}"
    os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ["CELERY_QUEUE"] = queue

    from accounts.models import Account, Workspace
    from integrations.models import Integration
    from sync.models import InboundEvent

    account = Account.objects.create(name="Bench")
    workspace = Workspace.objects.create(account=account, name="Bench", prefix="BEN")
    integration = Integration(
        account=account, workspace=workspace, name="Bench", state=Integration.State.ENABLED
    )
    integration.save()

    payload = json.loads(PAYLOAD.read_bytes())
    payload["timestamp"] = int(STAMP)
    body = json.dumps(payload).encode()
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mappings_site.wsgi",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/health/")
        headers = {"Content-Type": "application/json"}
        results = {}
        for run, (name, path) in enumerate(
            [
                ("no-op Django view", "/bench/noop/"),
                ("webhook intake", f"/webhooks/jira/{integration.webhook_token}/"),
            ]
        ):
            run_wrk(base + path, body, headers, 3, args.connections, 100 + run)  # warm-up
            results[name] = run_wrk(base + path, body, headers, args.seconds, args.connections, run)
        stored = InboundEvent.objects.filter(integration=integration).count()
    finally:
        server.terminate()
        server.wait(timeout=30)
        import redis

        redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).delete(queue)

    print(f"Machine: {machine()}")
    print(
        f"gunicorn --workers {args.workers} (sync), PostgreSQL, Redis; wrk -t2 "
        f"-c{args.connections} -d{args.seconds}s; payload {len(body)} bytes, each different"
    )
    print()
    print("| endpoint | requests/s | p50 latency | p99 latency | non-2xx |")
    print("|---|---|---|---|---|")
    for name, (rps, p50, p99, bad, _) in results.items():
        print(f"| {name} | {rps:,.0f} | {p50:.1f} ms | {p99:.1f} ms | {bad} |")
    print()
    print(f"Events stored by the intake: {stored:,} (every accepted delivery is in the table).")


if __name__ == "__main__":
    main()
