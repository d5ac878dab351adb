"""JiraClient against the Jira emulator over real HTTP: every operation, both auth kinds,
typed errors, rate limits, retries that are safe and the ones that are not."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.providers.jira.client import (
    USER_AGENT,
    JiraBearerAuth,
    JiraClient,
    JiraCloudAuth,
    parse_retry_after,
)
from integrations.providers.jira.errors import (
    JiraAuthError,
    JiraBadResponse,
    JiraConfigError,
    JiraError,
    JiraNotFound,
    JiraPermissionError,
    JiraRateLimited,
    JiraUnavailable,
    JiraValidationError,
)
from tests.integrations.providers.conftest import make_client


def calls(emu, method: str, path_part: str, *, at_least: int = 0) -> list:
    """Requests the emulator logged. A dropped connection is logged just after the client
    sees it, so ``at_least`` waits briefly for that many entries."""
    deadline = time.monotonic() + 2
    while True:
        found = [e for e in emu.requests_log if e[0] == method and path_part in e[1]]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def story(summary: str, **extra) -> dict:
    return {"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}, "summary": summary, **extra}


# --- construction and auth ---------------------------------------------------------------------


def test_client_defaults_come_from_settings_and_name_the_product(settings, emu, jira_user):
    settings.JIRA_HTTP_CONNECT_TIMEOUT = 3.5
    settings.JIRA_HTTP_TIMEOUT = 12.0
    client = JiraClient(emu.base_url + "/", JiraCloudAuth(jira_user["email"], "x"))
    assert client.timeout == (3.5, 12.0)
    assert client.base_url == emu.base_url
    assert client.session.headers["User-Agent"] == USER_AGENT
    assert "RoadmapJiraSync" in USER_AGENT
    # Connection reuse: one pooled adapter for both schemes.
    assert client.session.get_adapter("https://x").poolmanager is not None


@pytest.mark.parametrize(
    "url", ["", "your-team.atlassian.net", "ftp://jira.example.com", "https://u:p@jira.example.com"]
)
def test_unusable_site_addresses_are_refused_in_plain_words(url):
    with pytest.raises(JiraConfigError) as caught:
        JiraClient(url, JiraBearerAuth("pat"))
    assert "address" in caught.value.user_message
    assert "p@" not in caught.value.user_message


def test_cloud_basic_auth_and_dc_bearer_auth_both_reach_myself(client, dc_client, jira_user):
    cloud = client.myself()
    dc = dc_client.myself()
    assert cloud["accountId"] == dc["accountId"] == jira_user["account_id"]
    assert cloud["emailAddress"] == jira_user["email"]
    assert dc_client.server_info()["deploymentType"] == "Cloud"


def test_credentials_never_appear_in_reprs_errors_or_logs(emu, jira_user, caplog):
    caplog.set_level(logging.DEBUG)
    auth = JiraCloudAuth(jira_user["email"], jira_user["api_token"])
    client = JiraClient(emu.base_url, JiraCloudAuth(jira_user["email"], "wrong-s3cret-token"))
    with pytest.raises(JiraAuthError) as caught:
        client.myself()
    bearer = JiraBearerAuth(jira_user["pat"])
    texts = [
        repr(auth),
        repr(bearer),
        repr(client),
        str(caught.value),
        repr(caught.value),
        json.dumps(caught.value.as_dict()),
        caplog.text,
    ]
    for text in texts:
        assert jira_user["api_token"] not in text
        assert jira_user["pat"] not in text
        assert "wrong-s3cret-token" not in text


# --- typed errors ------------------------------------------------------------------------------


def test_401_is_an_auth_error_with_plain_words(emu, jira_user):
    client = make_client(emu, {**jira_user, "api_token": "nope"})
    with pytest.raises(JiraAuthError) as caught:
        client.get_project("DEMO")
    error = caught.value
    assert error.status == 401
    assert error.user_message == "Jira rejected the credentials: check the email and API token."
    assert error.transient is False
    assert any("not authenticated" in m for m in error.messages)


def test_403_is_a_permission_error(client):
    # Jira lets only Connect / OAuth apps use /rest/api/3/webhook; a user gets 403.
    with pytest.raises(JiraPermissionError) as caught:
        client.register_webhooks(
            "https://app.example.com/hooks",
            [{"events": ["jira:issue_created"], "jqlFilter": "project = DEMO"}],
        )
    assert caught.value.status == 403
    assert "Connect and OAuth" in str(caught.value)
    assert caught.value.transient is False
    with pytest.raises(JiraPermissionError):
        client.list_webhooks()


def test_404_is_not_found(client):
    with pytest.raises(JiraNotFound) as caught:
        client.get_issue("DEMO-999")
    assert caught.value.status == 404
    assert "could not find" in caught.value.user_message
    with pytest.raises(JiraNotFound):
        client.get_project("NOPE")


def test_400_is_a_validation_error_with_field_errors(client):
    with pytest.raises(JiraValidationError) as caught:
        client.create_issue({"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}})
    error = caught.value
    assert error.status == 400
    assert "summary" in error.field_errors
    assert "summary" in error.user_message
    assert error.transient is False


def test_retry_after_parsing():
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470) == 10
    assert parse_retry_after({"X-RateLimit-Reset": "2015-10-21T07:28:30Z"}, now=1445412470) == 40
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


# --- rate limits and retries -------------------------------------------------------------------


def test_429_with_short_retry_after_is_retried_in_call(emu, client):
    emu.faults.queue(status=429, retry_after=1, count=1)
    started = time.monotonic()
    project = client.get_project("DEMO")
    waited = time.monotonic() - started
    assert project["key"] == "DEMO"
    assert [e[4] for e in calls(emu, "GET", "/project/DEMO")] == [429, 200]
    assert 0.9 <= waited < 3


def test_429_on_a_create_is_retried_because_jira_did_not_process_it(emu, client):
    emu.faults.queue(status=429, retry_after=1, count=1)
    created = client.create_issue(story("after a rate limit"))
    assert [e[4] for e in calls(emu, "POST", "/rest/api/3/issue")] == [429, 201]
    assert client.get_issue(created["key"])["fields"]["summary"] == "after a rate limit"


def test_long_retry_after_raises_rate_limited_for_a_task_to_retry_later(emu, client):
    emu.faults.queue(status=429, retry_after=120, count=1)
    started = time.monotonic()
    with pytest.raises(JiraRateLimited) as caught:
        client.get_project("DEMO")
    assert time.monotonic() - started < 1
    assert caught.value.retry_after == 120
    assert caught.value.transient is True
    assert len(calls(emu, "GET", "/project/DEMO")) == 1


def test_rate_limit_retries_are_bounded(emu, jira_user):
    client = make_client(emu, jira_user, max_retries=2)
    emu.faults.queue(status=429, retry_after=0, count=5)
    with pytest.raises(JiraRateLimited):
        client.myself()
    assert len(calls(emu, "GET", "/myself")) == 3


def test_500_on_a_read_is_retried_then_succeeds(emu, client):
    emu.faults.queue(status=500, count=1)
    assert client.get_project("DEMO")["key"] == "DEMO"
    assert [e[4] for e in calls(emu, "GET", "/project/DEMO")] == [500, 200]


def test_persistent_500_raises_unavailable(emu, jira_user):
    client = make_client(emu, jira_user, max_retries=1)
    emu.faults.queue(status=500, count=3)
    with pytest.raises(JiraUnavailable) as caught:
        client.get_fields()
    assert caught.value.status == 500
    assert caught.value.transient is True
    assert "HTTP 500" in caught.value.user_message
    assert len(calls(emu, "GET", "/field")) == 2


def test_503_with_retry_after_is_retried_for_reads(emu, client):
    emu.faults.queue(status=503, retry_after=1, count=1)
    assert client.get_issue_link_types()
    assert [e[4] for e in calls(emu, "GET", "/issueLinkType")] == [503, 200]


def test_503_on_a_create_is_not_retried_and_carries_retry_after(emu, client):
    emu.faults.queue(status=503, retry_after=2, count=1)
    with pytest.raises(JiraUnavailable) as caught:
        client.create_issue(story("maybe"))
    assert caught.value.retry_after == 2
    assert len(calls(emu, "POST", "/rest/api/3/issue")) == 1


def test_dropped_connection_on_a_read_is_retried(emu, client):
    emu.faults.queue(drop_connection=True, count=1)
    assert client.myself()["accountId"]
    assert len(calls(emu, "GET", "/myself", at_least=2)) == 2


def test_dropped_connection_on_a_create_is_unavailable_and_not_retried(emu, client):
    emu.faults.queue(drop_connection=True, count=1)
    with pytest.raises(JiraUnavailable) as caught:
        client.create_issue(story("lost answer"))
    assert caught.value.status is None
    assert f"could not be reached at {emu.base_url}" in caught.value.user_message
    time.sleep(0.3)  # a retry, had there been one, would have reached the emulator by now
    # The emulator may fail to log the dropped request itself (it reads the body after
    # closing the socket), so the proof is that nothing after it arrived: a retry would
    # have found no fault left and created the issue.
    assert emu.faults.pending == 0
    assert [e[4] for e in calls(emu, "POST", "/rest/api/3/issue")] in ([], [0])
    assert list(client.search_jql("project = DEMO")) == []


def test_a_create_that_times_out_is_not_retried(emu, jira_user):
    client = make_client(emu, jira_user, timeout=(2.0, 0.5), max_retries=3)
    emu.faults.latency_seconds = 1.2
    with pytest.raises(JiraUnavailable) as caught:
        client.create_issue(story("slow create"))
    assert "did not answer in time" in caught.value.user_message
    time.sleep(1.2)  # let the emulator finish the request it is still serving
    emu.faults.latency_seconds = 0
    # Exactly one create reached Jira, and Jira did create it: a blind retry would duplicate.
    assert len(calls(emu, "POST", "/rest/api/3/issue")) == 1
    found = list(client.search_jql("project = DEMO", fields=["summary"]))
    assert [i["fields"]["summary"] for i in found] == ["slow create"]


def test_a_read_that_times_out_is_retried_then_unavailable(emu, jira_user):
    client = make_client(emu, jira_user, timeout=(2.0, 0.3), max_retries=1)
    emu.faults.latency_seconds = 0.8
    with pytest.raises(JiraUnavailable) as caught:
        client.myself()
    assert caught.value.transient is True
    time.sleep(0.8)
    emu.faults.latency_seconds = 0
    assert len(calls(emu, "GET", "/myself")) == 2


def test_unreachable_hosts_are_unavailable_in_plain_words():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for url in (f"http://127.0.0.1:{port}", "http://jira.nonexistent.invalid"):
        client = JiraClient(url, JiraBearerAuth("pat"), timeout=(1, 1), max_retries=1)
        with pytest.raises(JiraUnavailable) as caught:
            client.myself()
        assert caught.value.user_message.startswith(f"Jira could not be reached at {url}")
        assert caught.value.transient is True


class _Canned(BaseHTTPRequestHandler):
    answer: tuple[int, str, bytes] = (200, "text/html", b"<html>Log in</html>")

    def do_GET(self):
        status, content_type, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # bulk create posts

    def log_message(self, *args):
        pass


@pytest.fixture
def not_jira():
    """A real HTTP server that is not Jira; set ``server.answer`` per test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    server.answer = _Canned.answer  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_non_json_answers_are_bad_responses(not_jira):
    client = JiraClient(f"http://127.0.0.1:{not_jira.server_port}", JiraBearerAuth("pat"))
    with pytest.raises(JiraBadResponse) as caught:
        client.myself()
    assert "not JSON" in caught.value.user_message
    assert caught.value.transient is False


