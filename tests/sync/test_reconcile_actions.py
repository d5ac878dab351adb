"""Check Jira on demand: the API action (POST/GET .../integrations/{id}/check-jira/) and the
sync log page's Check Jira card, with roles, tenant isolation and bad input; and a real worker
running the requested pass."""

from __future__ import annotations

import time

import pytest

from integrations.models import Integration
from sync.models import JiraCheck
from sync.services.reconcile import jira_check_run
from tests.api.conftest import bearer_client
from tests.factories import make_account, make_user, make_workspace

from .conftest import make_enabled_integration
from .test_views import HTMX, logged_in

V1 = "/api/v1"


@pytest.fixture
def stranger(db):
    user = make_user("mallory")
    make_workspace(account=make_account(owner=user), prefix="MAL")
    return user


@pytest.mark.django_db
def test_the_api_requests_a_check_and_shows_the_last_one(
    owner, viewer, stranger, enabled_integration, emulator
):
    url = f"{V1}/integrations/{enabled_integration.pk}/check-jira/"
    api = bearer_client(owner)
    never = api.get(url).json()
    assert never["last_finished_at"] is None
    assert never["running"] is False

    response = api.post(url, {}, format="json")
    assert response.status_code == 202
    assert response.json()["requested_at"] is not None
    check = JiraCheck.objects.get(integration=enabled_integration)
    assert check.requested_full is True

    jira_check_run(integration_id=enabled_integration.pk)  # what the worker runs
    done = api.get(url).json()
    assert done["last_result"] == "in_step"
    assert done["last_full"] is True
    assert done["requested_at"] is None
    assert done["last_summary"].startswith("Check Jira (full check): checked ")
    assert done["last_jira_calls"] == 3  # serverInfo, one search page, the versions list

    assert bearer_client(viewer).post(url).status_code == 403
    assert bearer_client(viewer).get(url).status_code == 200
    assert bearer_client(stranger).post(url).status_code == 404
    assert bearer_client(stranger).get(url).status_code == 404
    bad = api.post(url, {"full": "perhaps"}, format="json")
    assert bad.status_code == 400
    assert "full" in bad.json()["error"]["fields"]


@pytest.mark.django_db
def test_a_check_of_a_disabled_integration_is_refused_with_what_to_do(owner, workspace, emulator):
    integration = make_enabled_integration(workspace, emulator)
    Integration.objects.filter(pk=integration.pk).update(state=Integration.State.DISABLED)
    response = bearer_client(owner).post(f"{V1}/integrations/{integration.pk}/check-jira/")
    assert response.status_code == 400
    assert "enable it first" in response.json()["error"]["message"]
    assert not JiraCheck.objects.exists()


@pytest.mark.django_db
def test_the_schema_documents_check_jira(owner, account):  # a key needs an account
    paths = bearer_client(owner).get("/api/schema/", {"format": "json"}).json()["paths"]
    operations = paths["/api/v1/integrations/{id}/check-jira/"]
    assert set(operations) >= {"get", "post"}
    assert "202" in operations["post"]["responses"]
    assert "404" in operations["post"]["responses"]


@pytest.mark.django_db
def test_the_sync_log_page_has_the_check_jira_card(owner, viewer, stranger, enabled_integration):
    page_url = f"/integrations/{enabled_integration.pk}/sync-log/"
    now_url = f"/integrations/{enabled_integration.pk}/check-jira/now/"
    client = logged_in(owner)
    page = client.get(page_url).content.decode()
    assert "Check Jira now" in page
    assert "Not checked yet." in page

    answer = client.post(now_url, **HTMX)
    assert answer.status_code == 200
    card = answer.content.decode()
    assert "Check Jira started" in card
    assert "Waiting for a worker" in card
    assert 'hx-trigger="every 2s"' in card  # the card follows the pass

    jira_check_run(integration_id=enabled_integration.pk)
    page = client.get(page_url).content.decode()
    assert "Last check" in page
    assert "none drifted" in page
    assert "every 2s" not in page

    redirected = client.post(now_url)
    assert redirected.status_code == 302
    assert "Check Jira started" in client.get(redirected["Location"]).content.decode()

    viewer_client = logged_in(viewer)
    assert "Check Jira now" not in viewer_client.get(page_url).content.decode()
    assert viewer_client.post(now_url).status_code == 403
    assert logged_in(stranger).post(now_url).status_code == 404
    assert (
        logged_in(stranger).get(f"/integrations/{enabled_integration.pk}/check-jira/").status_code
        == 404
    )


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_requested_check(owner, workspace, emulator, celery_worker):
    integration = make_enabled_integration(workspace, emulator)
    response = bearer_client(owner).post(f"{V1}/integrations/{integration.pk}/check-jira/")
    assert response.status_code == 202
    deadline = time.monotonic() + 30
    check = JiraCheck.objects.get(integration=integration)
    while time.monotonic() < deadline and check.last_finished_at is None:
        time.sleep(0.2)
        check.refresh_from_db()
    assert check.last_result == JiraCheck.Result.IN_STEP
    assert check.running_since is None
    assert check.watermark is not None
