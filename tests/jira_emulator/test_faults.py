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
    assert emu.requests_log[-1][4] == 0  # logged before the drop, so already there
    assert api.get("/myself").status_code == 200


def test_clear(api, emu):
    emu.faults.queue(status=500, count=5)
    emu.faults.latency_seconds = 1
    emu.faults.clear()
    started = time.monotonic()
    assert api.get("/myself").status_code == 200
    assert time.monotonic() - started < 1


def test_fault_needs_exactly_one_kind(emu):
    with pytest.raises(ValueError, match="exactly one"):
        emu.faults.queue()
    with pytest.raises(ValueError, match="exactly one"):
        emu.faults.queue(status=500, lose_answer=True)


# -- lost answers: the write is applied, the answer never arrives --------------------


def test_lost_answer_applies_the_create_then_drops_the_connection(api, emu):
    emu.faults.queue(lose_answer=True)
    body = {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}, "summary": "x"}}
    with pytest.raises(requests.ConnectionError):
        api.post("/issue", json=body)
    [issue] = emu.state.issues.values()
    assert issue.summary == "x"
    # The log keeps what Jira did, though the client never heard it.
    assert emu.requests_log[-1][:2] == ("POST", "/rest/api/3/issue")
    assert emu.requests_log[-1][4] == 201
    assert api.get(f"/issue/{issue.key}").json()["fields"]["summary"] == "x"


def test_lost_answer_of_a_bulk_create_creates_every_issue(api, emu):
    emu.faults.queue(lose_answer=True, method="POST", path="/issue/bulk")
    updates = [
        {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Epic"}, "summary": f"e{n}"}}
        for n in range(3)
    ]
    with pytest.raises(requests.ConnectionError):
        api.post("/issue/bulk", json={"issueUpdates": updates})
    assert sorted(i.summary for i in emu.state.issues.values()) == ["e0", "e1", "e2"]
    assert emu.faults.pending == 0


def test_lost_answer_on_a_version_update_changes_the_version(api, emu):
    ver = emu.create_version("DEMO", "1.0")
    emu.faults.queue(lose_answer=True, method="PUT", path="/version/*")
    with pytest.raises(requests.ConnectionError):
        api.put(f"/version/{ver['id']}", json={"released": True})
    assert api.get(f"/version/{ver['id']}").json()["released"] is True


def test_faults_wait_for_the_request_they_target(api, emu):
    emu.faults.queue(status=500, method="POST", path="/search/jql")
    emu.faults.queue(drop_connection=True, method="POST", path="/issue")
    # Other requests pass by the queued faults untouched.
    assert api.get("/myself").status_code == 200
    assert api.get("/search/jql", params={"jql": "project = DEMO"}).status_code == 200
    assert emu.faults.pending == 2
    assert api.post("/search/jql", json={"jql": "project = DEMO"}).status_code == 500
    body = {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}, "summary": "x"}}
    with pytest.raises(requests.ConnectionError):
        api.post("/issue", json=body)
    # Dropped before the write: nothing was created.
    assert not emu.state.issues
    assert emu.faults.pending == 0
    assert api.post("/issue", json=body).status_code == 201


def test_path_pattern_matches_v2_and_v3(api2, emu):
    emu.faults.queue(status=503, retry_after=1, path="/project/*")
    assert api2.get("/project/DEMO").status_code == 503
    assert api2.get("/project/DEMO").status_code == 200


def test_lost_answer_calls_then_after_the_write(api, emu):
    seen = []
    emu.faults.queue(lose_answer=True, then=lambda: seen.append(len(emu.state.issues)))
    body = {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}, "summary": "x"}}
    with pytest.raises(requests.ConnectionError):
        api.post("/issue", json=body)
    assert seen == [1]  # called once, with the issue already created
    with pytest.raises(ValueError, match="lose_answer"):
        emu.faults.queue(status=500, then=lambda: None)