@pytest.mark.parametrize(
    ("body", "call"),
    [
        (b"[1, 2]", lambda c: c.get_project("X")),
        (b'{"key": "X"}', lambda c: c.get_project("X")),
        (b'{"issueLinkTypes": {"oops": 1}}', lambda c: c.get_issue_link_types()),
        (b'{"values": "nope", "isLast": true}', lambda c: list(c.search_projects())),
        (b'{"issues": [{"id": "1"}], "errors": []}', lambda c: c.bulk_create_issues([{}] * 2)),
        (b"null", lambda c: c.myself()),
    ],
)
def test_unexpected_shapes_are_bad_responses_never_key_errors(not_jira, body, call):
    not_jira.answer = (200, "application/json", body)
    client = JiraClient(f"http://127.0.0.1:{not_jira.server_port}", JiraBearerAuth("pat"))
    with pytest.raises(JiraBadResponse):
        call(client)


def test_every_error_is_a_jira_error_with_a_transient_flag():
    for cls in (
        JiraAuthError,
        JiraPermissionError,
        JiraNotFound,
        JiraValidationError,
        JiraRateLimited,
        JiraUnavailable,
        JiraBadResponse,
    ):
        assert issubclass(cls, JiraError)
        assert isinstance(cls.transient, bool)
    assert JiraRateLimited.transient
    assert JiraUnavailable.transient
    assert not JiraAuthError.transient


