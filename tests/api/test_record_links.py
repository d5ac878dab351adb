import pytest

from records.models import RecordLink
from records.services import record_link_create
from tests.api.cases import error_fields
from tests.factories import make_record, make_workspace

URL = "/api/v1/record-links/"


@pytest.fixture
def pair(workspace):
    return make_record(workspace, "feature", name="Login"), make_record(workspace, "epic")


def test_create_shows_both_names_and_summaries(contributor_api, contributor, pair):
    source, target = pair
    response = contributor_api.post(
        URL, {"source": source.pk, "target": target.pk, "link_type": "blocks"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["outward_name"], body["inward_name"]) == ("Blocks", "Is blocked by")
    assert body["source_summary"] == {"id": source.pk, "reference": "APP-1", "name": "Login"}
    assert body["target_summary"]["reference"] == target.reference
    assert body["workspace"] == source.workspace_id
    assert body["created_by"] == contributor.pk
    assert RecordLink.objects.filter(pk=body["id"], link_type="blocks").exists()


def test_list_filters_by_workspace_and_record(owner_api, workspace, account, pair):
    source, target = pair
    third = make_record(workspace, "initiative")
    first = record_link_create(source=source, target=target, link_type="relates_to")
    second = record_link_create(source=third, target=source, link_type="impacts")
    other_ws = make_workspace(account=account, prefix="SEC")
    elsewhere = record_link_create(
        source=make_record(other_ws, "epic"),
        target=make_record(other_ws, "epic"),
        link_type="blocks",
    )

    def ids(**params):
        return {link["id"] for link in owner_api.get(URL, params).json()["results"]}

    assert ids() == {first.pk, second.pk, elsewhere.pk}
    assert ids(workspace=workspace.pk) == {first.pk, second.pk}
    assert ids(record=source.pk) == {first.pk, second.pk}
    assert ids(record=target.pk) == {first.pk}


def test_delete(contributor_api, pair):
    link = record_link_create(source=pair[0], target=pair[1], link_type="depends_on")
    assert contributor_api.delete(f"{URL}{link.pk}/").status_code == 204
    assert not RecordLink.objects.filter(pk=link.pk).exists()


def test_links_cannot_be_edited(owner_api, pair):
    link = record_link_create(source=pair[0], target=pair[1], link_type="depends_on")
    response = owner_api.patch(f"{URL}{link.pk}/", {"link_type": "blocks"}, format="json")
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("change", "field", "message_part"),
    [
        ({"link_type": "loves"}, "link_type", '"loves" is not a link type. Use one of:'),
        ({"link_type": None}, "link_type", "may not be null"),
        ({"target": "source"}, "target", "cannot be linked to itself"),
        ({"target": "abc"}, "target", "as a number"),
        ({"source": 424242}, "source", "Record 424242 not found in your account."),
    ],
)
def test_bad_input_is_a_400_on_the_field(owner_api, pair, change, field, message_part):
    source, target = pair
    data = {"source": source.pk, "target": target.pk, "link_type": "blocks", **change}
    if data["target"] == "source":
        data["target"] = source.pk
    response = owner_api.post(URL, data, format="json")
    assert response.status_code == 400
    assert message_part in error_fields(response)[field][0]


def test_duplicate_and_cross_workspace_links_are_refused(owner_api, account, pair):
    source, target = pair
    record_link_create(source=source, target=target, link_type="relates_to")
    response = owner_api.post(
        URL, {"source": target.pk, "target": source.pk, "link_type": "relates_to"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "duplicate"
    record_link_create(source=source, target=target, link_type="blocks")
    response = owner_api.post(
        URL, {"source": source.pk, "target": target.pk, "link_type": "blocks"}, format="json"
    )
    assert response.status_code == 400
    assert error_fields(response)["target"] == [f"APP-1 already blocks {target.reference}."]
    elsewhere = make_record(make_workspace(account=account, prefix="SEC"), "epic")
    response = owner_api.post(
        URL, {"source": source.pk, "target": elsewhere.pk, "link_type": "blocks"}, format="json"
    )
    assert response.status_code == 400
    assert "same workspace" in error_fields(response)["target"][0]


def test_viewer_cannot_link_or_unlink(viewer_api, pair):
    link = record_link_create(source=pair[0], target=pair[1], link_type="contains")
    response = viewer_api.post(
        URL, {"source": pair[1].pk, "target": pair[0].pk, "link_type": "blocks"}, format="json"
    )
    assert response.status_code == 403
    assert viewer_api.delete(f"{URL}{link.pk}/").status_code == 403
    assert RecordLink.objects.count() == 1


def test_another_account_cannot_see_change_or_use_the_records(other_api, other_workspace, pair):
    source, target = pair
    link = record_link_create(source=source, target=target, link_type="blocks")
    assert other_api.get(f"{URL}{link.pk}/").status_code == 404
    assert other_api.delete(f"{URL}{link.pk}/").status_code == 404
    assert RecordLink.objects.filter(pk=link.pk).exists()
    for params in ({}, {"workspace": source.workspace_id}, {"record": source.pk}):
        assert other_api.get(URL, params).json()["count"] == 0
    own = make_record(other_workspace, "epic")
    for data in (
        {"source": own.pk, "target": target.pk},
        {"source": source.pk, "target": own.pk},
        {"source": source.pk, "target": target.pk},
    ):
        response = other_api.post(URL, {**data, "link_type": "blocks"}, format="json")
        assert response.status_code == 400
        fields = error_fields(response)
        foreign_field = "source" if data["source"] == source.pk else "target"
        assert fields[foreign_field][0].endswith("not found in your account.")
    assert RecordLink.objects.count() == 1
