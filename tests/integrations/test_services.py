"""Record mappings, Linked to, field/value and relationship mappings, and template
inheritance, through the services on a real database."""

import pytest

from core.exceptions import ApplicationError
from integrations import selectors
from integrations.models import FieldMapping, Integration, LinkedTo, RecordMapping
from integrations.services import field_mappings as fms
from integrations.services import integrations as svc
from integrations.services import record_mappings as rms
from integrations.services import relationships as rels

from .conftest import DEMO_CONFIGURATION


def add(integration, kind, *types):
    return rms.record_mapping_add(
        integration=integration, record_kind=kind, issue_type_ids=list(types) or None
    )


def links_of(integration, kind):
    row = selectors.record_mapping_for_kind(integration, kind)
    return [(link.parent_kind, link.jira_field, link.automatic) for link in row.linked_to.all()]


def test_release_then_feature_is_linked_automatically(integration):
    add(integration, "release")
    change = add(integration, "feature", "10001")
    assert links_of(integration, "feature") == [("release", "fix_versions", True)]
    assert change.added_linked_to == ["Features linked to releases (Fix versions)"]


def test_feature_then_release_is_not_linked_until_added_by_hand(integration):
    feature = add(integration, "feature", "10001").mapping
    release = add(integration, "release").mapping
    assert links_of(integration, "feature") == []
    warnings = [w.message for w in selectors.integration_warnings(integration)]
    assert any("Features have no Linked to releases" in w for w in warnings)
    # by hand, in place while the release row is below: added, with a warning about order
    change = rms.linked_to_add(
        integration=integration, record_mapping_id=feature.pk, parent_kind="release"
    )
    assert links_of(integration, "feature") == [("release", "fix_versions", False)]
    assert [(p.code, p.severity) for p in change.problems] == [("linked_to_below", "warning")]
    errors = [
        p
        for r in selectors.validate_mapping(integration)["rows"]
        for p in r["problems"]
        if p["severity"] == "error"
    ]
    assert errors == []
    rms.record_mappings_reorder(integration=integration, ordered_ids=[release.pk, feature.pk])
    assert not any("Linked to" in w.message for w in selectors.integration_warnings(integration))


def test_new_row_gets_default_field_mappings_and_status_values(integration):
    mapping = add(integration, "feature", "10001").mapping
    fields = {fm.local_field: fm for fm in mapping.field_mappings.all()}
    assert fields["name"].jira_field_id == "summary"
    assert "estimate_minutes" not in fields  # timetracking is not in this project
    status_values = [
        (v.local_value, v.jira_value_name) for v in fields["status"].value_mappings.all()
    ]
    assert ("in_development", "In Progress") in status_values


def test_a_record_type_appears_once_and_only_releases_map_to_versions(integration):
    add(integration, "epic", "10000")
    with pytest.raises(ApplicationError) as exc:
        add(integration, "epic", "10000")
    assert "epic" in exc.value.fields["record_kind"][0].lower()
    with pytest.raises(ApplicationError) as exc:
        rms.record_mapping_add(integration=integration, record_kind="feature", target="version")
    assert exc.value.fields["target"] == [
        "Only releases can map to Jira versions; map features to an issue type."
    ]
    with pytest.raises(ApplicationError) as exc:
        add(integration, "feature", "99999")
    assert "issue_type_ids[0]" in exc.value.fields


def test_reorder_keeps_rows_and_reports_links_pointing_below(integration):
    release = add(integration, "release").mapping
    feature = add(integration, "feature", "10001").mapping
    change = rms.record_mappings_reorder(
        integration=integration, ordered_ids=[feature.pk, release.pk]
    )
    assert [p.code for p in change.problems] == ["linked_to_below"]
    assert "Row 1 (Features) is linked to releases" in change.problems[0].message
    assert links_of(integration, "feature") == [("release", "fix_versions", True)]
    assert change.problems[0].severity == "warning"
    change = rms.record_mapping_move(
        integration=integration, record_mapping_id=feature.pk, direction="down"
    )
    assert change.problems == []
    with pytest.raises(ApplicationError) as exc:
        rms.record_mappings_reorder(integration=integration, ordered_ids=[feature.pk])
    assert "ids" in exc.value.fields