# --- projects and configuration ----------------------------------------------------------------


def test_project_and_its_configuration_reads(client):
    project = client.get_project("DEMO")
    assert project["name"] == "Demo product"
    types = client.get_project_issue_types(project["id"])
    assert {t["name"] for t in types} >= {"Epic", "Story", "Bug"}
    meta_types = client.get_create_meta_issue_types("DEMO")
    story_type = next(t for t in meta_types if t["name"] == "Story")
    meta_fields = client.get_create_meta_fields("DEMO", story_type["id"])
    assert {"summary", "description", "fixVersions"} <= {f["fieldId"] for f in meta_fields}
    assert any(f["id"] == "summary" for f in client.get_fields())
    statuses = client.get_project_statuses("DEMO")
    assert statuses[0]["statuses"]
    link_types = client.get_issue_link_types()
    blocks = next(t for t in link_types if t["name"] == "Blocks")
    assert (blocks["inward"], blocks["outward"]) == ("is blocked by", "blocks")


def test_search_projects_follows_every_page(emu, client):
    for n in range(60):
        emu.add_project(key=f"P{n:02d}", name=f"Portfolio {n}")
    found = list(client.search_projects())
    assert len(found) == 62  # the two seeded projects too
    assert len(calls(emu, "GET", "/project/search")) == 2
    assert [p["key"] for p in client.search_projects(query="Portfolio 1")][:2] == ["P01", "P10"]


