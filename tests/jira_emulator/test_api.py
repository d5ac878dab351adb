"""REST behaviour of the emulator, driven over real HTTP."""

from __future__ import annotations

import requests

from .helpers import adf_doc, issue_fields

# -- auth --------------------------------------------------------------------------


def test_basic_auth_accepted(emu, api):
    resp = api.get("/myself")
    assert resp.status_code == 200
    assert resp.json()["emailAddress"] == "demo@example.com"


def test_bearer_pat_accepted(emu):
    resp = requests.get(
        f"{emu.base_url}/rest/api/2/myself",
        headers={"Authorization": "Bearer demo-pat"},
        timeout=5,
    )
    assert resp.status_code == 200
    assert resp.json()["displayName"] == "Demo User"


def test_wrong_or_missing_credentials_answer_401_in_jira_shape(emu):
    for kwargs in (
        {"auth": ("demo@example.com", "nope")},
        {"headers": {"Authorization": "Bearer nope"}},
        {},
    ):
        resp = requests.get(f"{emu.base_url}/rest/api/3/myself", timeout=5, **kwargs)
        assert resp.status_code == 401
        body = resp.json()
        assert body["errors"] == {}
        assert body["errorMessages"]


def test_added_user_credentials(emu):
    emu.add_user(email="a@b.c", display_name="A", api_token="tok")
    resp = requests.get(f"{emu.base_url}/rest/api/3/myself", auth=("a@b.c", "tok"), timeout=5)
    assert resp.status_code == 200


def test_user_without_browse_gets_404_like_jira(emu):
    emu.add_user(email="x@b.c", display_name="X", api_token="t", can_browse=False)
    key = emu.create_issue(project="DEMO", issuetype="Task", summary="hidden")["key"]
    s = requests.Session()
    s.auth = ("x@b.c", "t")
    resp = s.get(f"{emu.base_url}/rest/api/3/project/DEMO", timeout=5)
    assert resp.status_code == 404
    assert resp.json()["errorMessages"] == ["No project could be found with key 'DEMO'."]
    assert s.get(f"{emu.base_url}/rest/api/3/issue/{key}", timeout=5).status_code == 404
    search = s.get(f"{emu.base_url}/rest/api/3/search/jql", params={"jql": "project = DEMO"})
    assert search.json()["issues"] == []


# -- projects and metadata ----------------------------------------------------------


def test_project_search_and_get(api):
    page = api.get("/project/search", params={"maxResults": 1}).json()
    assert page["total"] == 2
    assert page["isLast"] is False
    assert len(page["values"]) == 1
    project = api.get("/project/DEMO").json()
    assert project["name"] == "Demo product"
    assert {t["name"] for t in project["issueTypes"]} == {
        "Epic",
        "Story",
        "Task",
        "Bug",
        "Sub-task",
    }


def test_issue_types_with_hierarchy(api):
    init = api.get("/project/INIT").json()
    types = {
        t["name"]: t for t in api.get("/issuetype/project", params={"projectId": init["id"]}).json()
    }
    assert types["Initiative"]["hierarchyLevel"] == 2
    assert types["Epic"]["hierarchyLevel"] == 1
    assert types["Story"]["hierarchyLevel"] == 0
    assert types["Sub-task"]["subtask"] is True
    assert types["Sub-task"]["hierarchyLevel"] == -1


def test_createmeta_has_story_points_and_epic_link(api):
    types = api.get("/issue/createmeta/DEMO/issuetypes").json()["issueTypes"]
    story = next(t for t in types if t["name"] == "Story")
    fields = api.get(f"/issue/createmeta/DEMO/issuetypes/{story['id']}").json()["fields"]
    by_id = {f["fieldId"]: f for f in fields}
    assert by_id["customfield_10016"]["name"] == "Story Points"
    assert by_id["customfield_10014"]["name"] == "Epic Link"
    assert by_id["summary"]["required"] is True
    for name in (
        "description",
        "parent",
        "fixVersions",
        "labels",
        "assignee",
        "duedate",
        "timetracking",
    ):
        assert name in by_id


