"""The sync in the REST API over real requests with API keys, and real sends to the Jira
emulator over HTTP: shapes, filters, refusals as 400s naming the field, roles and tenant
isolation (another account's objects are 404s)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from records.models import Record
from sync.models import BulkSendJob, ImportCandidate, JiraLink, OutboxEntry, SyncLogEntry
from sync.services.log import sync_log
from tests.api.conftest import bearer_client
from tests.factories import add_member, make_account, make_record, make_user, make_workspace

from .conftest import make_enabled_integration
from .outbound_helpers import drain, issues_of_project
from .test_views import failed_send, make_candidate

pytestmark = pytest.mark.django_db
V1 = "/api/v1"


@pytest.fixture
def api(owner):
    return bearer_client(owner)


@pytest.fixture
def viewer_api(viewer):
    return bearer_client(viewer)


@pytest.fixture
def contributor_api(contributor):
    return bearer_client(contributor)


@pytest.fixture
def stranger_api(db):
    stranger = make_user("mallory")
    make_workspace(account=make_account(owner=stranger), prefix="MAL")
    return bearer_client(stranger)


@pytest.fixture
def approval_integration(workspace, emulator):
    return make_enabled_integration(workspace, emulator, require_approval=True)


def error_fields(response) -> dict:
    return response.json()["error"]["fields"]


# --- sync log -----------------------------------------------------------------------------------


def test_sync_log_lists_entries_with_filters(api, enabled_integration, workspace, emulator):
    broken, entry = failed_send(enabled_integration, workspace, emulator)
    fine = make_record(workspace, "feature", "Fine")
    drain(enabled_integration)
    url = f"{V1}/integrations/{enabled_integration.pk}/sync-log/"
    body = api.get(url).json()
    assert body["count"] == SyncLogEntry.objects.filter(integration=enabled_integration).count()
    (error,) = [r for r in body["results"] if r["level"] == "error"]
    assert error["record"] == broken.pk
    assert error["record_reference"] == broken.reference
    assert error["outbox_entry"] == entry.pk
    assert error["retryable"] is True
    assert set(error) == {
        "id",
        "level",
        "created_at",
        "record",
        "record_reference",
        "jira_key",
        "action",
        "message",
        "outbox_entry",
        "inbound_event",
        "retryable",
    }

    errors = api.get(url, {"level": "error"}).json()["results"]
    assert [r["id"] for r in errors] == [error["id"]]
    by_record = api.get(url, {"record": fine.pk}).json()["results"]
    assert by_record
    assert all(r["record"] == fine.pk for r in by_record)
    assert all(
        r["record"] == fine.pk for r in api.get(url, {"q": fine.reference}).json()["results"]
    )
    info = [r for r in api.get(url, {"record": fine.pk}).json()["results"] if r["jira_key"]]
    assert info[0]["jira_key"] == JiraLink.objects.get(record=fine).jira_key


def test_sync_log_dates_and_pagination(api, enabled_integration):
    old = sync_log(integration_id=enabled_integration.pk, level="info", action="t", message="Old")
    SyncLogEntry.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=5)
    )
    for n in range(3):
        sync_log(integration_id=enabled_integration.pk, level="info", action="t", message=f"N{n}")
    url = f"{V1}/integrations/{enabled_integration.pk}/sync-log/"
    today = timezone.localdate().isoformat()
    assert [r["message"] for r in api.get(url, {"date_from": today}).json()["results"]] == [
        "N2",
        "N1",
        "N0",
    ]
    day = (timezone.localdate() - datetime.timedelta(days=5)).isoformat()
    body = api.get(url, {"date_from": day, "date_to": day}).json()
    assert [r["message"] for r in body["results"]] == ["Old"]
    page = api.get(url, {"page_size": 2}).json()
    assert page["count"] == 4
    assert len(page["results"]) == 2
    assert page["next"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"level": "fatal"}, "level"),
        ({"record": "abc"}, "record"),
        ({"record": "99999999999999999999999"}, "record"),
        ({"date_from": "yesterday"}, "date_from"),
    ],
)
def test_sync_log_bad_filters_are_400s_naming_the_filter(api, enabled_integration, params, field):
    response = api.get(f"{V1}/integrations/{enabled_integration.pk}/sync-log/", params)
    assert response.status_code == 400
    assert field in error_fields(response)


def test_retry_a_failed_entry(api, enabled_integration, workspace, emulator):
    feature, entry = failed_send(enabled_integration, workspace, emulator)
    error = SyncLogEntry.objects.get(outbox_entry=entry, level="error")
    url = f"{V1}/integrations/{enabled_integration.pk}/sync-log/{error.pk}/retry/"
    response = api.post(url)
    assert response.status_code == 200
    assert response.json() == {"retried": "outbox_entry", "id": entry.pk, "status": "pending"}
    drain(enabled_integration)
    assert JiraLink.objects.filter(record=feature).exists()
    again = api.post(url)
    assert again.status_code == 400
    assert "nothing to retry" in error_fields(again)["entry"][0]


def test_retry_roles_and_isolation(
    viewer_api, stranger_api, api, enabled_integration, workspace, emulator
):
    _, entry = failed_send(enabled_integration, workspace, emulator)
    error = SyncLogEntry.objects.get(outbox_entry=entry, level="error")
    url = f"{V1}/integrations/{enabled_integration.pk}/sync-log/{error.pk}/retry/"
    assert viewer_api.post(url).status_code == 403
    assert (
        viewer_api.get(f"{V1}/integrations/{enabled_integration.pk}/sync-log/").status_code == 200
    )
    assert stranger_api.post(url).status_code == 404
    assert (
        stranger_api.get(f"{V1}/integrations/{enabled_integration.pk}/sync-log/").status_code == 404
    )
    missing = f"{V1}/integrations/{enabled_integration.pk}/sync-log/987654/retry/"
    assert api.post(missing).status_code == 404
    assert (
        APIClient().get(f"{V1}/integrations/{enabled_integration.pk}/sync-log/").status_code == 401
    )
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.FAILED


def test_session_auth_posts_need_csrf(owner, enabled_integration, workspace, emulator):
    _, entry = failed_send(enabled_integration, workspace, emulator)
    error = SyncLogEntry.objects.get(outbox_entry=entry, level="error")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    url = f"{V1}/integrations/{enabled_integration.pk}/sync-log/{error.pk}/retry/"
    assert client.post(url).status_code == 403
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.FAILED


# --- import candidates --------------------------------------------------------------------------


def test_import_candidates_accept_reject_and_all(api, enabled_integration, emulator):
    first = make_candidate(enabled_integration, emulator, "First")
    second = make_candidate(enabled_integration, emulator, "Second")
    make_candidate(enabled_integration, emulator, "Third")
    base = f"{V1}/integrations/{enabled_integration.pk}/import-candidates/"
    listed = api.get(base).json()
    assert listed["count"] == 3
    assert {r["summary"] for r in listed["results"]} == {"First", "Second", "Third"}

    accepted = api.post(f"{base}{first.pk}/accept/")
    assert accepted.status_code == 200
    record = Record.objects.get(name="First")
    assert accepted.json()["record"] == {"id": record.pk, "reference": record.reference}
    assert accepted.json()["candidate"]["status"] == "accepted"
    assert accepted.json()["candidate"]["record_reference"] == record.reference

    rejected = api.post(f"{base}{second.pk}/reject/")
    assert rejected.json()["status"] == "rejected"
    refused = api.post(f"{base}{first.pk}/reject/")
    assert refused.status_code == 400
    assert "already imported" in error_fields(refused)["status"][0]

    all_result = api.post(f"{base}accept-all/").json()
    assert [r["reference"] for r in all_result["accepted"]] == [
        Record.objects.get(name="Third").reference
    ]
    assert all_result["errors"] == []
    make_candidate(enabled_integration, emulator, "Fourth")
    assert api.post(f"{base}reject-all/").json() == {"count": 1}
    assert api.get(base).json()["count"] == 0
    assert api.get(base, {"status": "all"}).json()["count"] == 4
    bad = api.get(base, {"status": "maybe"})
    assert bad.status_code == 400
    assert "status" in error_fields(bad)


def test_import_candidates_roles_and_isolation(
    viewer_api, contributor_api, stranger_api, enabled_integration, emulator
):
    candidate = make_candidate(enabled_integration, emulator)
    base = f"{V1}/integrations/{enabled_integration.pk}/import-candidates/"
    assert viewer_api.get(base).json()["count"] == 1
    for url in (f"{base}{candidate.pk}/accept/", f"{base}accept-all/", f"{base}reject-all/"):
        assert viewer_api.post(url).status_code == 403, url
        assert stranger_api.post(url).status_code == 404, url
    assert stranger_api.get(base).status_code == 404
    candidate.refresh_from_db()
    assert candidate.status == ImportCandidate.Status.PENDING
    assert contributor_api.post(f"{base}{candidate.pk}/reject/").status_code == 200


# --- updates awaiting approval -----------------------------------------------------------------


def test_updates_approve_discard_and_all(api, approval_integration, workspace, emulator):
    kept = make_record(workspace, "feature", "Kept")
    dropped = make_record(workspace, "feature", "Dropped")
    base = f"{V1}/integrations/{approval_integration.pk}/updates/"
    body = api.get(base).json()
    assert [r["record_reference"] for r in body["results"]] == [kept.reference, dropped.reference]
    assert body["results"][0]["status"] == "awaiting_approval"
    assert body["results"][0]["fields_changed"] == []

    kept_id = OutboxEntry.objects.get(record=kept).pk
    dropped_id = OutboxEntry.objects.get(record=dropped).pk
    assert api.post(f"{base}{kept_id}/approve/").json()["status"] == "pending"
    assert api.post(f"{base}{dropped_id}/discard/").json()["status"] == "discarded"
    twice = api.post(f"{base}{kept_id}/approve/")
    assert twice.status_code == 400
    assert "status" in error_fields(twice)
    drain(approval_integration)
    assert [i.summary for i in issues_of_project(emulator)] == ["Kept"]

    make_record(workspace, "feature", "A")
    make_record(workspace, "feature", "B")
    assert api.post(f"{base}approve-all/").json() == {"count": 2}
    make_record(workspace, "feature", "C")
    assert api.post(f"{base}discard-all/").json() == {"count": 1}
    assert api.get(base).json()["count"] == 0


def test_updates_roles_and_isolation(
    viewer_api, contributor_api, stranger_api, approval_integration, workspace
):
    make_record(workspace, "feature", "Held")
    entry = OutboxEntry.objects.get()
    base = f"{V1}/integrations/{approval_integration.pk}/updates/"
    assert viewer_api.get(base).json()["count"] == 1
    for url in (f"{base}{entry.pk}/approve/", f"{base}{entry.pk}/discard/", f"{base}approve-all/"):
        assert viewer_api.post(url).status_code == 403, url
        assert stranger_api.post(url).status_code == 404, url
    assert stranger_api.get(base).status_code == 404
    assert contributor_api.post(f"{base}{entry.pk}/approve/").status_code == 200


# --- send all and its job ---------------------------------------------------------------------


def test_send_all_starts_a_job_with_progress(
    api, contributor_api, stranger_api, enabled_integration, workspace
):
    make_record(workspace, "feature", "One")
    make_record(workspace, "epic", "Two")
    url = f"{V1}/integrations/{enabled_integration.pk}/send-all/"
    assert contributor_api.post(url).status_code == 403  # owners and admins only
    response = api.post(url)
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "running"
    assert job["total"] == 2
    assert job["percent"] == 0
    progress = api.get(f"{V1}/bulk-send-jobs/{job['id']}/").json()
    assert progress["id"] == job["id"]
    assert progress["integration"] == enabled_integration.pk
    assert contributor_api.get(f"{V1}/bulk-send-jobs/{job['id']}/").status_code == 200
    assert stranger_api.get(f"{V1}/bulk-send-jobs/{job['id']}/").status_code == 404
    assert stranger_api.post(url).status_code == 404
    again = api.post(url)
    assert again.status_code == 400
    assert "already running" in error_fields(again)["integration"][0]
    assert BulkSendJob.objects.count() == 1
    assert api.get(f"{V1}/bulk-send-jobs/99999999999999999999999/").status_code == 404


# --- a record's Jira side -----------------------------------------------------------------------


def test_send_to_jira_then_jira_links_show_key_and_url(
    api, enabled_integration, workspace, emulator
):
    feature = make_record(workspace, "feature", "Pay")
    OutboxEntry.objects.all().delete()
    links_url = f"{V1}/records/{feature.pk}/jira-links/"
    (before,) = api.get(links_url).json()
    assert before["state"] == "not_linked"
    assert before["jira_key"] == ""

    response = api.post(f"{V1}/records/{feature.pk}/send-to-jira/", {}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert api.get(links_url).json()[0]["queued"] is True
    drain(enabled_integration)
    (after,) = api.get(links_url).json()
    link = JiraLink.objects.get(record=feature)
    assert after == {
        "integration": enabled_integration.pk,
        "integration_name": enabled_integration.name,
        "state": "linked",
        "jira_kind": "issue",
        "jira_key": link.jira_key,
        "jira_url": f"{emulator.base_url}/browse/{link.jira_key}",
        "last_synced_at": after["last_synced_at"],
        "last_error": "",
        "awaiting_approval": False,
        "queued": False,
    }
    assert after["last_synced_at"]


def test_send_to_jira_refusals(api, enabled_integration, workspace, emulator, account):
    feature = make_record(workspace, "feature", "Pay")
    url = f"{V1}/records/{feature.pk}/send-to-jira/"
    other_ws = make_workspace(account=account, prefix="OTH")
    elsewhere = make_enabled_integration(other_ws, emulator, name="Other")
    response = api.post(url, {"integration": elsewhere.pk}, format="json")
    assert response.status_code == 400
    assert "not found in" in error_fields(response)["integration"][0]
    response = api.post(url, {"integration": "x"}, format="json")
    assert response.status_code == 400
    assert "integration" in error_fields(response)
    response = api.post(url, {"integraton": enabled_integration.pk}, format="json")
    assert response.status_code == 400
    assert "integraton" in error_fields(response)
    # Two enabled integrations: the body must say which one.
    make_enabled_integration(workspace, emulator, name="Second")
    response = api.post(url, {}, format="json")
    assert response.status_code == 400
    assert "several" in error_fields(response)["integration"][0]
    ok = api.post(url, {"integration": enabled_integration.pk}, format="json")
    assert ok.status_code == 202


def test_record_commands_roles_and_isolation(
    viewer_api, stranger_api, enabled_integration, workspace
):
    feature = make_record(workspace, "feature", "Pay")
    OutboxEntry.objects.all().delete()
    for path in ("send-to-jira/", "link-jira-issue/"):
        url = f"{V1}/records/{feature.pk}/{path}"
        body = {"key_or_url": "DEMO-1"} if "link" in path else {}
        assert viewer_api.post(url, body, format="json").status_code == 403, path
        assert stranger_api.post(url, body, format="json").status_code == 404, path
    assert viewer_api.get(f"{V1}/records/{feature.pk}/jira-links/").status_code == 200
    assert stranger_api.get(f"{V1}/records/{feature.pk}/jira-links/").status_code == 404
    assert not OutboxEntry.objects.exists()


def test_link_jira_issue_by_url(api, enabled_integration, workspace, emulator):
    feature = make_record(workspace, "feature", "Ours")
    OutboxEntry.objects.all().delete()
    created = emulator.create_issue(project="DEMO", issuetype="Story", summary="Theirs")
    response = api.post(
        f"{V1}/records/{feature.pk}/link-jira-issue/",
        {
            "integration": enabled_integration.pk,
            "key_or_url": f"{emulator.base_url}/browse/{created['key']}",
            "overwrite": "jira",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["jira_key"] == created["key"]
    assert body["jira_url"] == f"{emulator.base_url}/browse/{created['key']}"
    assert body["state"] == "linked"
    feature.refresh_from_db()
    assert feature.name == "Theirs"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"key_or_url": "nonsense"}, "key_or_url", "Enter a Jira issue key"),
        ({"key_or_url": "DEMO-999"}, "key_or_url", "Jira has no issue DEMO-999"),
        ({"key_or_url": "DEMO-1", "overwrite": "both"}, "overwrite", "not a valid choice"),
        ({}, "key_or_url", "required"),
    ],
)
def test_link_jira_issue_refusals_name_the_field(
    api, enabled_integration, workspace, emulator, body, field, words
):
    feature = make_record(workspace, "feature", "Ours")
    response = api.post(f"{V1}/records/{feature.pk}/link-jira-issue/", body, format="json")
    assert response.status_code == 400
    assert words in error_fields(response)[field][0]
    assert not JiraLink.objects.filter(record=feature).exists()


def test_link_jira_issue_asks_for_parents_first(api, enabled_integration, workspace, emulator):
    epic = make_record(workspace, "epic", "Checkout")
    feature = make_record(workspace, "feature", "Pay", epic=epic)
    OutboxEntry.objects.all().delete()
    created = emulator.create_issue(project="DEMO", issuetype="Story", summary="Pay")
    response = api.post(
        f"{V1}/records/{feature.pk}/link-jira-issue/",
        {"key_or_url": created["key"]},
        format="json",
    )
    assert response.status_code == 400
    assert f"Link or send {epic.reference} to Jira first" in error_fields(response)["key_or_url"][0]


def test_an_admin_of_the_account_may_act_too(account, approval_integration, workspace):
    admin_api = bearer_client(add_member(account, role=Role.ADMIN))
    make_record(workspace, "feature", "Held")
    base = f"{V1}/integrations/{approval_integration.pk}/updates/"
    assert admin_api.post(f"{base}approve-all/").json() == {"count": 1}


def test_the_schema_documents_the_sync_endpoints(api, account):
    paths = api.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in (
        "/api/v1/integrations/{id}/sync-log/",
        "/api/v1/integrations/{id}/sync-log/{entry_id}/retry/",
        "/api/v1/integrations/{id}/import-candidates/{candidate_id}/accept/",
        "/api/v1/integrations/{id}/updates/approve-all/",
        "/api/v1/integrations/{id}/send-all/",
        "/api/v1/bulk-send-jobs/{id}/",
        "/api/v1/records/{id}/jira-links/",
        "/api/v1/records/{id}/send-to-jira/",
        "/api/v1/records/{id}/link-jira-issue/",
    ):
        assert path in paths, path
        for operation in paths[path].values():
            assert "404" in operation["responses"], path