# --- versions ----------------------------------------------------------------------------------


def test_versions_create_update_list_delete(client):
    project = client.get_project("DEMO")
    created = client.create_version(
        project_id=project["id"], name="1.0", release_date="2026-12-01", description="First"
    )
    assert isinstance(created["id"], str)
    assert created["releaseDate"] == "2026-12-01"
    updated = client.update_version(created["id"], released=True, name="1.0.0")
    assert updated["released"] is True
    assert updated["name"] == "1.0.0"
    assert updated["releaseDate"] == "2026-12-01"  # untouched values stay
    assert [v["name"] for v in client.get_project_versions("DEMO")] == ["1.0.0"]
    assert client.get_version(created["id"])["released"] is True
    client.delete_version(created["id"])
    assert client.get_project_versions("DEMO") == []


# --- issues ------------------------------------------------------------------------------------


def test_issue_lifecycle_with_rich_text(client):
    description = client.rich_text_from_html("<p>Ship <strong>it</strong></p>")
    assert description["type"] == "doc"
    created = client.create_issue(story("Checkout", description=description))
    assert created["key"].startswith("DEMO-")
    issue = client.get_issue(created["key"], fields=["summary", "description", "status"])
    assert issue["fields"]["summary"] == "Checkout"
    assert client.rich_text_to_html(issue["fields"]["description"]) == (
        "<p>Ship <strong>it</strong></p>"
    )
    client.update_issue(
        created["key"], fields={"summary": "Checkout v2"}, update={"labels": [{"add": "roadmap"}]}
    )
    issue = client.get_issue(created["key"], fields=["summary", "labels"])
    assert issue["fields"]["summary"] == "Checkout v2"
    assert issue["fields"]["labels"] == ["roadmap"]

    transitions = client.get_transitions(created["key"])
    done = next(t for t in transitions if t["to"]["statusCategory"]["key"] == "done")
    client.transition_issue(created["key"], done["id"])
    status = client.get_issue(created["key"], fields=["status"])["fields"]["status"]
    assert status["statusCategory"]["key"] == "done"

    client.delete_issue(created["key"])
    with pytest.raises(JiraNotFound):
        client.get_issue(created["key"])


