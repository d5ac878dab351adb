"""Test connection, project list, Reload configuration and recommended defaults against the
Jira emulator over real HTTP."""

import logging
import socket

import pytest

from core.exceptions import ApplicationError
from integrations import selectors
from integrations.models import RecordMapping
from integrations.services import configuration as conf
from integrations.services import field_mappings as fms
from integrations.services import record_mappings as rms
from integrations.services.integrations import integration_create, integration_set_connection

from .conftest import connect


@pytest.fixture
def jira(workspace, emulator):
    integration = integration_create(account=workspace.account, workspace=workspace, name="Jira")
    return connect(integration, emulator)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_good_wrong_token_and_unreachable(jira, emulator, caplog):
    caplog.set_level(logging.DEBUG)
    result = conf.connection_test(integration=jira)
    assert result.ok, result.message
    integration_set_connection(integration=jira, api_token="wrong-token-value")
    result = conf.connection_test(integration=jira)
    assert not result.ok
    assert result.code == "bad_credentials"
    assert "token" in result.message.lower()
    integration_set_connection(integration=jira, base_url=f"http://127.0.0.1:{_free_port()}")
    result = conf.connection_test(integration=jira)
    assert not result.ok
    assert result.code == "unreachable"
    assert "wrong-token-value" not in caplog.text
    assert "demo-token" not in caplog.text


def test_project_list_is_searchable(jira):
    keys = [p["key"] for p in conf.project_list(integration=jira)]
    assert {"DEMO", "INIT"} <= set(keys)
    assert [p["key"] for p in conf.project_list(integration=jira, query="INIT")] == ["INIT"]


def test_defaults_from_demo_project(jira):
    result = conf.configuration_reload(integration=jira)
    assert {t["name"] for t in result.added["issue_types"]} >= {"Epic", "Story", "Sub-task"}
    rms.mappings_apply_defaults(integration=jira)
    rows = selectors.record_mappings_effective(jira)
    assert [(r.record_kind, r.target, r.default_issue_type_name) for r in rows] == [
        ("release", "version", ""),
        ("epic", "issue_type", "Epic"),
        ("feature", "issue_type", "Story"),
        ("requirement", "issue_type", "Sub-task"),
    ]
    links = {
        r.record_kind: [(x.parent_kind, x.jira_field) for x in r.linked_to.all()] for r in rows
    }
    assert links["feature"] == [("release", "fix_versions"), ("epic", "parent")]
    assert links["requirement"] == [("feature", "subtask_parent")]
    validation = selectors.validate_mapping(jira)
    assert validation["valid"], validation


def test_defaults_map_status_although_createmeta_never_lists_it(jira):
    conf.configuration_reload(integration=jira)
    # Jira's createmeta leaves status out: it is changed by transitions, not set on create.
    assert "status" not in {f["id"] for f in jira.configuration["fields"]}
    rms.mappings_apply_defaults(integration=jira)
    for row in selectors.record_mappings_effective(jira):
        if row.target != "issue_type":
            continue
        status = row.field_mappings.get(local_field="status")
        assert (status.jira_field_id, status.jira_field_name) == ("status", "Status")
        pairs = [(v.local_value, v.jira_value_name) for v in status.value_mappings.all()]
        assert pairs, row.record_kind
        if row.record_kind == "feature":
            # by name first, then by category; Jira's extra statuses come back after ours
            assert pairs[:8] == [
                ("not_started", "To Do"),
                ("under_consideration", "To Do"),
                ("ready_to_develop", "To Do"),
                ("in_development", "In Progress"),
                ("in_review", "In Review"),
                ("ready_to_ship", "In Progress"),
                ("shipped", "Done"),
                ("will_not_implement", "Done"),
            ]
    # ... and the Mappings page does not flag it as a field Jira no longer has
    assert not [p for p in selectors.integration_warnings(jira) if p.code == "field_gone"]


def test_status_can_be_mapped_by_hand_on_an_issue_type_row(jira):
    conf.configuration_reload(integration=jira)
    rms.mappings_apply_defaults(integration=jira)
    epic = selectors.record_mapping_for_kind(jira, "epic")
    epic.field_mappings.filter(local_field="status").delete()
    fm = fms.field_mapping_add(
        integration=jira, record_mapping_id=epic.pk, local_field="status", jira_field_id="status"
    )
    assert (fm.jira_field_id, fm.jira_field_name) == ("status", "Status")
    vm = fms.value_mapping_add(
        integration=jira,
        field_mapping_id=fm.pk,
        local_value="in_review",
        jira_value_name="in review",
    )
    assert (vm.jira_value_id, vm.jira_value_name) == ("10001", "In Review")
    # a field Jira really lacks is still refused
    with pytest.raises(ApplicationError) as exc:
        fms.field_mapping_add(
            integration=jira, record_mapping_id=epic.pk, local_field="name", jira_field_id="nope"
        )
    assert "Jira has no field 'nope'" in exc.value.message


def test_defaults_from_init_project_include_initiatives(jira, emulator):
    from integrations.services.integrations import integration_set_project

    integration_set_project(integration=jira, project_key="INIT")
    conf.configuration_reload(integration=jira)
    rms.mappings_apply_defaults(integration=jira)
    rows = selectors.record_mappings_effective(jira)
    assert rows[0].record_kind == "initiative"
    assert rows[0].default_issue_type_name == "Initiative"
    epic = next(r for r in rows if r.record_kind == "epic")
    assert [(x.parent_kind, x.jira_field) for x in epic.linked_to.all()] == [
        ("initiative", "parent"),
        ("release", "fix_versions"),
    ]
    # applying again replaces rather than adds
    result = rms.mappings_apply_defaults(integration=jira)
    assert result.replaced_rows == 5
    assert RecordMapping.objects.filter(integration=jira).count() == 5


def test_reload_never_changes_mappings_and_flags_vanished_issue_types(jira, emulator):
    conf.configuration_reload(integration=jira)
    rms.mappings_apply_defaults(integration=jira)
    before = [(r.record_kind, r.issue_types) for r in selectors.record_mappings_effective(jira)]
    project = emulator.state.project_by_key("DEMO")
    project.issue_type_ids.remove("10001")  # Story
    result = conf.configuration_reload(integration=jira)
    assert [t["name"] for t in result.removed["issue_types"]] == ["Story"]
    after = [(r.record_kind, r.issue_types) for r in selectors.record_mappings_effective(jira)]
    assert after == before
    messages = [w["message"] for w in result.as_dict()["warnings"]]
    assert (
        "Row 3 (Features) maps to issue type 'Story' (10001), which Jira no longer has in "
        "project DEMO." in messages
    )


def test_reload_for_an_unknown_project_says_so(jira):
    from integrations.services.integrations import integration_set_project

    integration_set_project(integration=jira, project_key="NOPE")
    with pytest.raises(ApplicationError) as exc:
        conf.configuration_reload(integration=jira)
    assert "NOPE" in exc.value.message
    assert "configuration" in exc.value.fields


def test_reload_without_credentials_names_the_field(workspace):
    integration = integration_create(account=workspace.account, workspace=workspace, name="J")
    with pytest.raises(ApplicationError) as exc:
        conf.configuration_reload(integration=integration)
    assert exc.value.fields == {"project_key": [exc.value.message]}