def test_link_types_have_string_ids(api):
    types = api.get("/issueLinkType").json()["issueLinkTypes"]
    by_name = {t["name"]: t for t in types}
    assert by_name["Blocks"] == {
        **by_name["Blocks"],
        "inward": "is blocked by",
        "outward": "blocks",
    }
    assert by_name["Relates"]["inward"] == "relates to"
    assert all(isinstance(t["id"], str) for t in types)
    assert set(by_name) == {"Blocks", "Cloners", "Duplicate", "Relates"}


def test_statuses_per_issue_type(api):
    body = api.get("/project/DEMO/statuses").json()
    names = [s["name"] for s in body[0]["statuses"]]
    assert names == ["To Do", "In Progress", "In Review", "Done"]
    assert body[0]["statuses"][3]["statusCategory"]["key"] == "done"


# -- issues -------------------------------------------------------------------------


def test_create_and_get_issue_v3_adf(api):
    doc = adf_doc("Hello")
    resp = api.post("/issue", json={"fields": issue_fields("First", description=doc)})
    assert resp.status_code == 201
    created = resp.json()
    assert set(created) == {"id", "key", "self"}
    assert created["self"].startswith(api.base_url)
    issue = api.get(f"/issue/{created['key']}").json()
    assert issue["fields"]["description"] == doc
    assert issue["fields"]["status"]["name"] == "To Do"
    assert "parent" not in issue["fields"]


def test_v3_refuses_plain_string_description(api):
    resp = api.post("/issue", json={"fields": issue_fields("x", description="plain")})
    assert resp.status_code == 400
    assert "description" in resp.json()["errors"]


def test_create_v2_wiki_and_read_back_in_both_versions(api, api2):
    wiki = "h2. Title\n\nSome *bold* and _italic_ with [a link|https://example.com]\n\n* one\n* two"
    resp = api2.post("/issue", json={"fields": issue_fields("Wiki", description=wiki)})
    assert resp.status_code == 201
    key = resp.json()["key"]
    assert api2.get(f"/issue/{key}").json()["fields"]["description"] == wiki
    doc = api.get(f"/issue/{key}").json()["fields"]["description"]
    assert doc["type"] == "doc"
    assert [n["type"] for n in doc["content"]] == ["heading", "paragraph", "bulletList"]
    bold = doc["content"][1]["content"][1]
    assert bold == {"type": "text", "text": "bold", "marks": [{"type": "strong"}]}


