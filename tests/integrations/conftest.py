"""Fixtures for the mapping engine: a Jira emulator over real HTTP, integrations connected
to it, and a stored configuration like DEMO's for tests that need no HTTP."""

from __future__ import annotations

import pytest

from integrations.models import Integration
from integrations.services.integrations import (
    integration_create,
    integration_set_connection,
    integration_set_project,
)
from jira_emulator import JiraEmulator

DEMO_TOKEN = "demo-token"


@pytest.fixture(scope="session")
def _emulator():
    emu = JiraEmulator(port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(_emulator):
    _emulator.reset()
    return _emulator


def issue_type(id_, name, level=0, subtask=False):
    return {"id": id_, "name": name, "subtask": subtask, "hierarchy_level": level}


DEMO_CONFIGURATION = {
    "project": {"id": "10000", "key": "DEMO", "name": "Demo product"},
    "issue_types": [
        issue_type("10000", "Epic", 1),
        issue_type("10001", "Story"),
        issue_type("10002", "Task"),
        issue_type("10003", "Bug"),
        issue_type("10004", "Sub-task", -1, True),
        issue_type("10005", "Initiative", 2),
    ],
    "fields": [
        {"id": f, "name": n, "custom": False, "schema_type": "string", "issue_type_ids": []}
        for f, n in [
            ("summary", "Summary"),
            ("description", "Description"),
            ("status", "Status"),
            ("assignee", "Assignee"),
            ("labels", "Labels"),
            ("duedate", "Due date"),
            ("priority", "Priority"),
        ]
    ]
    + [
        {
            "id": "customfield_10016",
            "name": "Story points",
            "custom": True,
            "schema_type": "number",
            "issue_type_ids": ["10001"],
        }
    ],
    "statuses": [
        {"id": "10000", "name": "To Do", "category": "new", "issue_type_ids": []},
        {"id": "3", "name": "In Progress", "category": "indeterminate", "issue_type_ids": []},
        {"id": "10001", "name": "In Review", "category": "indeterminate", "issue_type_ids": []},
        {"id": "10002", "name": "Done", "category": "done", "issue_type_ids": []},
    ],
    "versions": [],
    "link_types": [
        {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
        {"id": "10002", "name": "Duplicate", "inward": "is duplicated by", "outward": "duplicates"},
        {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"},
    ],
    "fetched_at": "2026-11-28T00:00:00+00:00",
}


def configured_integration(workspace, *, configuration=None, name="Jira", **kwargs):
    integration = integration_create(
        account=workspace.account, workspace=workspace, name=name, **kwargs
    )
    integration.configuration = configuration if configuration is not None else DEMO_CONFIGURATION
    integration.save()
    return integration


@pytest.fixture
def integration(workspace):
    return configured_integration(workspace)


def connect(integration: Integration, emulator, *, token=DEMO_TOKEN, project="DEMO"):
    integration_set_connection(
        integration=integration,
        deployment="cloud",
        base_url=emulator.base_url,
        email="demo@example.com",
        api_token=token,
    )
    if project:
        integration_set_project(integration=integration, project_key=project)
    integration.refresh_from_db()
    return integration
