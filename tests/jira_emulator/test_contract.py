"""Contract: every emulator answer for an operation of Jira's OpenAPI spec
(the v3 subset shipped in jira_emulator/spec) validates against the spec's schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from jira_emulator import contract

from .conftest import Api
from .helpers import adf_doc, issue_fields

SPEC = (
    Path(__file__).resolve().parents[2]
    / "jira_emulator"
    / "spec"
    / "jira-platform-rest-v3.subset.openapi.json"
)


def test_spec_is_found_relative_to_repo():
    assert SPEC.is_file()
    assert contract.spec_path() == SPEC.resolve()


def test_operations_outside_the_subset_spec_are_really_absent():
    # Bulk create, transitions and admin webhook registration are used by the
    # product but are not in the subset spec: nothing to validate them against.
    paths = json.loads(SPEC.read_text())["paths"]
    for method, template in contract.OUTSIDE_SPEC:
        assert method.lower() not in paths.get(template, {}), template
    assert contract.find_operation("POST", "http://x/rest/api/3/issue/bulk") is None
    assert contract.find_operation("POST", "http://x/rest/api/3/issue/A-1/transitions") is None


def test_find_operation_prefers_literal_paths():
    assert (
        contract.find_operation("GET", "http://h/rest/api/2/issue/createmeta/DEMO/issuetypes")
        == "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes"
    )
    assert contract.find_operation("GET", "http://h/rest/api/3/issue/DEMO-1") == (
        "/rest/api/3/issue/{issueIdOrKey}"
    )


def test_validate_exchange_rejects_bad_bodies():
    url = "http://h/rest/api/3/issueLink"
    with pytest.raises(contract.ContractError):
        contract.validate_exchange("POST", url, {"type": {"name": "Blocks"}}, 201, b"")
    with pytest.raises(contract.ContractError):
        contract.validate_exchange(
            "GET", "http://h/rest/api/3/myself", None, 200, {"accountId": "a", "bogus": 1}
        )
    with pytest.raises(contract.ContractError):
        contract.validate_exchange("GET", "http://h/rest/api/3/nothing", None, 200, {})
    contract.validate_exchange(
        "POST", "http://h/rest/api/3/issue/bulk", {}, 201, {}, allow_outside_spec=True
    )


@pytest.fixture
def recorded(emu):
    """Sessions for v3 and v2 whose every exchange is recorded for validation."""
    exchanges: list[requests.Response] = []

    def hook(resp: requests.Response, *args, **kwargs) -> None:
        exchanges.append(resp)

    sessions = []
    for version in (3, 2):
        s = Api(emu.base_url, version)
        s.hooks["response"].append(hook)
        sessions.append(s)
    yield sessions[0], sessions[1], exchanges
    for s in sessions:
        s.close()


def _drive(api: Api, project_key: str, label: str) -> None:
    """Exercise every operation of the spec the emulator implements."""
    v3 = api.api.endswith("/3")
    desc = adf_doc("Contract") if v3 else "Contract *wiki*"
    assert api.get("/myself").ok
    assert api.get("/serverInfo").ok
    assert api.get("/project").ok
    assert api.get("/project/search", params={"maxResults": 1}).ok
    project = api.get(f"/project/{project_key}").json()
    assert api.get("/project/NOPE").status_code == 404
    assert api.get(f"/project/{project_key}/statuses").ok
    assert api.get("/issuetype").ok
    assert api.get("/issuetype/project", params={"projectId": project["id"]}).ok
    types = api.get(f"/issue/createmeta/{project_key}/issuetypes").json()["issueTypes"]
    for t in types:
        assert api.get(f"/issue/createmeta/{project_key}/issuetypes/{t['id']}").ok
    assert api.get("/field").ok
    assert api.get("/issueLinkType").ok
    assert api.get("/issueLinkType/10000").ok

    v1 = api.post(
        "/version",
        json={
            "name": f"{label}-1",
            "projectId": int(project["id"]),
            "releaseDate": "2030-01-01",
            "description": "first",
        },
    ).json()
    v2 = api.post("/version", json={"name": f"{label}-2", "projectId": int(project["id"])}).json()
    assert api.get(f"/version/{v1['id']}").ok
    assert api.put(f"/version/{v1['id']}", json={"released": True}).ok
    assert api.get(f"/project/{project_key}/versions").ok
    assert api.get(f"/project/{project_key}/version", params={"maxResults": 1}).ok

    epic = api.post(
        "/issue", json={"fields": issue_fields("Epic", "Epic", project_key, description=desc)}
    ).json()
    story = api.post(
        "/issue",
        json={
            "fields": issue_fields(
                "Story",
                "Story",
                project_key,
                parent={"key": epic["key"]},
                labels=["contract"],
                fixVersions=[{"id": v1["id"]}],
                duedate="2030-01-01",
                customfield_10016=3,
                timetracking={"originalEstimate": "1d"},
            )
        },
    ).json()
    sub = api.post(
        "/issue",
        json={"fields": issue_fields("Sub", "Sub-task", project_key, parent={"key": story["key"]})},
    ).json()
    bad = api.post("/issue", json={"fields": issue_fields("", "Story", project_key)})
    assert bad.status_code == 400
    assert (
        api.put(
            f"/issue/{story['key']}",
            json={"fields": {"summary": "Story 2"}, "update": {"labels": [{"add": "x"}]}},
        ).status_code
        == 204
    )
    assert (
        api.post(
            "/issueLink",
            json={
                "type": {"name": "Blocks"},
                "inwardIssue": {"key": epic["key"]},
                "outwardIssue": {"key": story["key"]},
            },
        ).status_code
        == 201
    )
    full = api.get(f"/issue/{story['key']}", params={"expand": "names,schema"}).json()
    assert full["fields"]["issuelinks"]
    assert api.get(f"/issue/{epic['key']}").ok
    assert api.get(f"/issue/{story['key']}", params={"fields": "summary,status"}).ok
    assert api.get("/issue/NOPE-999").status_code == 404
    link_id = full["fields"]["issuelinks"][0]["id"]
    assert api.get(f"/issueLink/{link_id}").ok
    page = api.get(
        "/search/jql",
        params={"jql": f"project = {project_key}", "maxResults": 1, "fields": "*all"},
    ).json()
    assert api.get(
        "/search/jql",
        params={"jql": f"project = {project_key}", "nextPageToken": page["nextPageToken"]},
    ).ok
    assert api.post(
        "/search/jql",
        json={"jql": f"project = {project_key} ORDER BY key", "fields": ["summary"]},
    ).ok
    assert api.get("/search/jql", params={"jql": "bogus = 1"}).status_code == 400
    assert api.delete(f"/issueLink/{link_id}").status_code == 204
    assert api.post(
        f"/version/{v1['id']}/removeAndSwap", json={"moveFixIssuesTo": int(v2["id"])}
    ).ok
    assert api.delete(f"/issue/{sub['key']}").status_code == 204
    assert api.delete(f"/issue/{story['key']}").status_code == 204


def test_every_spec_operation_answer_validates(recorded, emu):
    api3, api2, exchanges = recorded
    _drive(api3, "DEMO", "v3")
    _drive(api2, "INIT", "v2")
    problems = []
    checked = set()
    for resp in exchanges:
        req = resp.request
        body = json.loads(req.body) if req.body else None
        template = contract.find_operation(req.method, req.url)
        assert template is not None, f"{req.method} {req.url} is not in the spec"
        checked.add((req.method, template, resp.status_code))
        errors = contract.check_exchange(req.method, req.url, body, resp.status_code, resp.content)
        if errors:
            problems.append(f"{req.method} {req.url} -> {resp.status_code}\n" + "\n".join(errors))
    assert not problems, "\n\n".join(problems)
    # Every operation the emulator serves from the spec was exercised.
    assert {(m, t) for m, t, _ in checked} >= {
        ("GET", "/rest/api/3/myself"),
        ("GET", "/rest/api/3/issue/{issueIdOrKey}"),
        ("POST", "/rest/api/3/issue"),
        ("PUT", "/rest/api/3/issue/{issueIdOrKey}"),
        ("DELETE", "/rest/api/3/issue/{issueIdOrKey}"),
        ("POST", "/rest/api/3/issueLink"),
        ("GET", "/rest/api/3/issueLink/{linkId}"),
        ("DELETE", "/rest/api/3/issueLink/{linkId}"),
        ("GET", "/rest/api/3/search/jql"),
        ("POST", "/rest/api/3/search/jql"),
        ("POST", "/rest/api/3/version"),
        ("PUT", "/rest/api/3/version/{id}"),
        ("POST", "/rest/api/3/version/{id}/removeAndSwap"),
        ("GET", "/rest/api/3/project/{projectIdOrKey}/version"),
        ("GET", "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}"),
    }


def test_outside_spec_operations_still_answer_jira_shapes(api, emu):
    # Not in the subset spec; checked by hand against Jira's documentation.
    resp = api.post("/issue/bulk", json={"issueUpdates": [{"fields": issue_fields("b")}]})
    assert resp.status_code == 201
    assert set(resp.json()) == {"issues", "errors"}
    transitions = api.get(f"/issue/{resp.json()['issues'][0]['key']}/transitions").json()
    assert set(transitions) == {"expand", "transitions"}
    for t in transitions["transitions"]:
        contract_status = {k: t["to"][k] for k in ("id", "name", "statusCategory")}
        assert contract_status["statusCategory"]["key"] in {"new", "indeterminate", "done"}