def test_create_validation_errors_like_jira(api):
    resp = api.post("/issue", json={"fields": {"project": {"key": "NOPE"}}})
    assert resp.status_code == 400
    assert resp.json() == {"errorMessages": [], "errors": {"project": "valid project is required"}}
    resp = api.post("/issue", json={"fields": issue_fields("x", issuetype="Initiative")})
    assert resp.json()["errors"] == {"issuetype": "valid issue type is required"}
    resp = api.post(
        "/issue", json={"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}}}
    )
    assert resp.json()["errors"] == {"summary": "You must specify a summary of the issue."}
    resp = api.post("/issue", json={"fields": issue_fields("sub", issuetype="Sub-task")})
    assert resp.status_code == 400
    assert "parent" in resp.json()["errors"]


def test_parent_hierarchy(api):
    epic = api.post("/issue", json={"fields": issue_fields("E", "Epic")}).json()["key"]
    story = api.post("/issue", json={"fields": issue_fields("S", parent={"key": epic})})
    assert story.status_code == 201
    story_key = story.json()["key"]
    sub = api.post(
        "/issue", json={"fields": issue_fields("T", "Sub-task", parent={"key": story_key})}
    )
    assert sub.status_code == 201
    # An epic cannot be the parent of a sub-task, nor a story of an epic.
    bad = api.post("/issue", json={"fields": issue_fields("T", "Sub-task", parent={"key": epic})})
    assert bad.status_code == 400
    bad = api.post("/issue", json={"fields": issue_fields("E2", "Epic", parent={"key": story_key})})
    assert bad.status_code == 400
    fields = api.get(f"/issue/{story_key}").json()["fields"]
    assert fields["parent"]["key"] == epic
    assert fields["customfield_10014"] == epic
    assert [s["key"] for s in fields["subtasks"]] == [sub.json()["key"]]


def test_initiative_parent_of_epic(api):
    ini = api.post("/issue", json={"fields": issue_fields("I", "Initiative", "INIT")}).json()["key"]
    epic = api.post(
        "/issue", json={"fields": issue_fields("E", "Epic", "INIT", parent={"key": ini})}
    )
    assert epic.status_code == 201


def test_update_fields_and_update_ops(api, emu):
    ver = api.post("/version", json={"name": "v1", "project": "DEMO"}).json()
    key = api.post("/issue", json={"fields": issue_fields("S", labels=["a"])}).json()["key"]
    resp = api.put(
        f"/issue/{key}",
        params={"notifyUsers": "false"},
        json={
            "fields": {
                "summary": "S2",
                "duedate": "2025-03-01",
                "customfield_10016": 5,
                "timetracking": {"originalEstimate": "1d 2h"},
                "assignee": {"accountId": api.get("/myself").json()["accountId"]},
            },
            "update": {
                "labels": [{"add": "b"}, {"remove": "a"}],
                "fixVersions": [{"add": {"id": ver["id"]}}],
            },
        },
    )
    assert resp.status_code == 204
    f = api.get(
        f"/issue/{key}",
        params={
            "fields": "summary,labels,fixVersions,duedate,customfield_10016,timetracking,assignee"
        },
    ).json()["fields"]
    assert f["summary"] == "S2"
    assert f["labels"] == ["b"]
    assert [v["id"] for v in f["fixVersions"]] == [ver["id"]]
    assert f["duedate"] == "2025-03-01"
    assert f["customfield_10016"] == 5
    assert f["timetracking"]["originalEstimate"] == "1d 2h"
    assert f["timetracking"]["originalEstimateSeconds"] == 10 * 3600
    assert f["assignee"]["emailAddress"] == "demo@example.com"
    assert set(f) == {
        "summary",
        "labels",
        "fixVersions",
        "duedate",
        "customfield_10016",
        "timetracking",
        "assignee",
    }


def test_get_issue_expand_names(api):
    key = api.post("/issue", json={"fields": issue_fields("S")}).json()["key"]
    body = api.get(
        f"/issue/{key}", params={"fields": "summary,customfield_10016", "expand": "names"}
    ).json()
    assert body["names"] == {"summary": "Summary", "customfield_10016": "Story Points"}


def test_delete_issue(api):
    key = api.post("/issue", json={"fields": issue_fields("S")}).json()["key"]
    assert api.delete(f"/issue/{key}").status_code == 204
    assert api.get(f"/issue/{key}").status_code == 404


def test_transitions(api):
    key = api.post("/issue", json={"fields": issue_fields("S")}).json()["key"]
    transitions = api.get(f"/issue/{key}/transitions").json()["transitions"]
    done = next(t for t in transitions if t["to"]["name"] == "Done")
    assert (
        api.post(f"/issue/{key}/transitions", json={"transition": {"id": done["id"]}}).status_code
        == 204
    )
    f = api.get(f"/issue/{key}").json()["fields"]
    assert f["status"]["name"] == "Done"
    assert f["resolution"]["name"] == "Done"
    bad = api.post(f"/issue/{key}/transitions", json={"transition": {"id": "999"}})
    assert bad.status_code == 400


# -- bulk ---------------------------------------------------------------------------


def test_bulk_create_50_ok(api):
    updates = [{"fields": issue_fields(f"bulk {i}")} for i in range(50)]
    resp = api.post("/issue/bulk", json={"issueUpdates": updates})
    assert resp.status_code == 201
    body = resp.json()
    assert len(body["issues"]) == 50
    assert body["errors"] == []
    assert all(set(i) == {"id", "key", "self"} for i in body["issues"])


def test_bulk_create_51_refused(api, emu):
    updates = [{"fields": issue_fields(f"bulk {i}")} for i in range(51)]
    resp = api.post("/issue/bulk", json={"issueUpdates": updates})
    assert resp.status_code == 400
    assert resp.json()["errorMessages"]
    assert not emu.state.issues


def test_bulk_create_partial_failure(api):
    updates = [
        {"fields": issue_fields("ok 1")},
        {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}}},
        {"fields": issue_fields("ok 2")},
    ]
    resp = api.post("/issue/bulk", json={"issueUpdates": updates})
    assert resp.status_code == 201
    body = resp.json()
    assert len(body["issues"]) == 2
    assert body["errors"] == [
        {
            "status": 400,
            "elementErrors": {
                "errorMessages": [],
                "errors": {"summary": "You must specify a summary of the issue."},
            },
            "failedElementNumber": 1,
        }
    ]


