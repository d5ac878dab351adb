"""``python -m jira_emulator --port 8765 --seed-demo``"""

from __future__ import annotations

import argparse
import signal
import threading

from .emulator import JiraEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Jira Cloud emulator over HTTP")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--seed-demo",
        action="store_true",
        help="create the demo user (demo@example.com / demo-token, PAT demo-pat) "
        "and projects DEMO and INIT",
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="keep the data in FILE (JSON) across restarts: loaded at start, saved after "
        "each change; a missing file starts fresh (seeded with --seed-demo)",
    )
    args = parser.parse_args(argv)
    emu = JiraEmulator(
        port=args.port, host=args.host, seed_demo=args.seed_demo, state_path=args.state
    ).start()
    print(f"Jira emulator listening on {emu.base_url}", flush=True)
    if args.state:
        how = "restored from" if emu.restored else "new, saved to"
        print(f"  state:      {how} {args.state}", flush=True)
    if args.seed_demo:
        print("  basic auth: demo@example.com / demo-token", flush=True)
        print("  bearer PAT: demo-pat", flush=True)
        print("  projects:   DEMO (Demo product), INIT (with Initiative)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    emu.stop()


if __name__ == "__main__":
    main()