def test_removing_a_parent_row_removes_links_to_it_and_says_so(integration):
    release = add(integration, "release").mapping
    add(integration, "epic", "10000")
    add(integration, "feature", "10001")
    change = rms.record_mapping_remove(integration=integration, record_mapping_id=release.pk)
    assert sorted(change.removed_linked_to) == [
        "Epics linked to releases (Fix versions)",
        "Features linked to releases (Fix versions)",
    ]
    assert links_of(integration, "feature") == [("epic", "parent", True)]
    assert list(
        RecordMapping.objects.filter(integration=integration).values_list("position", flat=True)
    ) == [0, 1]


def test_conflicting_parents_warn_and_first_is_effective(integration):
    integration.configuration = {
        **DEMO_CONFIGURATION,
        "issue_types": [
            *DEMO_CONFIGURATION["issue_types"],
            {"id": "20", "name": "Theme", "subtask": False, "hierarchy_level": 1},
        ],
    }
    integration.save()
    add(integration, "initiative", "20")
    add(integration, "epic", "10000")
    feature = add(integration, "feature", "10001")
    # auto-fill did not create a second parent
    assert links_of(integration, "feature") == [("initiative", "parent", True)]
    rms.linked_to_add(
        integration=integration,
        record_mapping_id=feature.mapping.pk,
        parent_kind="epic",
        jira_field="parent",
    )
    conflicts = [
        w for w in selectors.integration_warnings(integration) if w.code == "parent_conflict"
    ]
    assert len(conflicts) == 1
    assert "Initiative link is used" in conflicts[0].message


def test_field_mapping_checks(integration):
    row = add(integration, "epic", "10000").mapping
    with pytest.raises(ApplicationError) as exc:
        fms.field_mapping_add(
            integration=integration,
            record_mapping_id=row.pk,
            local_field="release_date",
            jira_field_id="duedate",
        )
    assert "local_field" in exc.value.fields
    with pytest.raises(ApplicationError) as exc:
        fms.field_mapping_add(
            integration=integration,
            record_mapping_id=row.pk,
            local_field="story_points",
            jira_field_id="customfield_10016",
        )
    assert "not on the issue types" in exc.value.fields["jira_field_id"][0]
    fm = fms.field_mapping_add(
        integration=integration,
        record_mapping_id=row.pk,
        local_field="start_date",
        jira_field_id="priority",
        direction="to_jira_once",
    )
    assert fm.jira_field_name == "Priority"
    status = row.field_mappings.get(local_field="status")
    with pytest.raises(ApplicationError) as exc:
        fms.value_mapping_add(
            integration=integration,
            field_mapping_id=status.pk,
            local_value="shipped",
            jira_value_name="Nope",
        )
    assert "no status 'Nope'" in exc.value.message
    vm = fms.value_mapping_add(
        integration=integration,
        field_mapping_id=status.pk,
        local_value="shipped",
        jira_value_name="in review",
    )
    assert vm.jira_value_id == "10001"


def test_release_version_fields(integration):
    row = add(integration, "release").mapping
    assert {fm.jira_field_id for fm in row.field_mappings.all()} == {
        "name",
        "description",
        "startDate",
        "releaseDate",
        "released",
    }
    with pytest.raises(ApplicationError):
        fms.field_mapping_add(
            integration=integration,
            record_mapping_id=row.pk,
            local_field="name",
            jira_field_id="summary",
        )