def test_data_center_client_speaks_wiki_markup_over_v2(emu, dc_client):
    wiki = dc_client.rich_text_from_html("<p>Ship <strong>it</strong> now</p>")
    assert wiki == "Ship *it* now"
    created = dc_client.create_issue(story("DC issue", description=wiki))
    issue = dc_client.get_issue(created["key"], fields=["description"])
    assert issue["fields"]["description"] == "Ship *it* now"
    assert dc_client.rich_text_to_html(issue["fields"]["description"]) == (
        "<p>Ship <strong>it</strong> now</p>"
    )
    assert calls(emu, "POST", "/rest/api/2/issue")


def test_bulk_create_of_120_issues_is_3_requests_with_errors_mapped_to_indexes(emu, client):
    items = [story(f"Bulk {n}") for n in range(120)]
    bad = {7, 55, 110}
    for index in bad:
        del items[index]["summary"]
    result = client.bulk_create_issues(items)
    posts = calls(emu, "POST", "/issue/bulk")
    assert [len(e[3]["issueUpdates"]) for e in posts] == [50, 50, 20]
    assert set(result.errors) == bad
    assert set(result.created) == set(range(120)) - bad
    assert all("summary" in result.errors[i].field_errors for i in bad)
    for index in (0, 8, 56, 111, 119):
        key = result.created[index]["key"]
        assert client.get_issue(key, fields=["summary"])["fields"]["summary"] == f"Bulk {index}"


