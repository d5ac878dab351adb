"""Search-index lag: JQL search trails writes, as Jira Cloud's does."""

from __future__ import annotations

import time

import pytest

from .helpers import issue_fields

LAG = 0.6


def _keys(api, jql, method="GET", **extra):
    if method == "GET":
        resp = api.get("/search/jql", params={"jql": jql, "fields": "summary,labels"})
    else:
        body = {"jql": jql, "fields": ["summary", "labels"], **extra}
        resp = api.post("/search/jql", json=body)
    assert resp.status_code == 200, resp.text
    return [i["key"] for i in resp.json()["issues"]]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_new_issue_is_missing_from_search_until_the_lag_passes(api, emu, method):
    emu.faults.search_lag_seconds = LAG
    created = api.post("/issue", json={"fields": issue_fields("new", labels=["marker-1"])})
    key = created.json()["key"]
    assert _keys(api, "labels = marker-1", method) == []
    # The issue itself is there: only search trails.
    assert api.get(f"/issue/{key}").status_code == 200
    time.sleep(LAG + 0.1)
    assert _keys(api, "labels = marker-1", method) == [key]


def test_a_changed_issue_matches_and_renders_as_it_was(api, emu):
    key = emu.create_issue(project="DEMO", issuetype="Task", summary="before")["key"]
    emu.faults.search_lag_seconds = LAG
    emu.update_issue(key, fields={"summary": "after", "labels": ["fresh"]})
    assert _keys(api, "labels = fresh") == []
    [hit] = api.get("/search/jql", params={"jql": "project = DEMO", "fields": "summary"}).json()[
        "issues"
    ]
    assert hit["fields"]["summary"] == "before"
    time.sleep(LAG + 0.1)
    assert _keys(api, "labels = fresh") == [key]
    [hit] = api.get("/search/jql", params={"jql": "project = DEMO", "fields": "summary"}).json()[
        "issues"
    ]
    assert hit["fields"]["summary"] == "after"


def test_each_change_shows_once_it_is_older_than_the_lag(api, emu):
    key = emu.create_issue(project="DEMO", issuetype="Task", summary="s0")["key"]
    emu.faults.search_lag_seconds = LAG
    emu.update_issue(key, fields={"summary": "s1"})
    time.sleep(LAG / 2)
    emu.transition_issue(key, "Done")

    def seen():
        body = api.get("/search/jql", params={"jql": f"key = {key}", "fields": "summary,status"})
        [hit] = body.json()["issues"]
        return hit["fields"]["summary"], hit["fields"]["status"]["name"]

    assert seen() == ("s0", "To Do")
    time.sleep(LAG / 2 + 0.1)
    assert seen() == ("s1", "To Do")
    time.sleep(LAG / 2)
    assert seen() == ("s1", "Done")


def test_a_deleted_issue_is_still_found_for_a_while(api, emu):
    key = emu.create_issue(project="DEMO", issuetype="Task", summary="gone soon")["key"]
    emu.faults.search_lag_seconds = LAG
    emu.delete_issue(key)
    assert _keys(api, "project = DEMO") == [key]
    assert api.get(f"/issue/{key}").status_code == 404
    time.sleep(LAG + 0.1)
    assert _keys(api, "project = DEMO") == []


def test_a_stale_issue_pointing_at_a_deleted_version_still_renders(api, emu):
    ver = emu.create_version("DEMO", "1.0")
    key = emu.create_issue(project="DEMO", issuetype="Task", summary="t")["key"]
    emu.faults.search_lag_seconds = LAG
    emu.update_issue(key, fields={"fixVersions": [{"id": ver["id"]}]})
    emu.update_issue(key, fields={"summary": "t2"})
    time.sleep(LAG + 0.1)
    emu.update_issue(key, fields={"summary": "t3"})
    emu.delete_version(ver["id"])
    body = api.get("/search/jql", params={"jql": "project = DEMO", "fields": "fixVersions"})
    assert body.status_code == 200
    assert body.json()["issues"][0]["fields"]["fixVersions"] == []


def test_reconcile_issues_reads_known_ids_live(api, emu):
    emu.faults.search_lag_seconds = LAG
    created = api.post("/issue", json={"fields": issue_fields("new", labels=["m"])}).json()
    other = api.post("/issue", json={"fields": issue_fields("other", labels=["m"])}).json()
    assert _keys(api, "labels = m", "POST") == []
    assert _keys(api, "labels = m", "POST", reconcileIssues=[int(created["id"])]) == [
        created["key"]
    ]
    assert other["key"] not in _keys(api, "labels = m", "POST", reconcileIssues=[created["id"]])
    too_many = api.post(
        "/search/jql", json={"jql": "labels = m", "reconcileIssues": list(range(51))}
    )
    assert too_many.status_code == 400
    assert "50" in too_many.json()["errorMessages"][0]


def test_no_lag_by_default_and_after_clear(api, emu):
    assert emu.faults.search_lag_seconds == 0
    emu.faults.search_lag_seconds = 30
    emu.faults.clear()
    key = api.post("/issue", json={"fields": issue_fields("now", labels=["z"])}).json()["key"]
    assert _keys(api, "labels = z") == [key]
    with pytest.raises(ValueError, match="negative"):
        emu.faults.search_lag_seconds = -1


def test_issues_untouched_since_the_lag_was_set_are_found(api, emu):
    key = emu.create_issue(project="DEMO", issuetype="Task", summary="old")["key"]
    emu.faults.search_lag_seconds = 30
    assert _keys(api, "project = DEMO") == [key]
