"""Fixtures for the Jira emulator tests: a running emulator, an authenticated
session, and a small local HTTP receiver for webhook deliveries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from jira_emulator import JiraEmulator

DEMO_AUTH = ("demo@example.com", "demo-token")


@pytest.fixture(scope="session")
def _emulator() -> Iterator[JiraEmulator]:
    emu = JiraEmulator(port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def emu(_emulator: JiraEmulator) -> Iterator[JiraEmulator]:
    """The shared emulator, reset to the seeded demo state for each test."""
    _emulator.reset()
    _emulator.webhook_retry_delays = [0.1, 0.2, 0.3]
    _emulator.webhook_timeout = 2.0
    yield _emulator
    _emulator.wait_for_webhooks(timeout=5)


class Api(requests.Session):
    """A session bound to one REST version: ``api.get("/issue/DEMO-1")``."""

    def __init__(self, base_url: str, version: int = 3) -> None:
        super().__init__()
        self.base_url = base_url
        self.api = f"{base_url}/rest/api/{version}"
        self.auth = DEMO_AUTH

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if url.startswith("/"):
            url = self.api + url
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def api(emu: JiraEmulator) -> Iterator[Api]:
    with Api(emu.base_url, 3) as session:
        yield session


@pytest.fixture
def api2(emu: JiraEmulator) -> Iterator[Api]:
    with Api(emu.base_url, 2) as session:
        yield session


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records POSTs; answers with queued statuses first, then 200."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self, name: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if name is None or r.json["webhookEvent"] == name]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.received.append(Received(self.path, dict(self.headers.items()), body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()
