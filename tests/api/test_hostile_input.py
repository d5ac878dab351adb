"""Hostile input across the API and the pages gets clear 400s, never a 500: bodies nested a
thousand levels deep, bodies that are not JSON objects, NUL characters in the address or the
query, a page size that is not a number; and every error under /api/ is JSON, Django's own
404s for paths no route matches included."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from integrations.services.integrations import integration_create
from tests.factories import make_record

pytestmark = pytest.mark.django_db


def error_of(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"]
    assert error["message"]
    return error


@pytest.fixture
def integration(account, workspace):
    return integration_create(account=account, workspace=workspace, name="Jira")


def create_urls(workspace, integration) -> list[str]:
    base = f"/api/v1/integrations/{integration.pk}"
    return [
        "/api/v1/features/",
        "/api/v1/record-links/",
        "/api/v1/integrations/",
        "/api/v1/api-keys/",
        f"{base}/record-mappings/",
        f"{base}/field-mappings/",
        f"{base}/relationship-mappings/",
        f"{base}/import/",
    ]


@pytest.fixture
def api_for(owner_api, client, owner):
    """The owner's API key, but a signed-in session for API keys (a key may not make keys)."""
    client.force_login(owner)
    return lambda url: client if url.endswith("/api-keys/") else owner_api


@pytest.mark.parametrize("body", ['"AAA"', "[null]", "1", "null", "true", "[]"])
def test_a_body_that_is_not_a_json_object_is_a_400_on_every_create(
    api_for, workspace, integration, body
):
    for url in create_urls(workspace, integration):
        response = api_for(url).post(url, data=body, content_type="application/json")
        error = error_of(response, 400)
        assert "must be a JSON object" in error["message"], url


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_a_deeply_nested_body_is_a_400(api_for, workspace, integration, depth):
    body = '{"name": "x", "fields": ' + "[" * depth + "]" * depth + "}"
    for url in create_urls(workspace, integration):
        response = api_for(url).post(url, data=body, content_type="application/json")
        assert "nested deeper than 64 levels" in error_of(response, 400)["message"], url


@pytest.mark.parametrize(
    ("text", "said"), [("a\u0000b", "NUL character"), ("a\ud800b", "lone UTF-16 surrogate")]
)
def test_text_no_database_stores_is_a_400(owner_api, workspace, integration, text, said):
    body = json.dumps({"workspace": workspace.pk, "name": "ok", "tags": [text]})
    response = owner_api.post("/api/v1/features/", data=body, content_type="application/json")
    assert said in error_of(response, 400)["message"]
    document = json.dumps({"format": 1, "mappings": [{"record_kind": text}]})
    response = owner_api.post(
        f"/api/v1/integrations/{integration.pk}/import/",
        data=document,
        content_type="application/json",
    )
    assert said in error_of(response, 400)["message"]


@pytest.mark.parametrize("param", ["q", "tag", "status", "record_mapping", "x\u0000"])
def test_nul_in_an_api_query_parameter_is_a_400(owner_api, workspace, integration, param):
    for url in (
        "/api/v1/features/",
        f"/api/v1/integrations/{integration.pk}/field-mappings/",
    ):
        response = owner_api.get(url, {param: "a\u0000b"})
        assert "NUL character" in error_of(response, 400)["message"]


def test_nul_in_page_query_parameters_is_a_400(client, owner, workspace):
    feature = make_record(workspace, "feature", "Checkout")
    client.force_login(owner)
    for url, params in (
        (f"/workspaces/{workspace.pk}/", {"q": "a\u0000"}),
        (f"/workspaces/{workspace.pk}/", {"tag": "\u0000"}),
        (f"/records/{feature.pk}/link-targets/", {"target": "Check\u0000"}),
        (f"/records/{feature.pk}/link-targets/", {"q": "\u0000"}),
    ):
        response = client.get(url, params)
        assert response.status_code == 400, url
        assert b"NUL character" in response.content


def test_nul_in_a_path_segment_is_a_400(owner_api, integration):
    response = owner_api.get(
        f"/api/v1/integrations/{integration.pk}/record-mappings/1/linked-to/ep%00ic/"
    )
    assert "NUL character" in error_of(response, 400)["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/records/abc/",
        "/api/v1/records/1.5/",
        "/api/v1/integrations/x/field-mappings/",
        "/api/v1/integrations/1/field-mappings/%C3%A9/",
        "/api/v1/no-such-thing/",
        "/api/nothing",
    ],
)
def test_every_api_404_is_json(owner_api, account, path):  # a key needs an account
    error = error_of(owner_api.get(path), 404)
    assert error["code"] == "not_found"


def test_api_404s_are_json_with_debug_on_too(owner_api, account):
    with override_settings(DEBUG=True):
        assert error_of(owner_api.get("/api/v1/records/abc/"), 404)["code"] == "not_found"


def test_pages_keep_their_html_404(client, owner):
    client.force_login(owner)
    response = client.get("/records/abc/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "٣", "1e3"])
def test_a_page_size_that_is_not_a_whole_number_is_a_400(owner_api, workspace, value):
    error = error_of(owner_api.get("/api/v1/records/", {"page_size": value}), 400)
    assert error["fields"] == {"page_size": [error["message"].removeprefix("page_size: ")]}


def test_a_large_page_size_is_capped(owner_api, workspace):
    make_record(workspace, "epic", "Payments")
    for value in ("501", "9" * 5000):
        response = owner_api.get("/api/v1/records/", {"page_size": value})
        assert response.status_code == 200
    assert owner_api.get("/api/v1/records/", {"page_size": "2"}).status_code == 200
