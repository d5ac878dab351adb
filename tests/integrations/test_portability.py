"""Export an integration's mapping and import it elsewhere; refusals carry JSON paths."""

import copy

import pytest

from core.exceptions import ApplicationError
from integrations.models import RecordMapping
from integrations.services import field_mappings as fms
from integrations.services import portability
from integrations.services import record_mappings as rms
from tests.factories import make_account, make_workspace

from .conftest import configured_integration


@pytest.fixture
def source(integration):
    rms.mappings_apply_defaults(integration=integration)
    feature = RecordMapping.objects.get(integration=integration, record_kind="feature")
    fm = fms.field_mapping_add(
        integration=integration,
        record_mapping_id=feature.pk,
        local_field="story_points",
        jira_field_id="customfield_10016",
        direction="from_jira",
    )
    tags = feature.field_mappings.get(local_field="tags")
    fms.value_mapping_add(
        integration=integration,
        field_mapping_id=tags.pk,
        local_value="ux",
        jira_value_name="design",
    )
    # The recommended defaults mapped the record links (relates to, contains -> Relates...).
    assert (
        integration.relationship_mappings.filter(
            record_kind="feature",
            link_type__in=["relates_to", "contains"],
            jira_link_type_id="10003",
        ).count()
        == 2
    )
    integration.auto_import = True
    integration.save()
    assert fm.pk
    return integration


def _without_volatile(doc):
    doc = copy.deepcopy(doc)
    doc.pop("exported_at")
    doc.pop("source")
    return doc


def test_export_then_import_into_another_account_reproduces_the_mapping(source):
    document = portability.mapping_export(integration=source)
    assert document["format"] == "roadmap-jira-mapping"
    assert document["version"] == 1
    assert "api_token" not in str(document)
    assert "'id': " not in str(document["record_mappings"][0]["field_mappings"])

    other_workspace = make_workspace(account=make_account())
    target = configured_integration(other_workspace, name="Elsewhere")
    portability.mapping_import(integration=target, document=document)
    target.refresh_from_db()
    assert target.auto_import is True
    assert _without_volatile(portability.mapping_export(integration=target)) == _without_volatile(
        document
    )


def test_import_refusals_carry_json_paths_and_write_nothing(source):
    document = portability.mapping_export(integration=source)
    target = configured_integration(make_workspace(account=source.account), name="T")
    broken = copy.deepcopy(document)
    broken["record_mappings"][2]["issue_types"][0] = {"id": "777", "name": "Saga"}
    broken["record_mappings"][2]["field_mappings"][0]["local_field"] = "colour"
    broken["record_mappings"][3]["linked_to"][0]["jira_field"] = "parent"
    broken["relationship_mappings"][0]["jira_link_type_id"] = "999"
    broken["settings"]["auto_import"] = "yes"
    with pytest.raises(ApplicationError) as exc:
        portability.mapping_import(integration=target, document=broken)
    fields = exc.value.fields
    assert "$.record_mappings[2].issue_types[0]" in fields
    assert "$.record_mappings[2].field_mappings[0].local_field" in fields
    assert "$.record_mappings[3].linked_to[0].jira_field" in fields
    assert "$.relationship_mappings[0].jira_link_type_id" in fields
    assert "$.settings.auto_import" in fields
    assert not RecordMapping.objects.filter(integration=target).exists()


def test_import_refuses_a_foreign_document(integration):
    with pytest.raises(ApplicationError) as exc:
        portability.mapping_import(integration=integration, document={"format": "x", "version": 9})
    assert set(exc.value.fields) == {"$.format", "$.version"}
    with pytest.raises(ApplicationError) as exc:
        portability.mapping_import(integration=integration, document=[1, 2])
    assert set(exc.value.fields) == {"$"}
