"""The five record resources, each filling in the generic cases, plus /records/."""

import pytest

from records.kinds import RecordKind
from records.models import Record
from tests.api.cases import RecordResourceCases, WithParentsCases, error_fields
from tests.factories import make_record


class TestInitiatives(RecordResourceCases):
    kind = RecordKind.INITIATIVE
    endpoint = "initiatives"
    reference_re = r"APP-I-\d+"


class TestReleases(WithParentsCases, RecordResourceCases):
    kind = RecordKind.RELEASE
    endpoint = "releases"
    reference_re = r"APP-R-\d+"

    def create_data(self, workspace):
        return {**super().create_data(workspace), "release_date": "2025-03-31"}

    def test_release_date_is_shown_and_validated(self, owner_api, workspace):
        response = owner_api.post(self.url(), self.create_data(workspace), format="json")
        assert response.json()["release_date"] == "2025-03-31"
        bad = {**self.create_data(workspace), "release_date": "2025-02-30"}
        response = owner_api.post(self.url(), bad, format="json")
        assert response.status_code == 400
        assert "release_date" in error_fields(response)


class TestEpics(WithParentsCases, RecordResourceCases):
    kind = RecordKind.EPIC
    endpoint = "epics"
    reference_re = r"APP-E-\d+"


class TestFeatures(WithParentsCases, RecordResourceCases):
    kind = RecordKind.FEATURE
    endpoint = "features"
    reference_re = r"APP-\d+"

    def test_release_epic_and_initiative_at_once(self, owner_api, workspace):
        parents = {k: make_record(workspace, k) for k in ("release", "epic", "initiative")}
        data = {**self.create_data(workspace), **{k: v.pk for k, v in parents.items()}}
        response = owner_api.post(self.url(), data, format="json")
        assert response.status_code == 201, response.content
        assert {k: response.json()[k] for k in parents} == {k: v.pk for k, v in parents.items()}

    def test_release_date_is_not_a_feature_field(self, owner_api, workspace):
        data = {**self.create_data(workspace), "release_date": "2025-01-01"}
        response = owner_api.post(self.url(), data, format="json")
        assert response.status_code == 400
        assert "release_date" in error_fields(response)


class TestRequirements(WithParentsCases, RecordResourceCases):
    kind = RecordKind.REQUIREMENT
    endpoint = "requirements"
    reference_re = r"APP-\d+-\d+"

    def required_parents(self, workspace):
        return {"feature": make_record(workspace, RecordKind.FEATURE)}

    def test_a_requirement_needs_its_feature(self, owner_api, workspace):
        data = self.create_data(workspace)
        del data["feature"]
        response = owner_api.post(self.url(), data, format="json")
        assert response.status_code == 400
        assert error_fields(response)["feature"] == ["This field is required."]
        response = owner_api.post(self.url(), {**data, "feature": None}, format="json")
        assert response.status_code == 400
        assert "feature" in error_fields(response)

    def test_deleting_the_feature_deletes_its_requirements(self, owner_api, workspace):
        requirement = self.make(workspace)
        assert owner_api.delete(f"/api/v1/features/{requirement.feature_id}/").status_code == 204
        assert not Record.objects.filter(pk=requirement.pk).exists()


@pytest.fixture
def tree(workspace):
    release = make_record(workspace, "release")
    epic = make_record(workspace, "epic", release=release)
    feature = make_record(workspace, "feature", release=release, epic=epic)
    requirements = [make_record(workspace, "requirement", feature=feature) for _ in range(3)]
    return release, epic, feature, requirements


def test_generic_record_read_any_kind(owner_api, tree):
    release, epic, feature, requirements = tree
    for record in (release, epic, feature, requirements[0]):
        body = owner_api.get(f"/api/v1/records/{record.pk}/").json()
        assert (body["id"], body["kind"], body["reference"]) == (
            record.pk,
            record.kind,
            record.reference,
        )
        assert body["url"].endswith(f"/api/v1/{record.kind}s/{record.pk}/")


def test_generic_record_list_filters_by_kind(owner_api, tree):
    response = owner_api.get("/api/v1/records/", {"kind": "requirement"})
    assert response.json()["count"] == 3


def test_children_are_listed_and_paginated(owner_api, tree):
    release, epic, feature, requirements = tree
    body = owner_api.get(f"/api/v1/records/{release.pk}/children/").json()
    assert [r["id"] for r in body["results"]] == [epic.pk, feature.pk]
    body = owner_api.get(f"/api/v1/records/{epic.pk}/children/").json()
    assert [r["id"] for r in body["results"]] == [feature.pk]
    body = owner_api.get(f"/api/v1/records/{feature.pk}/children/", {"page_size": 2}).json()
    assert body["count"] == 3
    assert [r["id"] for r in body["results"]] == [r.pk for r in requirements[:2]]
    assert body["next"]
    body = owner_api.get(f"/api/v1/records/{requirements[0].pk}/children/").json()
    assert body["count"] == 0


def test_generic_records_are_read_only(owner_api, tree):
    release = tree[0]
    response = owner_api.patch(f"/api/v1/records/{release.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["message"]


def test_a_record_shows_its_jira_issue_per_integration(owner_api, workspace):
    from integrations.models import Integration
    from sync.models import JiraLink

    feature = make_record(workspace, "feature")
    integration = Integration.objects.create(
        account=workspace.account, workspace=workspace, name="Jira"
    )
    JiraLink.objects.create(
        integration=integration,
        record=feature,
        jira_kind="issue",
        jira_id="10001",
        jira_key="DEMO-7",
        jira_url="https://example.atlassian.net/browse/DEMO-7",
    )
    body = owner_api.get(f"/api/v1/features/{feature.pk}/").json()
    assert body["jira"] == [
        {
            "integration": integration.pk,
            "key": "DEMO-7",
            "url": "https://example.atlassian.net/browse/DEMO-7",
            "last_synced_at": None,
            "last_error": "",
        }
    ]
    listed = owner_api.get("/api/v1/features/").json()["results"]
    assert listed[0]["jira"][0]["key"] == "DEMO-7"
