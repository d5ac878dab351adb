"""Fault switches: latency, 429/503/500 answers, dropped connections."""

from __future__ import annotations

import time

import pytest
import requests


def test_latency(api, emu):
    emu.faults.latency_seconds = 0.3
    started = time.monotonic()
    assert api.get("/myself").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_429_with_retry_after_then_normal(api, emu):
    emu.faults.queue(status=429, retry_after=2, count=1)
    resp = api.get("/myself")
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "2"
    assert "X-RateLimit-Reset" in resp.headers
    assert resp.json()["errorMessages"]
    assert api.get("/myself").status_code == 200


def test_503_with_retry_after(api, emu):
    emu.faults.queue(status=503, retry_after=1)
    resp = api.get("/project/DEMO")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "1"


def test_500_count(api, emu):
    emu.faults.queue(status=500, count=2)
    assert [api.get("/myself").status_code for _ in range(3)] == [500, 500, 200]
    assert [entry[4] for entry in emu.requests_log] == [500, 500, 200]


def test_faults_do_not_create_data(api, emu):
    emu.faults.queue(status=500)
    body = {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}, "summary": "x"}}
    assert api.post("/issue", json=body).status_code == 500
    assert not emu.state.issues


def test_dropped_connection_raises_connection_error(api, emu):
    emu.faults.queue(drop_connection=True, count=1)
    with pytest.raises(requests.ConnectionError):
        api.get("/myself")
    assert api.get("/myself").status_code == 200


def test_clear(api, emu):
    emu.faults.queue(status=500, count=5)
    emu.faults.latency_seconds = 1
    emu.faults.clear()
    started = time.monotonic()
    assert api.get("/myself").status_code == 200
    assert time.monotonic() - started < 1
