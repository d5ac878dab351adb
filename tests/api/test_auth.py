"""Authentication: API keys (Bearer) and the session with CSRF."""

import pytest
import requests
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke

ME = "/api/v1/me/"


def call(header: str | None, path: str = ME):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(path)


def test_a_valid_key_authenticates_and_records_its_use(owner, account):
    key, raw = api_key_create(user=owner, name="script")
    response = call(f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["username"] == "owner"
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.parametrize(
    ("header", "message_part"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer", "Send the key as 'Authorization: Bearer <key>'"),
        ("Bearer two parts", "Send the key as 'Authorization: Bearer <key>'"),
        ("Bearer rjs_not-a-real-key", "This API key is not valid or was revoked."),
    ],
)
def test_missing_malformed_and_unknown_keys_are_401s(db, header, message_part):
    for path in (ME, "/api/v1/features/", "/api/v1/workspaces/"):
        response = call(header, path)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert message_part in response.json()["error"]["message"]


def test_a_revoked_key_is_refused(owner):
    key, raw = api_key_create(user=owner, name="old")
    api_key_revoke(user=owner, key_id=key.pk)
    response = call(f"Bearer {raw}")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_a_deactivated_users_key_is_refused(owner):
    _, raw = api_key_create(user=owner, name="k")
    owner.is_active = False
    owner.save()
    response = call(f"Bearer {raw}")
    assert response.status_code == 401
    assert "deactivated" in response.json()["error"]["message"]


def test_the_raw_key_is_not_stored(owner):
    key, raw = api_key_create(user=owner, name="k")
    assert not ApiKey.objects.filter(key_hash=raw).exists()
    assert raw not in str(ApiKey.objects.filter(pk=key.pk).values().get())


def test_session_reads_and_writes_need_the_csrf_token(owner, workspace):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.get(ME).status_code == 200
    data = {"workspace": workspace.pk, "name": "From the browser"}
    response = client.post("/api/v1/features/", data, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    client.get("/admin/login/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/api/v1/features/", data, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content


def test_bearer_over_real_http(live_server, owner, workspace):
    _, raw = api_key_create(user=owner, name="http")
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"{live_server.url}/api/v1/features/"
    created = requests.post(
        url, json={"workspace": workspace.pk, "name": "Over the wire"}, headers=headers, timeout=10
    )
    assert created.status_code == 201, created.text
    assert created.json()["reference"] == "APP-1"
    listed = requests.get(url, headers=headers, timeout=10)
    assert [r["name"] for r in listed.json()["results"]] == ["Over the wire"]
    refused = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert refused.status_code == 401
