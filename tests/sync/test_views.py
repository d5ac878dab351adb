"""The sync's pages through Django's test client, with real sends to the Jira emulator over
HTTP: the record page's Jira panel, the sync log, Integration updates and import candidates.
Every action is checked for roles (viewers read only), tenant isolation (404) and CSRF."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from records.models import Record
from sync.models import ImportCandidate, JiraLink, OutboxEntry, SyncLogEntry
from sync.selectors import error_counts_for_integrations
from sync.services.imports import candidate_for_issue
from sync.services.log import sync_log
from tests.factories import make_account, make_record, make_user, make_workspace

from .conftest import make_enabled_integration, make_linked_record
from .outbound_helpers import drain, issues_of_project

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return logged_in(owner)


@pytest.fixture
def stranger_client(db):
    stranger = make_user("stranger")
    make_workspace(account=make_account(owner=stranger), prefix="STR")
    return logged_in(stranger)


def panel_url(record):
    return f"/records/{record.pk}/jira/"


def failed_send(integration, workspace, emulator, name="Broken"):
    """A feature whose create Jira refuses (a 400): a failed outbox entry and an error."""
    emulator.faults.queue(status=400)
    feature = make_record(workspace, "feature", name)
    drain(integration)
    entry = OutboxEntry.objects.get(record=feature, integration=integration)
    assert entry.status == OutboxEntry.Status.FAILED
    return feature, entry


def make_candidate(integration, emulator, summary="Born in Jira"):
    version = emulator.create_version("DEMO", f"v-{summary}")
    make_linked_record(integration, "release", version["id"])
    created = emulator.create_issue(
        project="DEMO", issuetype="Story", summary=summary, fixVersions=[{"id": version["id"]}]
    )
    candidate, _ = candidate_for_issue(
        integration=integration,
        issue=emulator.get_issue(created["key"]),
        record_kind="feature",
        where="a release",
    )
    return candidate


# --- Record page: the Jira panel ---------------------------------------------------------------


def test_the_record_page_loads_the_jira_panel(owner_client, enabled_integration, workspace):
    feature = make_record(workspace, "feature", "Pay")
    page = owner_client.get(f"/records/{feature.pk}/")
    assert page.status_code == 200
    assert f'hx-get="/records/{feature.pk}/jira/"' in page.content.decode()


def test_panel_shows_not_in_jira_with_the_actions(owner_client, enabled_integration, workspace):
    feature = make_record(workspace, "feature", "Pay")
    OutboxEntry.objects.all().delete()  # the automatic send of the create is not the point
    response = owner_client.get(panel_url(feature), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert enabled_integration.name in html
    assert "Not in Jira" in html
    assert "Send to Jira" in html
    assert "Link with an existing Jira issue" in html


def test_viewer_sees_the_panel_read_only_and_cannot_act(
    viewer, enabled_integration, workspace, emulator
):
    feature = make_record(workspace, "feature", "Pay")
    drain(enabled_integration)
    client = logged_in(viewer)
    html = client.get(panel_url(feature), **HTMX).content.decode()
    key = JiraLink.objects.get(record=feature).jira_key
    assert key in html
    assert "Send to Jira" not in html
    assert "Link with an existing" not in html
    url = f"/records/{feature.pk}/jira/{enabled_integration.pk}/send/"
    response = client.post(url, **HTMX)
    assert response.status_code == 403
    assert OutboxEntry.objects.filter(record=feature, status="pending").count() == 0


def test_another_accounts_record_is_not_found(stranger_client, enabled_integration, workspace):
    feature = make_record(workspace, "feature", "Pay")
    assert stranger_client.get(panel_url(feature)).status_code == 404
    url = f"/records/{feature.pk}/jira/{enabled_integration.pk}/send/"
    assert stranger_client.post(url).status_code == 404
    assert Client().get(panel_url(feature)).status_code == 302  # to the login page
    assert owner_client_for(workspace).get("/records/99999999999999999999/jira/").status_code == 404


def owner_client_for(workspace):
    return logged_in(workspace.account.memberships.get(role="owner").user)


def test_send_to_jira_queues_then_shows_the_key_and_url(
    owner_client, enabled_integration, workspace, emulator
):
    feature = make_record(workspace, "feature", "Pay")
    OutboxEntry.objects.all().delete()
    url = f"/records/{feature.pk}/jira/{enabled_integration.pk}/send/"
    response = owner_client.post(url, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "queued to be sent to Jira" in html
    assert "Queued for Jira" in html
    assert 'hx-trigger="load delay:2s"' in html  # the panel refreshes itself while queued

    drain(enabled_integration)
    link = JiraLink.objects.get(record=feature, integration=enabled_integration)
    html = owner_client.get(panel_url(feature), **HTMX).content.decode()
    assert f'href="{link.jira_url}"' in html
    assert link.jira_key in html
    assert link.jira_url == f"{emulator.base_url}/browse/{link.jira_key}"
    assert "In sync" in html
    assert [i.summary for i in issues_of_project(emulator)] == ["Pay"]


def test_send_without_javascript_redirects_with_a_message(
    owner_client, enabled_integration, workspace
):
    feature = make_record(workspace, "feature", "Pay")
    response = owner_client.post(
        f"/records/{feature.pk}/jira/{enabled_integration.pk}/send/", follow=True
    )
    assert response.redirect_chain[-1][0] == f"/records/{feature.pk}/"
    assert "queued to be sent to Jira" in response.content.decode()


def test_send_to_a_disabled_integration_says_so(owner_client, enabled_integration, workspace):
    from integrations.models import Integration

    feature = make_record(workspace, "feature", "Pay")
    Integration.objects.filter(pk=enabled_integration.pk).update(state="disabled")
    response = owner_client.post(
        f"/records/{feature.pk}/jira/{enabled_integration.pk}/send/", **HTMX
    )
    assert response.status_code == 200
    assert "is not enabled: enable it first" in response.content.decode()


def test_an_integration_of_another_workspace_is_not_found(
    owner_client, enabled_integration, account, emulator
):
    other_ws = make_workspace(account=account, prefix="OTH")
    feature = make_record(other_ws, "feature", "Elsewhere")
    response = owner_client.post(f"/records/{feature.pk}/jira/{enabled_integration.pk}/send/")
    assert response.status_code == 404


def test_actions_need_the_csrf_token(owner, enabled_integration, workspace):
    feature = make_record(workspace, "feature", "Pay")
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = f"/records/{feature.pk}/jira/{enabled_integration.pk}/send/"
    assert client.post(url, **HTMX).status_code == 403
    page = client.get(panel_url(feature), **HTMX)
    assert "csrfmiddlewaretoken" in page.content.decode()


def test_link_existing_by_url_with_jira_overwriting(
    owner_client, enabled_integration, workspace, emulator
):
    feature = make_record(workspace, "feature", "Ours")
    OutboxEntry.objects.all().delete()
    created = emulator.create_issue(project="DEMO", issuetype="Story", summary="Theirs")
    response = owner_client.post(
        f"/records/{feature.pk}/jira/{enabled_integration.pk}/link/",
        {"key_or_url": f"{emulator.base_url}/browse/{created['key']}", "overwrite": "jira"},
        **HTMX,
    )
    # Jira's values changed the record: the whole page reloads, with the message on top.
    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"
    assert JiraLink.objects.get(record=feature).jira_key == created["key"]
    feature.refresh_from_db()
    assert feature.name == "Theirs"  # Jira's values won the first sync
    page = owner_client.get(f"/records/{feature.pk}/").content.decode()
    assert f"Linked with {created['key']}; Jira&#x27;s values were taken here." in page
    assert not OutboxEntry.objects.filter(record=feature).exists()


def test_link_existing_with_ours_overwriting_sends_to_jira(
    owner_client, enabled_integration, workspace, emulator
):
    feature = make_record(workspace, "feature", "Ours")
    OutboxEntry.objects.all().delete()
    created = emulator.create_issue(project="DEMO", issuetype="Story", summary="Theirs")
    owner_client.post(
        f"/records/{feature.pk}/jira/{enabled_integration.pk}/link/",
        {"key_or_url": created["key"], "overwrite": "here"},
        **HTMX,
    )
    drain(enabled_integration)
    assert emulator.get_issue(created["key"])["fields"]["summary"] == "Ours"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "Enter the Jira issue&#x27;s key"),
        ("not a key", "Enter a Jira issue key like DEMO-12"),
        ("https://elsewhere.example.com/browse/DEMO-1", "this integration is connected to"),
        ("DEMO-999", "Jira has no issue DEMO-999"),
    ],
)
def test_link_existing_refusals_are_shown_next_to_the_field(
    owner_client, enabled_integration, workspace, emulator, value, expected
):
    feature = make_record(workspace, "feature", "Ours")
    response = owner_client.post(
        f"/records/{feature.pk}/jira/{enabled_integration.pk}/link/",
        {"key_or_url": value, "overwrite": "here"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="field-errors" id="id_jira' in html
    assert expected in html
    assert not JiraLink.objects.filter(record=feature).exists()


def test_link_existing_asks_for_the_parent_first(
    owner_client, enabled_integration, workspace, emulator
):
    epic = make_record(workspace, "epic", "Checkout")
    feature = make_record(workspace, "feature", "Pay", epic=epic)
    OutboxEntry.objects.all().delete()
    created = emulator.create_issue(project="DEMO", issuetype="Story", summary="Pay")
    response = owner_client.post(
        f"/records/{feature.pk}/jira/{enabled_integration.pk}/link/",
        {"key_or_url": created["key"], "overwrite": "here"},
        **HTMX,
    )
    html = response.content.decode()
    assert f"Link or send {epic.reference} to Jira first" in html
    assert not JiraLink.objects.filter(record=feature).exists()


def test_a_failed_send_shows_the_error_and_retries_from_the_panel(
    owner_client, enabled_integration, workspace, emulator
):
    feature, entry = failed_send(enabled_integration, workspace, emulator)
    html = owner_client.get(panel_url(feature), **HTMX).content.decode()
    assert "Failed" in html
    assert "Last error" in html
    assert f"/records/{feature.pk}/jira/{enabled_integration.pk}/retry/" in html

    response = owner_client.post(
        f"/records/{feature.pk}/jira/{enabled_integration.pk}/retry/", **HTMX
    )
    assert "Retry queued" in response.content.decode()
    drain(enabled_integration)
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.SENT
    html = owner_client.get(panel_url(feature), **HTMX).content.decode()
    assert "Last error" not in html
    assert JiraLink.objects.get(record=feature).jira_key in html


def test_retry_with_nothing_failed_says_so(owner_client, enabled_integration, workspace):
    feature = make_record(workspace, "feature", "Fine")
    response = owner_client.post(
        f"/records/{feature.pk}/jira/{enabled_integration.pk}/retry/", **HTMX
    )
    assert "Nothing to retry" in response.content.decode()


def test_panel_without_an_enabled_integration_says_how_to_get_one(owner_client, workspace):
    feature = make_record(workspace, "feature", "Alone")
    html = owner_client.get(panel_url(feature), **HTMX).content.decode()
    assert "No Jira integration is enabled" in html


# --- Sync log ---------------------------------------------------------------------------------


def log_url(integration):
    return f"/integrations/{integration.pk}/sync-log/"


def test_sync_log_lists_and_filters_by_level_and_text(
    owner_client, enabled_integration, workspace, emulator
):
    failed_send(enabled_integration, workspace, emulator, name="Broken")
    make_record(workspace, "feature", "Fine")
    drain(enabled_integration)
    html = owner_client.get(log_url(enabled_integration)).content.decode()
    assert "Sync log" in html
    assert 'class="sync-badge sync-error"' in html
    assert 'class="sync-badge sync-info"' in html

    html = owner_client.get(log_url(enabled_integration), {"level": "error"}).content.decode()
    assert 'class="sync-badge sync-error"' in html
    assert 'class="sync-badge sync-info"' not in html
    assert "Retry" in html

    fine = Record.objects.get(name="Fine")
    html = owner_client.get(log_url(enabled_integration), {"q": fine.reference}).content.decode()
    assert fine.reference in html
    assert "sync-error" not in html


def test_sync_log_date_range(owner_client, enabled_integration):
    entry = sync_log(
        integration_id=enabled_integration.pk, level="info", action="test", message="Old news"
    )
    SyncLogEntry.objects.filter(pk=entry.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=10)
    )
    sync_log(integration_id=enabled_integration.pk, level="info", action="test", message="Today")
    today = timezone.localdate()
    html = owner_client.get(
        log_url(enabled_integration), {"date_from": today.isoformat()}
    ).content.decode()
    assert "Today" in html
    assert "Old news" not in html
    old = (today - datetime.timedelta(days=10)).isoformat()
    html = owner_client.get(
        log_url(enabled_integration), {"date_from": old, "date_to": old}
    ).content.decode()
    assert "Old news" in html
    assert "Today" not in html
    html = owner_client.get(
        log_url(enabled_integration), {"date_from": today.isoformat(), "date_to": old}
    ).content.decode()
    assert "The end date is before the start date." in html


def test_sync_log_is_paginated(owner_client, enabled_integration):
    for n in range(55):
        sync_log(
            integration_id=enabled_integration.pk, level="info", action="t", message=f"entry {n}"
        )
    first = owner_client.get(log_url(enabled_integration)).content.decode()
    assert "Page 1 of 2" in first
    assert "entry 54" in first
    assert "entry 0<" not in first
    second = owner_client.get(log_url(enabled_integration), {"page": 2}).content.decode()
    assert "entry 0" in second
    assert owner_client.get(log_url(enabled_integration), {"page": "zzz"}).status_code == 200


def test_retry_from_the_log_sends_again(owner_client, enabled_integration, workspace, emulator):
    feature, entry = failed_send(enabled_integration, workspace, emulator)
    error = SyncLogEntry.objects.get(outbox_entry=entry, level="error")
    url = f"/integrations/{enabled_integration.pk}/sync-log/{error.pk}/retry/"
    response = owner_client.post(url, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Retry requested" in html
    assert f'id="log-{error.pk}"' in html
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.PENDING
    drain(enabled_integration)
    assert JiraLink.objects.filter(record=feature).exists()

    # Now there is nothing left to retry: the refusal is shown in the row.
    html = owner_client.post(url, **HTMX).content.decode()
    assert "nothing to retry" in html
    # An info entry (no failed update or event behind it) has no Retry button.
    page = owner_client.get(log_url(enabled_integration)).content.decode()
    assert f"/sync-log/{error.pk}/retry/" not in page


def test_retry_of_a_failed_jira_event(owner_client, enabled_integration):
    from sync.models import InboundEvent

    event = InboundEvent.objects.create(
        integration=enabled_integration,
        delivery_id="d-1",
        event_type="jira:issue_updated",
        body={"issue": {"id": "1", "key": "DEMO-1"}},
        status=InboundEvent.Status.FAILED,
    )
    error = sync_log(
        integration_id=enabled_integration.pk,
        level="error",
        action="inbound_failed",
        message="Could not apply",
        inbound_event=event,
    )
    response = owner_client.post(
        f"/integrations/{enabled_integration.pk}/sync-log/{error.pk}/retry/", follow=True
    )
    assert "Retry requested" in response.content.decode()
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.RECEIVED


def test_sync_log_roles_and_isolation(
    viewer, stranger_client, enabled_integration, workspace, emulator
):
    _, entry = failed_send(enabled_integration, workspace, emulator)
    error = SyncLogEntry.objects.get(outbox_entry=entry, level="error")
    viewer_client = logged_in(viewer)
    page = viewer_client.get(log_url(enabled_integration))
    assert page.status_code == 200
    assert f"/sync-log/{error.pk}/retry/" not in page.content.decode()
    url = f"/integrations/{enabled_integration.pk}/sync-log/{error.pk}/retry/"
    assert viewer_client.post(url).status_code == 403
    assert stranger_client.get(log_url(enabled_integration)).status_code == 404
    assert stranger_client.post(url).status_code == 404
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.FAILED


def test_error_counts_show_unresolved_failures(
    owner_client, enabled_integration, workspace, emulator
):
    _, entry = failed_send(enabled_integration, workspace, emulator)
    other = make_enabled_integration(workspace, emulator, name="Second")
    assert error_counts_for_integrations([enabled_integration.pk, other.pk]) == {
        enabled_integration.pk: 1,
        other.pk: 0,
    }
    html = owner_client.get(log_url(enabled_integration)).content.decode()
    assert 'title="Errors that need attention">1<' in html
    from sync.services.outbound import outbox_entry_discard

    outbox_entry_discard(entry=entry)
    assert error_counts_for_integrations([enabled_integration.pk]) == {enabled_integration.pk: 0}


# --- Integration updates and import candidates ---------------------------------------------------


@pytest.fixture
def approval_integration(workspace, emulator):
    return make_enabled_integration(workspace, emulator, require_approval=True)


def updates_url(integration):
    return f"/integrations/{integration.pk}/updates/"


def test_held_updates_are_listed_and_approved_one_by_one(
    owner_client, approval_integration, workspace, emulator
):
    kept = make_record(workspace, "feature", "Kept")
    dropped = make_record(workspace, "feature", "Dropped")
    html = owner_client.get(updates_url(approval_integration)).content.decode()
    assert "Integration updates" in html
    assert "Import candidates" in html
    assert kept.reference in html
    assert dropped.reference in html

    kept_entry = OutboxEntry.objects.get(record=kept)
    dropped_entry = OutboxEntry.objects.get(record=dropped)
    base = updates_url(approval_integration)
    html = owner_client.post(f"{base}{kept_entry.pk}/approve/", **HTMX).content.decode()
    assert "Approved: it is being sent to Jira." in html
    assert '<span class="count">1</span>' in html  # the head, out of band: one still waits
    html = owner_client.post(f"{base}{dropped_entry.pk}/discard/", **HTMX).content.decode()
    assert "Discarded: Jira was not changed." in html
    assert '<span class="count">0</span>' in html
    assert "Approve all" not in html
    drain(approval_integration)
    assert [i.summary for i in issues_of_project(emulator)] == ["Kept"]
    dropped_entry.refresh_from_db()
    assert dropped_entry.status == OutboxEntry.Status.DISCARDED

    # Deciding twice is refused in words, not a 500.
    html = owner_client.post(f"{base}{kept_entry.pk}/approve/", **HTMX).content.decode()
    assert "not awaiting approval" in html


def test_approve_all_and_discard_all(owner_client, approval_integration, workspace, emulator):
    make_record(workspace, "feature", "One")
    make_record(workspace, "feature", "Two")
    base = updates_url(approval_integration)
    html = owner_client.post(f"{base}approve-all/", **HTMX).content.decode()
    assert "2 update(s) approved" in html
    drain(approval_integration)
    assert sorted(i.summary for i in issues_of_project(emulator)) == ["One", "Two"]

    make_record(workspace, "feature", "Three")
    response = owner_client.post(f"{base}discard-all/", follow=True)
    assert "1 update(s) discarded" in response.content.decode()
    assert not OutboxEntry.objects.filter(status="awaiting_approval").exists()
    html = owner_client.post(f"{base}discard-all/", **HTMX).content.decode()
    assert "There was nothing waiting for approval." in html


def test_accept_a_candidate_shows_the_new_record(
    owner_client, enabled_integration, workspace, emulator
):
    candidate = make_candidate(enabled_integration, emulator)
    html = owner_client.get(updates_url(enabled_integration)).content.decode()
    assert candidate.jira_key in html
    assert "Born in Jira" in html
    url = f"/integrations/{enabled_integration.pk}/import-candidates/{candidate.pk}/accept/"
    html = owner_client.post(url, **HTMX).content.decode()
    record = Record.objects.get(name="Born in Jira")
    assert "Imported as" in html
    # The card's head comes along out of band: nothing waits, so no count of 1 and no
    # Accept all / Reject all (issue 10).
    head = html[html.index('id="candidates-head"') :]
    assert 'hx-swap-oob="true"' in head
    assert '<span class="count">0</span>' in head
    assert "Accept all" not in html
    assert "Reject all" not in html
    assert f'href="/records/{record.pk}/"' in html
    assert JiraLink.objects.get(record=record).jira_key == candidate.jira_key
    # Rejecting it now is refused in words.
    reject = f"/integrations/{enabled_integration.pk}/import-candidates/{candidate.pk}/reject/"
    assert "was already imported" in owner_client.post(reject, **HTMX).content.decode()


def test_reject_and_accept_all_candidates(owner_client, enabled_integration, emulator):
    first = make_candidate(enabled_integration, emulator, "First")
    make_candidate(enabled_integration, emulator, "Second")
    make_candidate(enabled_integration, emulator, "Third")
    base = f"/integrations/{enabled_integration.pk}/import-candidates/"
    html = owner_client.post(f"{base}{first.pk}/reject/", **HTMX).content.decode()
    assert "Rejected" in html
    html = owner_client.post(f"{base}accept-all/", **HTMX).content.decode()
    assert "2 imported." in html
    assert set(Record.objects.filter(kind="feature").values_list("name", flat=True)) == {
        "Second",
        "Third",
    }
    make_candidate(enabled_integration, emulator, "Fourth")
    html = owner_client.post(f"{base}reject-all/", **HTMX).content.decode()
    assert "1 rejected." in html
    assert not ImportCandidate.objects.filter(status="pending").exists()


def test_updates_roles_and_isolation(
    viewer, stranger_client, approval_integration, workspace, emulator
):
    make_record(workspace, "feature", "Held")
    entry = OutboxEntry.objects.get()
    candidate = make_candidate(approval_integration, emulator)
    viewer_client = logged_in(viewer)
    html = viewer_client.get(updates_url(approval_integration)).content.decode()
    assert "Held" in html
    assert candidate.jira_key in html
    assert "Approve" not in html
    assert "Accept" not in html
    base = updates_url(approval_integration)
    cbase = f"/integrations/{approval_integration.pk}/import-candidates/"
    for url in (
        f"{base}{entry.pk}/approve/",
        f"{base}approve-all/",
        f"{cbase}{candidate.pk}/accept/",
        f"{cbase}accept-all/",
    ):
        assert viewer_client.post(url).status_code == 403, url
        assert stranger_client.post(url).status_code == 404, url
    assert stranger_client.get(base).status_code == 404
    assert owner_client_for(workspace).post(f"{base}999999/approve/").status_code == 404
    entry.refresh_from_db()
    candidate.refresh_from_db()
    assert (entry.status, candidate.status) == ("awaiting_approval", "pending")


def test_contributors_may_act(contributor, approval_integration, workspace):
    make_record(workspace, "feature", "Held")
    entry = OutboxEntry.objects.get()
    client = logged_in(contributor)
    response = client.post(f"{updates_url(approval_integration)}{entry.pk}/approve/", **HTMX)
    assert response.status_code == 200
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.PENDING


def test_get_is_not_allowed_on_actions(owner_client, approval_integration):
    assert owner_client.get(f"{updates_url(approval_integration)}approve-all/").status_code == 405