# -- links --------------------------------------------------------------------------


def test_issue_link_201_empty_and_read_back(api):
    a = api.post("/issue", json={"fields": issue_fields("A")}).json()["key"]
    b = api.post("/issue", json={"fields": issue_fields("B")}).json()["key"]
    body = {"type": {"name": "Blocks"}, "inwardIssue": {"key": a}, "outwardIssue": {"key": b}}
    resp = api.post("/issueLink", json=body)
    assert resp.status_code == 201
    assert resp.content == b""
    links_a = api.get(f"/issue/{a}").json()["fields"]["issuelinks"]
    links_b = api.get(f"/issue/{b}").json()["fields"]["issuelinks"]
    assert len(links_a) == len(links_b) == 1
    # A blocks B: from A the link points outward to B, from B inward to A.
    assert links_a[0]["outwardIssue"]["key"] == b
    assert links_b[0]["inwardIssue"]["key"] == a
    link_id = links_a[0]["id"]
    assert link_id == links_b[0]["id"]
    got = api.get(f"/issueLink/{link_id}").json()
    assert got["inwardIssue"]["key"] == a
    assert got["outwardIssue"]["key"] == b
    # Repeating the same link answers 201 again and creates nothing new.
    assert api.post("/issueLink", json=body).status_code == 201
    assert len(api.get(f"/issue/{a}").json()["fields"]["issuelinks"]) == 1
    assert api.delete(f"/issueLink/{link_id}").status_code == 204
    assert api.get(f"/issue/{a}").json()["fields"]["issuelinks"] == []
    assert api.get(f"/issueLink/{link_id}").status_code == 404


def test_issue_link_by_type_id(api):
    a = api.post("/issue", json={"fields": issue_fields("A")}).json()["key"]
    b = api.post("/issue", json={"fields": issue_fields("B")}).json()["key"]
    body = {"type": {"id": "10003"}, "inwardIssue": {"key": a}, "outwardIssue": {"key": b}}
    assert api.post("/issueLink", json=body).status_code == 201
    link = api.get(f"/issue/{a}").json()["fields"]["issuelinks"][0]
    assert link["type"]["name"] == "Relates"


# -- search -------------------------------------------------------------------------


def test_search_jql_token_pagination(api, emu):
    keys = [
        emu.create_issue(project="DEMO", issuetype="Task", summary=f"t{i}")["key"] for i in range(7)
    ]
    emu.create_issue(project="INIT", issuetype="Task", summary="other")
    seen, token, pages = [], None, 0
    while True:
        params = {"jql": "project = DEMO ORDER BY key", "maxResults": 3, "fields": "summary"}
        if token:
            params["nextPageToken"] = token
        body = api.get("/search/jql", params=params).json()
        pages += 1
        seen += [i["key"] for i in body["issues"]]
        if body["isLast"]:
            assert "nextPageToken" not in body
            break
        token = body["nextPageToken"]
    assert pages == 3
    assert seen == keys


def test_search_jql_post_and_filters(api, emu):
    epic = emu.create_issue(project="DEMO", issuetype="Epic", summary="E")["key"]
    child = emu.create_issue(project="DEMO", issuetype="Story", summary="C", parent={"key": epic})[
        "key"
    ]
    ver = api.post("/version", json={"name": "v1", "project": "DEMO"}).json()
    emu.update_issue(child, fields={"fixVersions": [{"id": ver["id"]}]})

    def keys(jql):
        resp = api.post("/search/jql", json={"jql": jql, "fields": ["summary"]})
        assert resp.status_code == 200, resp.text
        return [i["key"] for i in resp.json()["issues"]]

    assert keys(f"parent = {epic}") == [child]
    assert keys(f"fixVersion = {ver['id']}") == [child]
    assert keys(f"key in ({epic}, {child}) AND project = DEMO ORDER BY created DESC") == [
        child,
        epic,
    ]
    assert keys('updated >= "2000-01-01 00:00" AND project = DEMO') == [epic, child]
    assert keys('updated >= "2999-01-01"') == []
    assert api.post("/search/jql", json={"jql": "nonsense ~~"}).status_code == 400


