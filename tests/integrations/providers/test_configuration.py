"""fetch_project_configuration against the emulator: the exact stored shape."""

from __future__ import annotations

from datetime import datetime

import pytest

from integrations.providers.jira.configuration import fetch_project_configuration
from integrations.providers.jira.errors import JiraNotFound


def test_configuration_has_exactly_the_agreed_shape(client):
    project = client.get_project("DEMO")
    client.create_version(project_id=project["id"], name="1.0", release_date="2026-12-01")
    client.create_version(project_id=project["id"], name="2.0")

    config = fetch_project_configuration(client, "DEMO")

    assert set(config) == {
        "project",
        "issue_types",
        "fields",
        "statuses",
        "versions",
        "link_types",
        "fetched_at",
    }
    assert config["project"] == {"id": project["id"], "key": "DEMO", "name": "Demo product"}

    assert all(
        set(t) == {"id", "name", "subtask", "hierarchy_level"} for t in config["issue_types"]
    )
    by_name = {t["name"]: t for t in config["issue_types"]}
    assert by_name["Story"]["hierarchy_level"] == 0
    assert by_name["Epic"]["hierarchy_level"] == 1
    assert by_name["Sub-task"]["subtask"] is True
    all_type_ids = {t["id"] for t in config["issue_types"]}

    assert all(
        set(f) == {"id", "name", "custom", "schema_type", "issue_type_ids"}
        for f in config["fields"]
    )
    fields = {f["id"]: f for f in config["fields"]}
    assert fields["summary"]["name"] == "Summary"
    assert fields["summary"]["schema_type"] == "string"
    assert fields["summary"]["custom"] is False
    assert set(fields["summary"]["issue_type_ids"]) == all_type_ids
    assert fields["fixVersions"]["schema_type"] == "array"
    custom = [f for f in config["fields"] if f["id"].startswith("customfield_")]
    assert custom
    assert all(f["custom"] for f in custom)
    # Parent is only offered for types that have a level above them.
    assert by_name["Epic"]["id"] not in fields["parent"]["issue_type_ids"]

    assert all(set(s) == {"id", "name", "category", "issue_type_ids"} for s in config["statuses"])
    categories = {s["name"]: s["category"] for s in config["statuses"]}
    assert categories["To Do"] == "new"
    assert categories["Done"] == "done"
    assert set(config["statuses"][0]["issue_type_ids"]) == all_type_ids

    assert config["versions"] == [
        {
            "id": config["versions"][0]["id"],
            "name": "1.0",
            "released": False,
            "archived": False,
            "release_date": "2026-12-01",
        },
        {
            "id": config["versions"][1]["id"],
            "name": "2.0",
            "released": False,
            "archived": False,
            "release_date": None,
        },
    ]
    assert all(isinstance(v["id"], str) for v in config["versions"])

    blocks = next(t for t in config["link_types"] if t["name"] == "Blocks")
    assert set(blocks) == {"id", "name", "inward", "outward"}
    assert (blocks["inward"], blocks["outward"]) == ("is blocked by", "blocks")

    fetched = datetime.fromisoformat(config["fetched_at"].replace("Z", "+00:00"))
    assert fetched.utcoffset().total_seconds() == 0


def test_configuration_is_plain_json(client):
    import json

    config = fetch_project_configuration(client, "INIT")
    assert json.loads(json.dumps(config)) == config
    assert "Initiative" in {t["name"] for t in config["issue_types"]}


def test_configuration_of_an_unknown_project_is_not_found(client):
    with pytest.raises(JiraNotFound):
        fetch_project_configuration(client, "NOPE")