def test_relationship_first_match_both_directions(integration):
    relates = rels.relationship_mapping_add(
        integration=integration,
        record_kind="feature",
        link_type="relates_to",
        jira_link_type_id="10003",
    )
    rels.relationship_mapping_add(
        integration=integration,
        record_kind="feature",
        link_type="contains",
        jira_link_type_id="10003",
    )
    assert (
        selectors.relationship_for_outgoing(integration, "feature", "contains").jira_link_type_name
        == "Relates"
    )
    assert selectors.relationship_for_incoming(integration, "feature", "10003", "inward") == relates
    blocks = rels.relationship_mapping_add(
        integration=integration,
        record_kind="feature",
        link_type="blocks",
        jira_link_type_id="10000",
        sync_direction="to_jira",
    )
    assert selectors.relationship_for_incoming(integration, "feature", "10000", "outward") is None
    assert selectors.relationship_for_outgoing(integration, "feature", "blocks") == blocks
    with pytest.raises(ApplicationError) as exc:
        rels.relationship_mapping_add(
            integration=integration,
            record_kind="requirement",
            link_type="blocks",
            jira_link_type_id="10000",
        )
    assert "record_kind" in exc.value.fields
    integration.configuration = {**DEMO_CONFIGURATION, "link_types": []}
    integration.save()
    with pytest.raises(ApplicationError) as exc:
        rels.relationship_mapping_add(
            integration=integration,
            record_kind="epic",
            link_type="blocks",
            jira_link_type_id="10000",
        )
    assert "Reload configuration" in exc.value.fields["jira_link_type_id"][0]


def test_template_inheritance_copy_on_write_and_reset(workspace):
    template = svc.integration_create(
        account=workspace.account, name="Account Jira", is_template=True
    )
    template.configuration = DEMO_CONFIGURATION
    template.save()
    svc.integration_set_connection(
        integration=template,
        base_url="team.atlassian.net/jira/software",
        email="a@b.co",
        api_token="tok-1",
    )
    add(template, "release")
    derived = svc.integration_create(
        account=workspace.account, workspace=workspace, name="App Jira", template=template
    )
    other = svc.integration_create(
        account=workspace.account, workspace=workspace, name="Other", template=template
    )
    assert selectors.effective_connection(derived).base_url == "https://team.atlassian.net"
    assert [m.record_kind for m in selectors.record_mappings_effective(derived)] == ["release"]

    # a change to the template reaches every derived integration
    add(template, "feature", "10001")
    assert [m.record_kind for m in selectors.record_mappings_effective(derived)] == [
        "release",
        "feature",
    ]

    # the first write to an inherited part copies it, addressed by the template row's id
    template_feature = selectors.record_mapping_for_kind(template, "feature")
    rms.linked_to_remove(
        integration=derived, record_mapping_id=template_feature.pk, parent_kind="release"
    )
    derived.refresh_from_db()
    assert Integration.Part.RECORD_MAPPINGS in derived.overridden_parts
    assert links_of(derived, "feature") == []
    assert links_of(template, "feature") == [("release", "fix_versions", True)]
    assert links_of(other, "feature") == [("release", "fix_versions", True)]

    # later template changes no longer reach the overridden part, but still reach others
    add(template, "epic", "10000")
    assert [m.record_kind for m in selectors.record_mappings_effective(derived)] == [
        "release",
        "feature",
    ]
    assert len(selectors.record_mappings_effective(other)) == 3
    # the connection is still inherited
    svc.integration_set_connection(integration=template, email="new@b.co")
    assert selectors.effective_connection(derived).email == "new@b.co"

    svc.integration_reset_part(integration=derived, part="record_mappings")
    assert len(selectors.record_mappings_effective(derived)) == 3
    assert not RecordMapping.objects.filter(integration=derived).exists()

    # deleting the template leaves derived integrations with their own copies
    svc.integration_delete(integration=template)
    derived.refresh_from_db()
    assert derived.template is None
    assert len(selectors.record_mappings_effective(derived)) == 3
    assert derived.get_api_token() == "tok-1"


def test_site_url_normalisation():
    n = svc.normalize_site_url
    assert n("team.atlassian.net/", deployment="cloud") == "https://team.atlassian.net"
    assert (
        n("http://team.atlassian.net/jira/software/projects/X", deployment="cloud")
        == "https://team.atlassian.net"
    )
    assert (
        n("https://jira.corp.example/jira/browse/X-1", deployment="data_center")
        == "https://jira.corp.example/jira"
    )
    assert (
        n("https://jira.corp.example:8443/secure/Dashboard.jspa", deployment="data_center")
        == "https://jira.corp.example:8443"
    )
    with pytest.raises(ApplicationError) as exc:
        n("ftp://jira.example", deployment="cloud")
    assert exc.value.fields == {"base_url": [exc.value.message]}