def test_bulk_create_where_a_whole_chunk_fails_reports_its_indexes(client):
    items = [story(f"Good {n}") for n in range(50)] + [
        {"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}} for _ in range(3)
    ]
    result = client.bulk_create_issues(items)
    assert len(result.created) == 50
    assert set(result.errors) == {50, 51, 52}
    assert result.errors[51].status == 400


def test_bulk_create_after_a_partial_success_keeps_what_was_created(emu, jira_user):
    client = make_client(emu, jira_user, max_retries=0)
    items = [story(f"Half {n}") for n in range(60)]

    def fail_second_chunk() -> None:
        # Once the first chunk is answered, make the next request a 503.
        calls(emu, "POST", "/issue/bulk", at_least=1)
        emu.faults.queue(status=503, count=1)

    emu.faults.latency_seconds = 0.3  # the second chunk arrives after the fault is queued
    watcher = threading.Thread(target=fail_second_chunk)
    watcher.start()
    result = client.bulk_create_issues(items)
    watcher.join()
    assert [e[4] for e in calls(emu, "POST", "/issue/bulk")] == [201, 503]
    assert set(result.created) == set(range(50))
    assert set(result.errors) == set(range(50, 60))
    assert all(e.transient and e.status == 503 for e in result.errors.values())


def test_create_issue_link_reads_the_id_back(emu, client):
    blocker = client.create_issue(story("Blocker"))["key"]
    blocked = client.create_issue(story("Blocked"))["key"]
    link_id = client.create_issue_link("Blocks", blocker, blocked)
    link = client.get_issue_link(link_id)
    # inward_key is Jira's inwardIssue: it *blocks* outward_key.
    assert link["inwardIssue"]["key"] == blocker
    assert link["outwardIssue"]["key"] == blocked
    assert link["type"]["name"] == "Blocks"
    # Jira answers 201 with an empty body; repeating returns the same link.
    assert [e[4] for e in calls(emu, "POST", "/issueLink")] == [201]
    link_type_id = next(t["id"] for t in client.get_issue_link_types() if t["name"] == "Blocks")
    assert client.create_issue_link(link_type_id, blocker, blocked) == link_id
    client.delete_issue_link(link_id)
    with pytest.raises(JiraNotFound):
        client.get_issue_link(link_id)


def test_search_jql_follows_next_page_tokens(emu, client):
    for n in range(25):
        emu.create_issue(project="DEMO", issuetype="Task", summary=f"Searchable {n}")
    found = list(client.search_jql("project = DEMO ORDER BY key", ["summary"], max_results=10))
    assert len(found) == 25
    assert len({i["key"] for i in found}) == 25
    pages = calls(emu, "GET", "/search/jql")
    assert len(pages) == 3
    assert "nextPageToken" not in pages[0][2]
    assert all("nextPageToken" in page[2] for page in pages[1:])
    assert all(i["fields"]["summary"].startswith("Searchable") for i in found)


def test_admin_webhooks_register_list_delete(client):
    hook = client.register_admin_webhook(
        url="https://app.example.com/hooks/jira/abc",
        events=["jira:issue_created", "jira:issue_updated"],
        name="Roadmap sync",
        jql="project = DEMO",
        secret="hook-secret",
    )
    hook_id = hook["self"].rsplit("/", 1)[1]
    assert any(h["url"].endswith("/abc") for h in client.list_admin_webhooks())
    client.delete_admin_webhook(hook_id)
    assert client.list_admin_webhooks() == []


def test_the_spec_check_applied_after_every_test_catches_bad_requests():
    from tests.integrations.providers.conftest import spec_problems

    assert spec_problems([("GET", "/rest/api/3/myself", {}, None, 200)]) == []
    assert spec_problems([("POST", "/rest/api/3/issue/bulk", {}, {"issueUpdates": []}, 201)]) == []
    assert spec_problems([("POST", "/rest/api/3/version", {}, {"name": 5}, 400)])
    # Deprecated operations count as problems too (GET /search, GET /issue/createmeta, ...).
    assert spec_problems([("GET", "/rest/api/3/search", {"jql": "x"}, None, 200)])
    assert spec_problems([("GET", "/rest/api/3/made/up", {}, None, 404)])


# --- users ------------------------------------------------------------------------------------


def test_find_user_by_email_when_shown_else_by_exact_display_name(emu, client):
    ada = emu.add_user(email="ada@example.com", display_name="Ada Lovelace")
    grace = emu.add_user(email="grace@example.com", display_name="Grace", email_visible=False)
    emu.add_user(email="graceful@example.com", display_name="Graceful", email_visible=False)
    emu.add_user(email="old@example.com", display_name="Old Timer", active=False)

    assert client.find_user("ADA@example.com")["accountId"] == ada
    # Jira hides Grace's email: the email lookup cannot confirm her, her exact name can.
    assert client.find_user("grace@example.com") is None
    assert client.find_user("Grace")["accountId"] == grace
    assert client.find_user("Ada") is None  # a prefix is not a display name
    assert client.find_user("Old Timer") is None  # deactivated: cannot be assigned
    assert client.find_user("nobody@example.com") is None
    assert client.find_user("  ") is None
    searched = [q for m, p, q, *_ in emu.requests_log if p.endswith("/user/search")]
    assert {"query": "grace@example.com", "maxResults": "20"} in searched


def test_search_users_data_center_form(emu, dc_client, jira_user):
    emu.add_user(email="dc.ada@example.com", display_name="DC Ada", username="dcada")
    users = dc_client.search_users("dcada")
    assert [(u["name"], u["displayName"]) for u in users] == [("dcada", "DC Ada")]
    assert dc_client.find_user("DC Ada")["name"] == "dcada"
    searched = [(p, q) for m, p, q, *_ in emu.requests_log if p.endswith("/user/search")]
    assert searched[0] == ("/rest/api/2/user/search", {"username": "dcada", "maxResults": "20"})
