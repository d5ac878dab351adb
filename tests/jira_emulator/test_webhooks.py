"""Webhooks sent over real HTTP to a local receiver."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from .helpers import issue_fields


def test_issue_created_delivery_headers_and_hmac(api, emu, receiver):
    emu.add_webhook(receiver.url, events=["jira:issue_created"], secret="s3cret")
    resp = api.post("/issue", json={"fields": issue_fields("Hooked", labels=["x"])})
    assert emu.wait_for_webhooks(timeout=5)
    [got] = receiver.events()
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "Atlassian Webhook HTTP Client"
    assert got.headers["X-Atlassian-Webhook-Identifier"]
    assert "X-Atlassian-Webhook-Retry" not in got.headers
    expected = hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Hub-Signature"] == f"sha256={expected}"
    body = got.json
    assert body["webhookEvent"] == "jira:issue_created"
    assert body["issue_event_type_name"] == "issue_created"
    assert isinstance(body["timestamp"], int)
    assert body["user"]["accountId"]
    assert body["issue"]["key"] == resp.json()["key"]
    assert body["issue"]["id"] == resp.json()["id"]
    assert body["issue"]["fields"]["summary"] == "Hooked"
    items = {i["fieldId"]: i for i in body["changelog"]["items"]}
    assert items["summary"]["toString"] == "Hooked"
    assert items["labels"]["toString"] == "x"
    [delivery] = emu.webhook_deliveries
    assert delivery.status == 200
    assert delivery["event"] == "jira:issue_created"
    assert delivery.attempt == 1


def test_no_signature_without_secret(emu, receiver):
    emu.add_webhook(receiver.url, events=["jira:issue_created"])
    emu.create_issue(project="DEMO", issuetype="Task", summary="t")
    emu.wait_for_webhooks()
    assert "X-Hub-Signature" not in receiver.events()[0].headers


def test_retry_keeps_identifier_after_500(emu, receiver):
    receiver.statuses = [500]
    emu.add_webhook(receiver.url, events=["jira:issue_created"])
    emu.create_issue(project="DEMO", issuetype="Task", summary="t")
    assert emu.wait_for_webhooks(timeout=5)
    first, second = receiver.events()
    ident = first.headers["X-Atlassian-Webhook-Identifier"]
    assert second.headers["X-Atlassian-Webhook-Identifier"] == ident
    assert second.headers["X-Atlassian-Webhook-Retry"] == "1"
    assert first.body == second.body
    assert [(d.status, d.attempt) for d in emu.webhook_deliveries] == [(500, 1), (200, 2)]


def test_retry_on_429_and_gives_up_after_schedule(emu, receiver):
    receiver.statuses = [429, 503, 502, 500]
    emu.webhook_retry_delays = [0.05, 0.05, 0.05]
    emu.add_webhook(receiver.url, events=["jira:issue_created"])
    emu.create_issue(project="DEMO", issuetype="Task", summary="t")
    assert emu.wait_for_webhooks(timeout=5)
    assert [d.status for d in emu.webhook_deliveries] == [429, 503, 502, 500]
    assert len({d.identifier for d in emu.webhook_deliveries}) == 1


def test_no_retry_on_4xx_other_than_listed(emu, receiver):
    receiver.statuses = [400]
    emu.add_webhook(receiver.url, events=["jira:issue_created"])
    emu.create_issue(project="DEMO", issuetype="Task", summary="t")
    emu.wait_for_webhooks()
    assert [d.status for d in emu.webhook_deliveries] == [400]


def test_connection_error_is_retried_and_recorded(emu):
    emu.webhook_retry_delays = [0.05]
    emu.add_webhook("http://127.0.0.1:9/nothing-listens", events=["jira:issue_created"])
    emu.create_issue(project="DEMO", issuetype="Task", summary="t")
    assert emu.wait_for_webhooks(timeout=10)
    assert [d.attempt for d in emu.webhook_deliveries] == [1, 2]
    assert all(d.status is None and d.error for d in emu.webhook_deliveries)


def test_jql_filter_restricts_issue_events(emu, receiver):
    emu.add_webhook(
        receiver.url, events=["jira:issue_created", "jira:issue_updated"], jql="project = INIT"
    )
    emu.create_issue(project="DEMO", issuetype="Task", summary="demo")
    init_key = emu.create_issue(project="INIT", issuetype="Task", summary="init")["key"]
    emu.update_issue(init_key, fields={"summary": "init 2"})
    emu.wait_for_webhooks()
    assert [r.json["issue"]["key"] for r in receiver.events()] == [init_key, init_key]


def test_admin_webhook_registration_over_http(api, emu, receiver):
    resp = api.post(
        f"{emu.base_url}/rest/webhooks/1.0/webhook",
        json={
            "name": "sync",
            "url": receiver.url,
            "events": ["jira:issue_updated"],
            "filters": {"issue-related-events-section": "project = DEMO"},
            "secret": "k",
        },
    )
    assert resp.status_code == 201
    assert resp.json()["filters"]["issue-related-events-section"] == "project = DEMO"
    assert len(api.get(f"{emu.base_url}/rest/webhooks/1.0/webhook").json()) == 1
    key = emu.create_issue(project="DEMO", issuetype="Task", summary="t")["key"]
    emu.update_issue(key, fields={"summary": "t2"})
    emu.wait_for_webhooks()
    [got] = receiver.events()
    assert got.json["changelog"]["items"][0]["fromString"] == "t"
    assert got.json["changelog"]["items"][0]["toString"] == "t2"
    assert got.headers["X-Hub-Signature"].startswith("sha256=")


def test_issue_updated_changelog_fix_versions_and_status(emu, receiver):
    v = emu.create_version("DEMO", "1.0")
    key = emu.create_issue(project="DEMO", issuetype="Task", summary="t")["key"]
    emu.add_webhook(receiver.url, events=["jira:issue_updated"])
    emu.update_issue(key, fields={"fixVersions": [{"id": v["id"]}]})
    emu.transition_issue(key, "Done")
    emu.wait_for_webhooks()
    fix, done = receiver.events()
    item = fix.json["changelog"]["items"][0]
    assert item == {
        "field": "Fix Version",
        "fieldtype": "jira",
        "fieldId": "fixVersions",
        "from": None,
        "fromString": None,
        "to": v["id"],
        "toString": "1.0",
    }
    assert fix.json["issue_event_type_name"] == "issue_updated"
    assert done.json["issue_event_type_name"] == "issue_generic"
    status = next(i for i in done.json["changelog"]["items"] if i["fieldId"] == "status")
    assert status["toString"] == "Done"


def test_issue_deleted_event(emu, receiver):
    key = emu.create_issue(project="DEMO", issuetype="Task", summary="t")["key"]
    emu.add_webhook(receiver.url, events=["jira:issue_deleted"])
    emu.delete_issue(key)
    emu.wait_for_webhooks()
    [got] = receiver.events()
    assert got.json["webhookEvent"] == "jira:issue_deleted"
    assert got.json["issue"]["key"] == key
    assert "changelog" not in got.json


def test_issuelink_webhooks_have_integer_ids_and_no_keys(api, emu, receiver):
    a = emu.create_issue(project="DEMO", issuetype="Task", summary="a")
    b = emu.create_issue(project="DEMO", issuetype="Task", summary="b")
    emu.add_webhook(receiver.url, events=["issuelink_created", "issuelink_deleted"])
    body = {
        "type": {"name": "Blocks"},
        "inwardIssue": {"key": a["key"]},
        "outwardIssue": {"key": b["key"]},
    }
    assert api.post("/issueLink", json=body).status_code == 201
    assert api.post("/issueLink", json=body).status_code == 201  # repeat: no second event
    link_id = api.get(f"/issue/{a['key']}").json()["fields"]["issuelinks"][0]["id"]
    assert api.delete(f"/issueLink/{link_id}").status_code == 204
    emu.wait_for_webhooks()
    created, deleted = receiver.events()
    assert created.json["webhookEvent"] == "issuelink_created"
    assert deleted.json["webhookEvent"] == "issuelink_deleted"
    link = created.json["issueLink"]
    assert link["id"] == int(link_id)
    # sourceIssueId is REST inwardIssue: "source blocks destination".
    assert link["sourceIssueId"] == int(a["id"])
    assert link["destinationIssueId"] == int(b["id"])
    assert link["issueLinkType"]["id"] == 10000
    assert link["issueLinkType"]["outwardName"] == "blocks"
    assert link["systemLink"] is False
    assert "sequence" in link
    assert a["key"] not in created.body.decode()
    assert b["key"] not in created.body.decode()
    assert deleted.json["issueLink"]["id"] == link["id"]


def test_version_events(emu, receiver):
    emu.add_webhook(receiver.url, events=["*"])
    v1 = emu.create_version("DEMO", "1.0", release_date="2025-01-31")
    v2 = emu.create_version("DEMO", "2.0")
    emu.update_version(v1["id"], description="d")
    emu.update_version(v1["id"], released=True)
    emu.update_version(v1["id"], released=False)
    emu.delete_version(v1["id"], move_fix_issues_to=v2["id"])
    emu.wait_for_webhooks()
    names = [r.json["webhookEvent"] for r in receiver.events()]
    assert names == [
        "jira:version_created",
        "jira:version_created",
        "jira:version_updated",
        "jira:version_released",
        "jira:version_unreleased",
        "jira:version_deleted",
    ]
    created = receiver.events()[0].json["version"]
    assert created["id"] == v1["id"]
    assert isinstance(created["projectId"], int)
    assert created["releaseDate"] == "2025-01-31"
    deleted = receiver.events()[-1].json
    assert deleted["mergedTo"]["id"] == v2["id"]


def test_events_filter_by_subscription(emu, receiver):
    emu.add_webhook(receiver.url, events=["jira:issue_deleted"])
    emu.create_issue(project="DEMO", issuetype="Task", summary="t")
    emu.wait_for_webhooks()
    assert receiver.events() == []


# -- delivery faults: duplicates and reordering -----------------------------------------


def test_duplicate_delivery_keeps_the_identifier(emu, receiver):
    emu.add_webhook(receiver.url, events=["jira:issue_created"])
    emu.faults.queue_webhook(duplicate=True)
    emu.create_issue(project="DEMO", issuetype="Task", summary="twice")
    emu.create_issue(project="DEMO", issuetype="Task", summary="once")
    assert emu.wait_for_webhooks(timeout=5)
    got = receiver.events()
    assert [r.json["issue"]["fields"]["summary"] for r in got] == ["twice", "twice", "once"]
    first, second, third = (r.headers["X-Atlassian-Webhook-Identifier"] for r in got)
    assert first == second != third
    assert got[0].body == got[1].body


def test_delayed_delivery_is_overtaken(emu, receiver):
    emu.add_webhook(receiver.url, events=["jira:issue_created"])
    emu.faults.queue_webhook(delay=0.4)
    emu.create_issue(project="DEMO", issuetype="Task", summary="first")
    emu.create_issue(project="DEMO", issuetype="Task", summary="second")
    assert emu.wait_for_webhooks(timeout=5)
    assert [r.json["issue"]["fields"]["summary"] for r in receiver.events()] == [
        "second",
        "first",
    ]


def test_held_deliveries_are_released_in_the_order_asked(emu, receiver):
    import random

    emu.add_webhook(receiver.url, events=["jira:issue_created"])
    emu.faults.hold_webhooks = True
    for n in range(5):
        emu.create_issue(project="DEMO", issuetype="Task", summary=f"s{n}")
    assert emu.wait_for_webhooks(timeout=5)
    assert receiver.events() == []
    assert emu.held_webhooks == 5
    emu.faults.hold_webhooks = False
    assert emu.release_webhooks(reverse=True) == 5
    assert emu.wait_for_webhooks(timeout=5)
    summaries = [r.json["issue"]["fields"]["summary"] for r in receiver.events()]
    assert summaries == ["s4", "s3", "s2", "s1", "s0"]

    emu.faults.hold_webhooks = True
    for n in range(5, 10):
        emu.create_issue(project="DEMO", issuetype="Task", summary=f"s{n}")
    emu.release_webhooks(rng=random.Random(3))
    assert emu.wait_for_webhooks(timeout=5)
    shuffled = [r.json["issue"]["fields"]["summary"] for r in receiver.events()][5:]
    expected = [f"s{n}" for n in range(5, 10)]
    random.Random(3).shuffle(expected)
    assert shuffled == expected


def test_reset_drops_held_deliveries_and_webhook_faults(emu, receiver):
    emu.faults.hold_webhooks = True
    emu.faults.queue_webhook(duplicate=True)
    emu.add_webhook(receiver.url, events=["jira:issue_created"])
    emu.create_issue(project="DEMO", issuetype="Task", summary="held")
    emu.reset()
    assert emu.held_webhooks == 0
    assert emu.faults.hold_webhooks is False
    emu.add_webhook(receiver.url, events=["jira:issue_created"])
    emu.faults.queue_webhook(delay=0.01)
    with pytest.raises(ValueError, match="duplicate"):
        emu.faults.queue_webhook()
    emu.create_issue(project="DEMO", issuetype="Task", summary="after")
    assert emu.wait_for_webhooks(timeout=5)
    assert [r.json["issue"]["fields"]["summary"] for r in receiver.events()] == ["after"]