def test_enable_requires_a_complete_mapping(integration):
    with pytest.raises(ApplicationError) as exc:
        svc.integration_enable(integration=integration)
    assert "connection" in exc.value.message
    assert integration.state == "draft"
    assert FieldMapping.objects.count() == 0
    assert LinkedTo.objects.count() == 0


def test_replacing_inherited_record_link_pairs_translates_the_templates_ids(workspace):
    """The Configure modal posts the pairs it shows; on an integration that inherits them those
    are the template's rows. Saving takes the part over once, keeps the template intact, and
    stores the posted list in its order."""
    template = svc.integration_create(account=workspace.account, name="T", is_template=True)
    template.configuration = DEMO_CONFIGURATION
    template.save()
    relates = rels.relationship_mapping_add(
        integration=template,
        record_kind="feature",
        link_type="relates_to",
        jira_link_type_id="10003",
    )
    blocks = rels.relationship_mapping_add(
        integration=template,
        record_kind="feature",
        link_type="blocks",
        jira_link_type_id="10000",
    )
    derived = svc.integration_create(
        account=workspace.account, workspace=workspace, name="D", template=template
    )
    saved = rels.relationship_mappings_replace(
        integration=derived,
        record_kind="feature",
        pairs=[
            {"id": str(blocks.pk)},  # kept, now first
            {"id": "", "link_type": "contains", "jira_link_type_id": "10003"},  # added
            {"id": str(relates.pk)},  # kept, last
        ],
    )
    assert [(r.integration_id, r.link_type) for r in saved] == [
        (derived.pk, "blocks"),
        (derived.pk, "contains"),
        (derived.pk, "relates_to"),
    ]
    assert [r.link_type for r in selectors.relationship_mappings_effective(derived, "feature")] == [
        "blocks",
        "contains",
        "relates_to",
    ]
    template_pairs = selectors.relationship_mappings_effective(template, "feature")
    assert [r.pk for r in template_pairs] == [relates.pk, blocks.pk]

    with pytest.raises(ApplicationError) as refused:
        rels.relationship_mappings_replace(
            integration=derived,
            record_kind="feature",
            pairs=[{"id": "", "link_type": "blocks", "jira_link_type_id": "nope"}],
        )
    assert list(refused.value.fields) == ["pairs[0].jira_link_type_id"]
    # all or nothing: the refused save removed nothing
    assert len(selectors.relationship_mappings_effective(derived, "feature")) == 3


def test_what_the_tool_cannot_hold_is_refused_in_words_before_anything_is_stored(
    integration, monkeypatch
):
    # A tool without versions or issue links (a second provider beside Jira): the provider's
    # capabilities are checked at its edge, not discovered when the sync fails.
    from integrations.providers import registry
    from integrations.providers.base import Capability, Provider

    class Tracker(Provider):
        key = "tracker"
        display_name = "Tracker"
        capabilities = frozenset({Capability.ISSUES})

    monkeypatch.setitem(registry._PROVIDERS, "tracker", Tracker())
    Integration.objects.filter(pk=integration.pk).update(provider="tracker")
    integration.refresh_from_db()
    with pytest.raises(ApplicationError, match="Tracker cannot take releases as versions"):
        rms.record_mapping_add(integration=integration, record_kind="release", target="version")
    assert not RecordMapping.objects.filter(integration=integration, record_kind="release").exists()
    with pytest.raises(ApplicationError, match="Tracker cannot link issues"):
        rels.relationship_mapping_add(
            integration=integration,
            record_kind="feature",
            link_type="blocks",
            jira_link_type_id="10000",
        )
    # Jira can do both.
    Integration.objects.filter(pk=integration.pk).update(provider="jira")
    integration.refresh_from_db()
    rms.record_mapping_add(integration=integration, record_kind="release", target="version")


def test_every_jira_error_is_a_provider_error_generic_code_can_catch():
    from integrations.providers.base import ProviderConfigError, ProviderError
    from integrations.providers.jira import errors

    assert issubclass(errors.JiraError, ProviderError)
    assert issubclass(errors.JiraConfigError, ProviderConfigError)
    assert errors.JiraUnavailable("down").transient
