"""The integration API over real HTTP requests through Django: secrets never returned or
logged, refusals are 400s naming the field, roles, and tenant isolation of every endpoint."""

import logging

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from integrations.models import Integration
from tests.factories import add_member, make_account, make_user, make_workspace

from .conftest import DEMO_CONFIGURATION, DEMO_TOKEN, configured_integration

SECRET = "very-secret-token-value-123"


def client_for(user):
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def api(owner):
    return client_for(owner)


def _rows(api, integration):
    return api.get(f"/api/v1/integrations/{integration.pk}/record-mappings/").json()


def test_create_with_connection_never_returns_or_logs_the_secret(api, workspace, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = []
    response = api.post(
        "/api/v1/integrations/",
        {
            "name": "App Jira",
            "workspace": workspace.pk,
            "deployment": "cloud",
            "base_url": "app.atlassian.net/",
            "email": "dev@example.com",
            "api_token": SECRET,
            "project_key": "demo",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["connection"] == {
        "deployment": "cloud",
        "base_url": "https://app.atlassian.net",
        "email": "dev@example.com",
        "api_token_set": True,
        "personal_access_token_set": False,
        "inherited": False,
    }
    assert body["project"]["key"] == "DEMO"
    pk = body["id"]
    bodies.append(response.content)
    for url in ("", f"{pk}/", f"{pk}/export/", f"{pk}/warnings/", f"{pk}/configuration/"):
        bodies.append(api.get(f"/api/v1/integrations/{url}").content)
    bodies.append(
        api.patch(f"/api/v1/integrations/{pk}/", {"name": "Renamed"}, format="json").content
    )
    for content in bodies:
        assert SECRET.encode() not in content
    assert Integration.objects.get(pk=pk).get_api_token() == SECRET
    assert SECRET not in caplog.text


def test_webhook_setup_names_the_intakes_url_and_every_event_it_handles(api, integration, settings):
    # One table of handled events and one URL builder: what the API tells a Jira admin is
    # exactly what the intake accepts and where it listens.
    from sync.events import HANDLED_EVENTS

    body = api.get(f"/api/v1/integrations/{integration.pk}/webhook/").json()
    assert set(body["events"]) == set(HANDLED_EVENTS)
    assert len(body["events"]) == len(HANDLED_EVENTS)
    assert body["url"] == (
        f"{settings.PUBLIC_BASE_URL}/webhooks/jira/{integration.webhook_token}/"
    )
    detail = api.get(f"/api/v1/integrations/{integration.pk}/").json()
    assert body["url"].endswith(detail["webhook_path"])


def test_webhook_secret_is_for_admins_only(api, integration, account):
    response = api.get(f"/api/v1/integrations/{integration.pk}/webhook/")
    assert response.status_code == 200
    assert response.json()["secret"] == integration.get_webhook_secret()
    assert integration.webhook_token in response.json()["url"]
    viewer = add_member(account, role=Role.VIEWER)
    assert (
        client_for(viewer).get(f"/api/v1/integrations/{integration.pk}/webhook/").status_code == 403
    )
    detail = client_for(viewer).get(f"/api/v1/integrations/{integration.pk}/").json()
    assert "secret" not in str(detail).lower()


def test_record_mapping_flow_and_refusals_name_the_field(api, integration):
    base = f"/api/v1/integrations/{integration.pk}"
    feature = api.post(
        f"{base}/record-mappings/",
        {"record_kind": "feature", "issue_type_ids": ["10001"]},
        format="json",
    )
    assert feature.status_code == 201
    release = api.post(f"{base}/record-mappings/", {"record_kind": "release"}, format="json").json()
    assert release["added_linked_to"] == []
    feature_id = feature.json()["record_mapping"]["id"]

    refusal = api.post(
        f"{base}/record-mappings/{feature_id}/linked-to/", {"parent_kind": "epic"}, format="json"
    )
    assert refusal.status_code == 400
    assert "parent_kind" in refusal.json()["error"]["fields"]

    # The release row is below the feature row: Linked to is added in place all the same.
    added = api.post(
        f"{base}/record-mappings/{feature_id}/linked-to/", {"parent_kind": "release"}, format="json"
    )
    assert added.status_code == 201
    assert added.json()["record_mapping"]["linked_to"][0]["jira_field"] == "fix_versions"
    moved = api.post(
        f"{base}/record-mappings/{feature_id}/move/", {"direction": "down"}, format="json"
    )
    assert moved.status_code == 200

    cases = [
        (
            f"{base}/record-mappings/",
            {"record_kind": "feature", "issue_type_ids": ["10001"]},
            "record_kind",
        ),
        (
            f"{base}/record-mappings/",
            {"record_kind": "epic", "issue_type_ids": ["404"]},
            "issue_type_ids[0]",
        ),
        (f"{base}/record-mappings/", {"record_kind": "unicorn"}, "record_kind"),
        (f"{base}/record-mappings/reorder/", {"ids": [feature_id]}, "ids"),
        (
            f"{base}/record-mappings/{feature_id}/linked-to/",
            {"parent_kind": "requirement"},
            "parent_kind",
        ),
        (
            f"{base}/field-mappings/",
            {"record_mapping": feature_id, "local_field": "name", "jira_field_id": "nope"},
            "jira_field_id",
        ),
        (
            f"{base}/relationship-mappings/",
            {"record_kind": "feature", "link_type": "blocks", "jira_link_type_id": "1"},
            "jira_link_type_id",
        ),
        (
            f"{base}/relationship-mappings/",
            {"record_kind": "requirement", "link_type": "blocks", "jira_link_type_id": "10000"},
            "record_kind",
        ),
        (f"{base}/import/", {"format": "nope", "version": 1}, "$.format"),
        (f"{base}/enable/", {}, "mappings"),
        (f"{base}/reset-to-template/", {"part": "connection"}, "part"),
    ]
    for url, data, field in cases:
        response = api.post(url, data, format="json")
        assert response.status_code == 400, (url, response.content)
        assert field in response.json()["error"]["fields"], (url, response.json())
    bad_url = api.patch(f"{base}/", {"base_url": "ftp://x"}, format="json")
    assert bad_url.status_code == 400
    assert "base_url" in bad_url.json()["error"]["fields"]
    unknown = api.patch(f"{base}/", {"colour": "red"}, format="json")
    assert unknown.status_code == 400
    assert "colour" in unknown.json()["error"]["fields"]


def test_apply_defaults_says_it_replaces_and_value_mappings_crud(api, integration):
    base = f"/api/v1/integrations/{integration.pk}"
    response = api.post(f"{base}/apply-defaults/")
    assert response.status_code == 200
    assert response.json()["replaced"] is True
    assert [r["record_kind"] for r in response.json()["record_mappings"]][:2] == [
        "initiative",
        "release",
    ]
    feature = next(r for r in _rows(api, integration) if r["record_kind"] == "feature")
    fms = api.get(f"{base}/field-mappings/?record_mapping={feature['id']}").json()
    status = next(f for f in fms if f["local_field"] == "status")
    vm = api.post(
        f"{base}/field-mappings/{status['id']}/value-mappings/",
        {"local_value": "shipped", "jira_value_name": "In Review"},
        format="json",
    )
    assert vm.status_code == 201
    assert vm.json()["jira_value_id"] == "10001"
    bad = api.post(
        f"{base}/field-mappings/{status['id']}/value-mappings/",
        {"local_value": "shipped", "jira_value_name": "Gone"},
        format="json",
    )
    assert bad.status_code == 400
    assert "jira_value_name" in bad.json()["error"]["fields"]
    assert api.delete(f"{base}/value-mappings/{vm.json()['id']}/").status_code == 204
    validate = api.post(f"{base}/validate/").json()
    assert validate["rows"][0]["record_kind"] == "initiative"


def test_roles_viewer_reads_only(integration, account):
    viewer = client_for(add_member(account, role=Role.VIEWER))
    contributor = client_for(add_member(account, role=Role.CONTRIBUTOR))
    base = f"/api/v1/integrations/{integration.pk}"
    assert viewer.get(f"{base}/record-mappings/").status_code == 200
    assert viewer.get(f"{base}/").status_code == 200
    for client in (viewer, contributor):
        assert (
            client.post(
                f"{base}/record-mappings/", {"record_kind": "release"}, format="json"
            ).status_code
            == 403
        )
        assert client.patch(f"{base}/", {"name": "x"}, format="json").status_code == 403
        assert client.post(f"{base}/apply-defaults/").status_code == 403


def test_tenant_isolation_of_every_endpoint(integration):
    stranger = make_user("stranger")
    other_account = make_account(owner=stranger)
    make_workspace(account=other_account)
    client = client_for(stranger)
    base = f"/api/v1/integrations/{integration.pk}"
    row = (
        client_for(integration.account.memberships.first().user)
        .post(f"{base}/record-mappings/", {"record_kind": "release"}, format="json")
        .json()["record_mapping"]
    )
    fm = row and integration.record_mappings.get().field_mappings.first()
    gets = [
        f"{base}/",
        f"{base}/record-mappings/",
        f"{base}/record-mappings/{row['id']}/",
        f"{base}/field-mappings/",
        f"{base}/field-mappings/{fm.pk}/",
        f"{base}/field-mappings/{fm.pk}/value-mappings/",
        f"{base}/relationship-mappings/",
        f"{base}/warnings/",
        f"{base}/validate/",
        f"{base}/export/",
        f"{base}/configuration/",
        f"{base}/projects/",
        f"{base}/webhook/",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [
        "test-connection/",
        "reload-configuration/",
        "apply-defaults/",
        "enable/",
        "disable/",
        "import/",
        "rotate-webhook-token/",
        "reset-to-template/",
        "record-mappings/",
        "record-mappings/reorder/",
        f"record-mappings/{row['id']}/linked-to/",
        f"record-mappings/{row['id']}/move/",
        "field-mappings/",
        "relationship-mappings/",
        "relationship-mappings/reorder/",
    ]
    for url in posts:
        assert client.post(f"{base}/{url}", {}, format="json").status_code == 404, url
    assert client.patch(f"{base}/", {"name": "x"}, format="json").status_code == 404
    assert client.delete(f"{base}/").status_code == 404
    assert client.delete(f"{base}/record-mappings/{row['id']}/").status_code == 404
    assert client.get("/api/v1/integrations/").json()["results"] == []
    # nor can a stranger create an integration in someone else's workspace
    response = client.post(
        "/api/v1/integrations/", {"name": "x", "workspace": integration.workspace_id}, format="json"
    )
    assert response.status_code == 400
    assert "workspace" in response.json()["error"]["fields"]
    assert Integration.objects.filter(pk=integration.pk, name="Jira").exists()


def test_export_import_between_accounts_over_the_api(api, integration):
    api.post(f"/api/v1/integrations/{integration.pk}/apply-defaults/")
    document = api.get(f"/api/v1/integrations/{integration.pk}/export/").json()
    someone = make_user()
    other = configured_integration(make_workspace(account=make_account(owner=someone)))
    response = client_for(someone).post(
        f"/api/v1/integrations/{other.pk}/import/", document, format="json"
    )
    assert response.status_code == 200, response.content
    assert [r["record_kind"] for r in response.json()["record_mappings"]] == [
        r["record_kind"] for r in document["record_mappings"]
    ]


def test_wizard_through_the_api_against_the_emulator(api, workspace, emulator, caplog):
    caplog.set_level(logging.DEBUG)
    created = api.post(
        "/api/v1/integrations/",
        {
            "name": "Live",
            "workspace": workspace.pk,
            "base_url": emulator.base_url,
            "email": "demo@example.com",
            "api_token": DEMO_TOKEN,
        },
        format="json",
    ).json()
    base = f"/api/v1/integrations/{created['id']}"
    tested = api.post(f"{base}/test-connection/").json()
    assert tested["ok"] is True
    # The Jira user the credentials belong to, as the provider gives it (issue 10).
    assert tested["user"]["display_name"] == "Demo User"
    assert tested["user"]["email"] == "demo@example.com"
    assert tested["user"]["account_id"]
    projects = api.get(f"{base}/projects/?q=DEMO").json()["results"]
    assert [p["key"] for p in projects] == ["DEMO"]
    assert (
        api.patch(
            f"{base}/", {"project_key": "DEMO", "last_completed_step": 3}, format="json"
        ).status_code
        == 200
    )
    reload = api.post(f"{base}/reload-configuration/")
    assert reload.status_code == 200
    assert api.post(f"{base}/apply-defaults/").status_code == 200
    enabled = api.post(f"{base}/enable/")
    assert enabled.status_code == 200, enabled.content
    assert enabled.json()["state"] == "enabled"
    wrong = api.patch(f"{base}/", {"api_token": "not-the-token-xyz"}, format="json")
    assert wrong.status_code == 200
    answer = api.post(f"{base}/test-connection/").json()
    assert answer["ok"] is False
    assert answer["code"] == "bad_credentials"
    assert answer["user"] is None
    assert DEMO_TOKEN not in caplog.text
    assert "not-the-token-xyz" not in caplog.text
    assert api.post(f"{base}/disable/").json()["state"] == "disabled"


def test_template_through_the_api(api, account, workspace):
    template = api.post(
        "/api/v1/integrations/",
        {"name": "T", "account": account.pk, "is_template": True},
        format="json",
    )
    assert template.status_code == 201, template.content
    tid = template.json()["id"]
    Integration.objects.filter(pk=tid).update(configuration=DEMO_CONFIGURATION)
    api.post(
        f"/api/v1/integrations/{tid}/record-mappings/", {"record_kind": "release"}, format="json"
    )
    derived = api.post(
        "/api/v1/integrations/",
        {"name": "D", "workspace": workspace.pk, "template": tid},
        format="json",
    ).json()
    assert set(derived["inherited_parts"]) == {
        "connection",
        "project",
        "record_mappings",
        "relationship_mappings",
    }
    rows = _rows(api, Integration.objects.get(pk=derived["id"]))
    assert [r["record_kind"] for r in rows] == ["release"]
