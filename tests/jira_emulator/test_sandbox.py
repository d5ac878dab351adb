"""The emulator as the demo's sandbox Jira: readable /browse pages for the links the product
shows, its state kept in a file across restarts (as the product's database is), the demo
people seeded, and admin webhooks for Jira administrators only."""

from __future__ import annotations

import requests

from jira_emulator import JiraEmulator

from .conftest import DEMO_AUTH, Api
from .helpers import issue_fields


def test_browse_shows_a_minimal_issue_page(emu, api):
    epic = api.post("/issue", json={"fields": issue_fields("Checkout <revamp>", "Epic")}).json()
    story = api.post(
        "/issue", json={"fields": issue_fields("Pay by card", parent={"key": epic["key"]})}
    ).json()
    page = requests.get(f"{emu.base_url}/browse/{story['key']}", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Pay by card" in page.text
    assert "To Do" in page.text
    assert f"/browse/{epic['key']}" in page.text
    parent = requests.get(f"{emu.base_url}/browse/{epic['key']}", timeout=5).text
    assert "Checkout &lt;revamp&gt;" in parent  # escaped
    assert story["key"] in parent
    project = requests.get(f"{emu.base_url}/browse/DEMO", timeout=5)
    assert project.status_code == 200
    assert story["key"] in project.text
    missing = requests.get(f"{emu.base_url}/browse/DEMO-999", timeout=5)
    assert missing.status_code == 404
    assert "No issue or project DEMO-999" in missing.text


def test_the_demo_people_are_jira_users(emu, api):
    found = api.get("/user/search", params={"query": "maria@demo.example.com"}).json()
    assert [u["displayName"] for u in found] == ["Maria Lopez"]


def test_only_jira_administrators_manage_admin_webhooks(emu):
    emu.add_user("dev@example.com", "Developer", api_token="dev-token")
    for user in emu.state.users.values():
        if user.email == "dev@example.com":
            user.admin = False
    url = f"{emu.base_url}/rest/webhooks/1.0/webhook"
    hook = {"name": "x", "url": "http://127.0.0.1:9/hook", "events": ["jira:issue_created"]}
    refused = requests.post(url, json=hook, auth=("dev@example.com", "dev-token"), timeout=5)
    assert refused.status_code == 403
    assert "Jira administrators only" in refused.text
    assert requests.post(url, json=hook, auth=DEMO_AUTH, timeout=5).status_code == 201


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "var" / "jira-sandbox.json"
    first = JiraEmulator(port=0, state_path=path).start()
    try:
        assert not first.restored
        with Api(first.base_url, 3) as api:
            created = api.post("/issue", json={"fields": issue_fields("Kept")}).json()
            version = api.post(
                "/version", json={"name": "2.5", "projectId": first.state.project_by_key("DEMO").id}
            ).json()
            api.put(
                f"/issue/{created['key']}",
                json={"fields": {"fixVersions": [{"id": version["id"]}], "labels": ["x"]}},
            )
        requests.post(
            f"{first.base_url}/rest/webhooks/1.0/webhook",
            json={
                "name": "sync",
                "url": "http://127.0.0.1:9/hook",
                "events": ["jira:issue_updated"],
                "filters": {"issue-related-events-section": "project = DEMO"},
                "secret": "s3cret",
            },
            auth=DEMO_AUTH,
            timeout=5,
        ).raise_for_status()
    finally:
        first.stop()
    assert path.exists()

    second = JiraEmulator(port=0, state_path=path).start()
    try:
        assert second.restored
        with Api(second.base_url, 3) as api:
            kept = api.get(f"/issue/{created['key']}").json()
            assert kept["fields"]["summary"] == "Kept"
            assert [v["name"] for v in kept["fields"]["fixVersions"]] == ["2.5"]
            assert kept["fields"]["labels"] == ["x"]
            again = api.post("/issue", json={"fields": issue_fields("Next")}).json()
            assert again["key"] != created["key"]  # numbering goes on
            assert api.get("/myself").status_code == 200
        [hook] = second.state.webhooks.values()
        assert (hook.secret, hook.jql_text) == ("s3cret", "project = DEMO")
        assert hook.jql is not None
    finally:
        second.stop()

    # A missing file starts fresh (what scripts/dev --reset does).
    path.unlink()
    third = JiraEmulator(port=0, state_path=path)
    assert not third.restored
    assert third.state.find_issue(created["key"]) is None