def test_search_default_returns_ids_only(api, emu):
    emu.create_issue(project="DEMO", issuetype="Task", summary="t")
    body = api.get("/search/jql", params={"jql": "project = DEMO"}).json()
    assert list(body["issues"][0]) == ["id"]


# -- versions -----------------------------------------------------------------------


def test_versions_crud(api):
    project = api.get("/project/DEMO").json()
    created = api.post(
        "/version",
        json={"name": "1.0", "projectId": int(project["id"]), "releaseDate": "2025-06-30"},
    )
    assert created.status_code == 201
    v1 = created.json()
    assert v1["name"] == "1.0"
    assert v1["projectId"] == int(project["id"])
    assert isinstance(v1["id"], str)
    dup = api.post("/version", json={"name": "1.0", "projectId": int(project["id"])})
    assert dup.status_code == 400
    v2 = api.post("/version", json={"name": "2.0", "project": "DEMO"}).json()
    updated = api.put(
        f"/version/{v1['id']}", json={"released": True, "description": "first"}
    ).json()
    assert updated["released"] is True
    assert api.get(f"/version/{v1['id']}").json()["description"] == "first"
    assert [v["name"] for v in api.get("/project/DEMO/versions").json()] == ["1.0", "2.0"]
    page = api.get("/project/DEMO/version", params={"maxResults": 1}).json()
    assert page["total"] == 2
    assert page["isLast"] is False
    released = api.get("/project/DEMO/version", params={"status": "released"}).json()
    assert [v["name"] for v in released["values"]] == ["1.0"]
    key = api.post(
        "/issue", json={"fields": issue_fields("S", fixVersions=[{"id": v1["id"]}])}
    ).json()["key"]
    swap = api.post(f"/version/{v1['id']}/removeAndSwap", json={"moveFixIssuesTo": int(v2["id"])})
    assert swap.status_code == 204
    assert api.get(f"/version/{v1['id']}").status_code == 404
    fix = api.get(f"/issue/{key}").json()["fields"]["fixVersions"]
    assert [v["id"] for v in fix] == [v2["id"]]


def test_requests_log_counts_calls(api, emu):
    api.get("/myself")
    api.get("/project/DEMO")
    api.post("/issue", json={"fields": issue_fields("S")})
    log = emu.requests_log
    assert [(m, p, s) for m, p, _q, _b, s in log] == [
        ("GET", "/rest/api/3/myself", 200),
        ("GET", "/rest/api/3/project/DEMO", 200),
        ("POST", "/rest/api/3/issue", 201),
    ]
    assert log[2][3]["fields"]["summary"] == "S"


def test_user_search_cloud_query_and_data_center_username(emu, api, api2):
    ada = emu.add_user(email="ada@example.com", display_name="Ada Lovelace")
    emu.add_user(email="hidden@example.com", display_name="Grace Hopper", email_visible=False)
    emu.add_user(email="gone@example.com", display_name="Ada Gone", active=False)

    found = api.get("/user/search", params={"query": "ada@example.com"}).json()
    assert [(u["accountId"], u["emailAddress"], u["active"]) for u in found] == [
        (ada, "ada@example.com", True)
    ]
    assert "name" not in found[0]
    # Matched on a hidden email, but the email is not shown.
    hidden = api.get("/user/search", params={"query": "hidden@example.com"}).json()
    assert [u["displayName"] for u in hidden] == ["Grace Hopper"]
    assert "emailAddress" not in hidden[0]
    by_name = api.get("/user/search", params={"query": "ada"}).json()
    assert [(u["displayName"], u["active"]) for u in by_name] == [
        ("Ada Gone", False),
        ("Ada Lovelace", True),
    ]
    # Data Center: ?username=, and users carry their username as name.
    dc = api2.get("/user/search", params={"username": "ada"}).json()
    assert ("ada", "Ada Lovelace") in [(u["name"], u["displayName"]) for u in dc]
    resp = api.get("/user/search")
    assert resp.status_code == 400
    assert resp.json()["errorMessages"]
