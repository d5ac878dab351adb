"""Unit tests for the ADF/wiki conversion, the JQL subset and the direct API."""

from __future__ import annotations

import pytest

from jira_emulator import adf, jql
from jira_emulator.contract import validate_requests_response


def test_wiki_adf_round_trip():
    wiki = "h1. Plan\n\nDo *this* then _that_, see [docs|https://d.example]\n\n* a\n* b *c*"
    doc = adf.wiki_to_adf(wiki)
    assert adf.adf_to_wiki(doc) == wiki
    assert adf.wiki_to_adf(None) is None
    assert adf.adf_to_wiki(None) is None


def test_text_to_adf_and_back():
    doc = adf.text_to_adf("one\n\ntwo")
    assert [p["content"][0]["text"] for p in doc["content"]] == ["one", "two"]
    assert adf.adf_to_text(doc) == "one\n\ntwo"


def test_jql_parse():
    q = jql.parse('project = DEMO AND key in (DEMO-1, "DEMO-2") ORDER BY key DESC, created')
    assert [(c.field, c.op, c.values) for c in q.clauses] == [
        ("project", "=", ["DEMO"]),
        ("key", "in", ["DEMO-1", "DEMO-2"]),
    ]
    assert q.order_by == [("key", True), ("created", False)]
    assert jql.parse("").clauses == []


@pytest.mark.parametrize("bad", ["project", "project = ", "foo = 1", "a = 1 OR b = 2", "key > 3"])
def test_jql_errors(bad):
    with pytest.raises(jql.JqlError):
        jql.parse(bad)


def test_jql_relative_dates():
    from datetime import UTC, datetime, timedelta

    now = datetime(2025, 1, 10, tzinfo=UTC)
    assert jql.parse_date("-1d", now) == now - timedelta(days=1)
    assert jql.parse_date("2025/01/02 10:30") == datetime(2025, 1, 2, 10, 30, tzinfo=UTC)


def test_direct_changes_and_reset(emu):
    created = emu.create_issue(project="DEMO", issuetype="Story", summary="s", description="text")
    emu.update_issue(created["key"], fields={"labels": ["x"]})
    emu.transition_issue(created["key"], "In Progress")
    issue = emu.get_issue(created["key"])
    assert issue["fields"]["labels"] == ["x"]
    assert issue["fields"]["status"]["name"] == "In Progress"
    assert issue["fields"]["description"]["type"] == "doc"
    assert emu.get_issue(created["key"], version=2)["fields"]["description"] == "text"
    emu.reset()
    assert not emu.state.issues
    assert {p.key for p in emu.state.projects.values()} == {"DEMO", "INIT"}


def test_validate_requests_response_helper(api, emu):
    validate_requests_response(api.get("/project/DEMO"))
    validate_requests_response(
        api.post("/issue/bulk", json={"issueUpdates": []}), allow_outside_spec=True
    )
