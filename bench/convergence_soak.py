"""Soak the convergence state machine (tests/sync/test_convergence.py) for many steps.

    .venv/bin/python bench/convergence_soak.py [--steps 2000] [--examples 20] [--max-steps 50]

Runs the same machine as the CI test, through pytest (so the test database, the emulator and
the relay are set up exactly as there), over fresh seeds, batch after batch, until at least
``--steps`` edit steps (on either side) have run. Every example drains and checks; a
divergence does not stop the soak (CONVERGENCE_KEEP_GOING): it is counted, and the failing
steps are printed. Stack: SQLite unless DATABASE_URL / CELERY_BROKER_URL say otherwise, as
for ./scripts/test.

Prints the examples run, the edit steps (here and in Jira),
the faults injected by kind (faults queued but never met by a request are not counted), and
the divergences found.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _setup import machine

REPO = Path(__file__).resolve().parent.parent
TEST = "tests/sync/test_convergence.py"


def run_batch(seeds: list[int], examples: int, max_steps: int) -> tuple[Counter, str, int]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        stats_path = fh.name
    env = {
        **os.environ,
        "CONVERGENCE_SEEDS": ",".join(map(str, seeds)),
        "CONVERGENCE_EXAMPLES": str(examples),
        "CONVERGENCE_STEPS": str(max_steps),
        "CONVERGENCE_STATS": stats_path,
        "CONVERGENCE_KEEP_GOING": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:logging", "-p", "no:cacheprovider"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    try:
        stats = Counter(json.loads(Path(stats_path).read_text() or "{}"))
    except (OSError, ValueError):
        stats = Counter()
    Path(stats_path).unlink(missing_ok=True)
    return stats, proc.stdout + proc.stderr, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000, help="edit steps to reach")
    parser.add_argument("--examples", type=int, default=20, help="examples per seed")
    parser.add_argument("--max-steps", type=int, default=50, help="rules per example, at most")
    parser.add_argument("--seeds-per-batch", type=int, default=4)
    parser.add_argument("--first-seed", type=int, default=1000)
    args = parser.parse_args()

    total: Counter = Counter()
    failures: list[str] = []
    next_seed = args.first_seed
    started = time.monotonic()
    while total["steps"] < args.steps:
        seeds = list(range(next_seed, next_seed + args.seeds_per_batch))
        next_seed += args.seeds_per_batch
        stats, output, code = run_batch(seeds, args.examples, args.max_steps)
        if not stats:
            print(output[-5000:])
            raise SystemExit(f"the batch for seeds {seeds} ran nothing (exit {code})")
        total.update(stats)
        if code != 0:
            failures.append(f"seeds {seeds}:\n{output[-6000:]}")
            report = [line for line in output.splitlines() if line.startswith("E ")]
            print("\n".join(report[:120]), flush=True)
        print(
            f"seeds {seeds[0]}-{seeds[-1]}: {stats['examples']} examples, {stats['steps']} "
            f"edit steps, {stats['divergences']} divergences "
            f"({time.monotonic() - started:.0f} s so far)",
            flush=True,
        )
    elapsed = time.monotonic() - started

    stack = "PostgreSQL + Redis" if os.environ.get("DATABASE_URL") else "SQLite + file broker"
    print()
    print(f"machine: {machine()}; stack: {stack}")
    print(
        f"seeds {args.first_seed}-{next_seed - 1}, {args.examples} examples per seed, "
        f"at most {args.max_steps} rules per example; wall time {elapsed:.0f} s"
    )
    print(f"examples run:        {total['examples']}")
    print(f"edit steps:          {total['steps']} (both sides)")
    print("faults injected:")
    for name, n in sorted(total.items()):
        if name.startswith("fault: "):
            print(f"  {name.removeprefix('fault: '):<22}{n}")
    superseded = total["failed rows superseded by a later send"]
    print(f"failed outbox rows whose record was sent later and agrees: {superseded}")
    print(f"divergences found:   {total['divergences']}")
    for failure in failures:
        print("\n" + failure)


if __name__ == "__main__":
    main()
