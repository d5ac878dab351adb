"""Workspaces, API keys and /me/."""

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role, Workspace
from tests.api.cases import error_fields
from tests.factories import add_member, make_account, make_workspace

WS = "/api/v1/workspaces/"
KEYS = "/api/v1/api-keys/"


# --- workspaces -------------------------------------------------------------------------------
def test_members_list_and_read_their_workspaces_only(viewer_api, workspace, other_workspace):
    body = viewer_api.get(WS).json()
    assert [w["id"] for w in body["results"]] == [workspace.pk]
    detail = viewer_api.get(f"{WS}{workspace.pk}/").json()
    assert (detail["prefix"], detail["account"], detail["account_name"]) == (
        "APP",
        workspace.account_id,
        "Acme",
    )
    assert viewer_api.get(f"{WS}{other_workspace.pk}/").status_code == 404


def test_admin_creates_a_workspace_in_a_chosen_account(admin_api, account):
    response = admin_api.post(
        WS, {"account": account.pk, "name": "Mobile", "prefix": "mob"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["prefix"] == "MOB"
    assert Workspace.objects.get(pk=response.json()["id"]).account == account


def test_workspace_input_errors(owner_api, account, workspace, other_account):
    cases = [
        ({"account": account.pk, "name": "X", "prefix": "APP"}, "prefix", "already used"),
        ({"account": account.pk, "name": "X", "prefix": "1A"}, "prefix", "capital letters"),
        ({"account": account.pk, "name": " ", "prefix": "NEW"}, "name", "may not be blank"),
        ({"name": "X", "prefix": "NEW"}, "account", "required"),
        (
            {"account": other_account.pk, "name": "X", "prefix": "NEW"},
            "account",
            f"Account {other_account.pk} not found in your account.",
        ),
    ]
    for data, field, part in cases:
        response = owner_api.post(WS, data, format="json")
        assert response.status_code == 400, data
        assert part in error_fields(response)[field][0], response.json()
    assert not Workspace.objects.filter(account=other_account, prefix="NEW").exists()


def test_prefix_and_account_are_fixed_after_creation(owner_api, workspace, owner):
    second = make_account(owner=owner)
    response = owner_api.patch(f"{WS}{workspace.pk}/", {"prefix": "NEW"}, format="json")
    assert response.status_code == 400
    assert "fixed" in error_fields(response)["prefix"][0]
    response = owner_api.patch(f"{WS}{workspace.pk}/", {"account": second.pk}, format="json")
    assert "account" in error_fields(response)
    response = owner_api.put(
        f"{WS}{workspace.pk}/",
        {"account": workspace.account_id, "prefix": "APP", "name": "Renamed", "description": "d"},
        format="json",
    )
    assert response.status_code == 200, response.content
    workspace.refresh_from_db()
    assert (workspace.name, workspace.description, workspace.prefix) == ("Renamed", "d", "APP")


def test_contributors_and_viewers_cannot_administer_workspaces(
    contributor_api, viewer_api, workspace, account
):
    for api in (contributor_api, viewer_api):
        response = api.post(WS, {"account": account.pk, "name": "X", "prefix": "XX"}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "Only an account owner or admin can do this."
        response = api.patch(f"{WS}{workspace.pk}/", {"name": "X"}, format="json")
        assert response.status_code == 403
    assert not Workspace.objects.filter(prefix="XX").exists()


def test_admin_of_one_account_is_not_admin_of_another(contributor, contributor_api, owner):
    # contributor here, owner there: may create there, not here.
    elsewhere = make_account(owner=contributor, name="Side project")
    here = owner.memberships.get().account
    response = contributor_api.post(
        WS, {"account": here.pk, "name": "X", "prefix": "XX"}, format="json"
    )
    assert response.status_code == 403
    response = contributor_api.post(
        WS, {"account": elsewhere.pk, "name": "X", "prefix": "XX"}, format="json"
    )
    assert response.status_code == 201


def test_another_accounts_workspace_cannot_be_changed(other_api, workspace):
    response = other_api.patch(f"{WS}{workspace.pk}/", {"name": "Hacked"}, format="json")
    assert response.status_code == 404
    workspace.refresh_from_db()
    assert workspace.name == "App"


def test_workspaces_cannot_be_deleted_through_the_api(owner_api, workspace):
    assert owner_api.delete(f"{WS}{workspace.pk}/").status_code == 405
    assert Workspace.objects.filter(pk=workspace.pk).exists()


# --- API keys ---------------------------------------------------------------------------------
# Keys are managed from a signed-in session (an API key cannot create or revoke keys).
def _session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_session(viewer):
    return _session(viewer)


@pytest.fixture
def owner_session(owner):
    return _session(owner)


@pytest.fixture
def contributor_session(contributor):
    return _session(contributor)


def test_create_shows_the_key_once_and_it_works(viewer_session, viewer):
    viewer_api = viewer_session
    response = viewer_api.post(KEYS, {"name": "CI"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    raw = body["key"]
    assert raw.startswith(body["prefix"])
    assert body["revoked"] is False
    assert raw not in viewer_api.get(KEYS).content.decode()
    assert raw not in viewer_api.get(f"{KEYS}{body['id']}/").content.decode()
    assert "key" not in viewer_api.get(f"{KEYS}{body['id']}/").json()
    stored = ApiKey.objects.get(pk=body["id"])
    assert raw not in (stored.key_hash, stored.prefix)
    from rest_framework.test import APIClient

    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert fresh.get("/api/v1/me/").json()["id"] == viewer.pk


def test_create_needs_a_name(owner_session):
    response = owner_session.post(KEYS, {"name": "  "}, format="json")
    assert response.status_code == 400
    assert "name" in error_fields(response)


def test_keys_list_is_the_users_own(owner_session, contributor_session, contributor):
    owner_api = owner_session
    contributor_session.post(KEYS, {"name": "mine"}, format="json")
    names = [k["name"] for k in owner_api.get(KEYS).json()["results"]]
    assert "mine" not in names
    theirs = ApiKey.objects.filter(user=contributor).first()
    assert owner_api.get(f"{KEYS}{theirs.pk}/").status_code == 404
    assert owner_api.delete(f"{KEYS}{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


def test_revoke_by_delete_and_by_post(owner_session, owner):
    owner_api = owner_session
    first = owner_api.post(KEYS, {"name": "one"}, format="json").json()
    second = owner_api.post(KEYS, {"name": "two"}, format="json").json()
    assert owner_api.delete(f"{KEYS}{first['id']}/").status_code == 204
    response = owner_api.post(f"{KEYS}{second['id']}/revoke/")
    assert response.status_code == 200
    assert response.json()["revoked"] is True
    listed = {k["id"]: k for k in owner_api.get(KEYS).json()["results"]}
    assert listed[first["id"]]["revoked"]
    assert listed[first["id"]]["revoked_at"]
    assert listed[second["id"]]["revoked"]


# --- me ---------------------------------------------------------------------------------------
def test_me_lists_accounts_and_roles(contributor_api, contributor, account):
    other = make_account(name="Zeta")
    add_member(other, user=contributor, role=Role.VIEWER)
    make_workspace(account=other)
    body = contributor_api.get("/api/v1/me/").json()
    assert (body["id"], body["username"], body["email"]) == (
        contributor.pk,
        contributor.username,
        contributor.email,
    )
    assert body["accounts"] == [
        {
            "id": account.pk,
            "name": "Acme",
            "role": "contributor",
            "can_edit_records": True,
            "can_administer": False,
        },
        {
            "id": other.pk,
            "name": "Zeta",
            "role": "viewer",
            "can_edit_records": False,
            "can_administer": False,
        },
    ]
