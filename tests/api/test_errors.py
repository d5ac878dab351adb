"""Bad input of every sort is a JSON error naming what is wrong, never a 500."""

import pytest

from records.models import Record
from tests.api.cases import error_fields
from tests.factories import make_record


def test_malformed_json(owner_api, workspace):
    response = owner_api.generic(
        "POST", "/api/v1/features/", '{"name": "x",', content_type="application/json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "JSON parse error" in error["message"]


def test_a_list_instead_of_an_object(owner_api, workspace):
    response = owner_api.post("/api/v1/features/", [{"name": "x"}], format="json")
    assert response.status_code == 400
    assert "must be a JSON object" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("field", "value", "message_part"),
    [
        ("name", ["a", "list"], "Not a valid string."),
        ("name", "x" * 300, "no more than 255"),
        ("workspace", "first", "as a number"),
        ("status", "launched", "'launched' is not a feature status. Use one of: not_started"),
        ("due_date", "tomorrow", "Date has wrong format"),
        ("due_date", "2025-13-01", "Date has wrong format"),
        ("story_points", "lots", "A valid number is required."),
        ("story_points", "1.25", "no more than 1 decimal place"),
        ("estimate_minutes", -5, "greater than or equal to 0"),
        ("tags", [["nested"]], "Not a valid string."),
        ("assignee", "me", "as a number"),
    ],
)
def test_wrong_values_name_the_field(owner_api, workspace, field, value, message_part):
    data = {"workspace": workspace.pk, "name": "Feature", field: value}
    response = owner_api.post("/api/v1/features/", data, format="json")
    assert response.status_code == 400, response.content
    fields = error_fields(response)
    assert any(key == field or key.startswith(f"{field}.") for key in fields), fields
    assert any(message_part in m for ms in fields.values() for m in ms), fields
    message = response.json()["error"]["message"]
    assert message.startswith(f"{field}") or message == fields[field][0]
    assert not Record.objects.exists()


def test_assignee_outside_the_account_is_not_found(owner_api, workspace, other_owner):
    data = {"workspace": workspace.pk, "name": "F", "assignee": other_owner.pk}
    response = owner_api.post("/api/v1/features/", data, format="json")
    assert error_fields(response)["assignee"] == [
        f"User {other_owner.pk} not found in your account."
    ]


def test_unknown_ids_and_garbage_in_urls_are_404s(owner_api, workspace):
    for path in ("/api/v1/features/999999/", "/api/v1/features/abc/", "/api/v1/records/0/"):
        response = owner_api.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == (
            "Not found: it does not exist, or it is not in your account."
        )


def test_non_numeric_filter_ids_are_400s(owner_api, workspace):
    response = owner_api.get("/api/v1/features/", {"workspace": "APP"})
    assert response.status_code == 400
    assert "workspace" in error_fields(response)


def test_a_page_past_the_end(owner_api, workspace):
    make_record(workspace, "feature")
    response = owner_api.get("/api/v1/features/", {"page": 9})
    assert response.status_code == 404
    assert "Invalid page" in response.json()["error"]["message"]


def test_method_not_allowed_is_json(owner_api, workspace):
    response = owner_api.delete("/api/v1/me/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_fractional_and_huge_ids_are_refused_or_not_found(owner_api, workspace):
    huge = 10**20
    response = owner_api.get("/api/v1/features/", {"workspace": "1.5"})
    assert response.status_code == 400
    assert "whole number" in error_fields(response)["workspace"][0]
    response = owner_api.get("/api/v1/features/", {"release": huge})
    assert (response.status_code, response.json()["count"]) == (200, 0)
    assert owner_api.get(f"/api/v1/features/{huge}/").status_code == 404
    response = owner_api.post(
        "/api/v1/features/", {"workspace": workspace.pk, "name": "F", "epic": huge}, format="json"
    )
    assert response.status_code == 400
    assert error_fields(response)["epic"] == [f"Epic {huge} not found in your account."]
