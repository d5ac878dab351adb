"""The webhook intake (``POST /webhooks/jira/<token>/``): every refusal is a clear JSON 4xx,
duplicates are stored once, ignored events are stored as such; and every captured Jira
payload in tests/fixtures/jira/webhooks/ goes through the endpoint and has its effect (or a
documented ignore) once processed."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Role
from integrations.models import Integration
from integrations.services.relationships import relationship_mapping_add
from records.models import Record, RecordLink
from sync.models import ImportCandidate, InboundEvent, IssueLinkMirror, JiraLink, SyncLogEntry
from sync.services.inbound import inbound_event_process
from tests.factories import add_member, make_user
from tests.fixtures import JIRA_WEBHOOKS as WEBHOOKS
from tests.sync.conftest import make_linked_record, post_webhook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_link_defaults")]


def load(name: str) -> dict:
    return json.loads((WEBHOOKS / name).read_text())


def url(integration) -> str:
    return f"/webhooks/jira/{integration.webhook_token}/"


def error_of(response) -> dict:
    body = response.json()
    assert set(body["error"]) >= {"code", "message"}
    assert body["error"]["message"]
    return body["error"]


# --------------------------------------------------------------------------- refusals


def test_unknown_token_is_404(client, enabled_integration):
    response = client.post("/webhooks/jira/nope/", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_integration"


@pytest.mark.parametrize(
    ("signature", "code"),
    [
        (None, "signature_missing"),
        ("sha256=" + "0" * 64, "signature_invalid"),
        ("md5=x", "signature_invalid"),
    ],
)
def test_missing_or_bad_signature_is_401(client, enabled_integration, signature, code):
    headers = {"HTTP_X_HUB_SIGNATURE": signature} if signature else {}
    response = client.post(
        url(enabled_integration),
        data=json.dumps({"webhookEvent": "comment_created"}),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == code
    assert not InboundEvent.objects.exists()


def test_signed_with_another_secret_is_401(client, enabled_integration):
    response = post_webhook(
        client, enabled_integration, {"webhookEvent": "comment_created"}, secret="other"
    )
    assert response.status_code == 401


def test_refusals_are_logged_without_the_token_or_the_secret(client, enabled_integration, caplog):
    caplog.set_level("WARNING")
    post_webhook(client, enabled_integration, {"webhookEvent": "comment_created"}, secret="x")
    client.post(url(enabled_integration), data="{", content_type="application/json")
    logged = caplog.text
    assert "signature_invalid" in logged
    assert "Unauthorized: /webhooks/jira/<token>/" in logged  # Django's own line, redacted
    assert f"integration {enabled_integration.pk}" in logged
    assert enabled_integration.webhook_token not in logged
    assert enabled_integration.webhook_token[:6] not in logged
    assert enabled_integration.get_webhook_secret() not in logged


def test_wrong_content_type_is_415(client, enabled_integration):
    response = client.post(url(enabled_integration), data="a=b", content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in error_of(response)["message"]


def test_body_over_the_limit_is_413(client, enabled_integration):
    from sync.webhooks.jira import MAX_BODY_BYTES

    big = b'{"webhookEvent": "comment_created", "x": "' + b"a" * MAX_BODY_BYTES + b'"}'
    response = post_webhook(client, enabled_integration, None, raw=big)
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[1, 2]", "invalid_payload"),
        (b'"text"', "invalid_payload"),
        (b"{}", "missing_event"),
        (b'{"webhookEvent": 5}', "missing_event"),
        (b'{"webhookEvent": "jira:something_new"}', "unknown_event"),
        (b'{"webhookEvent": "jira:issue_updated"}', "missing_fields"),
        (b'{"webhookEvent": "jira:issue_updated", "issue": {"key": "X-1"}}', "missing_fields"),
        (b'{"webhookEvent": "issuelink_created", "issueLink": []}', "missing_fields"),
        (b'{"webhookEvent": "jira:version_updated", "version": {"id": ""}}', "missing_fields"),
    ],
)
def test_bad_bodies_are_400_with_a_clear_message(client, enabled_integration, raw, code):
    response = post_webhook(client, enabled_integration, None, raw=raw)
    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert not InboundEvent.objects.exists()


def test_a_duplicate_delivery_is_answered_2xx_and_stored_once(client, enabled_integration):
    body = load("pinpt_issue_updated_labels.json")
    first = post_webhook(client, enabled_integration, body, delivery_id="delivery-1")
    second = post_webhook(client, enabled_integration, body, delivery_id="delivery-1")
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert InboundEvent.objects.count() == 1


def test_ignored_events_are_answered_2xx_and_stored_as_ignored(client, enabled_integration):
    response = post_webhook(client, enabled_integration, load("pinpt_comment_created.json"))
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.IGNORED
    assert "not a handled event type" in event.last_error


def test_a_disabled_integration_stores_but_ignores(client, enabled_integration):
    Integration.objects.filter(pk=enabled_integration.pk).update(state="disabled")
    response = post_webhook(client, enabled_integration, load("pinpt_issue_updated_labels.json"))
    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.IGNORED
    assert "disabled" in event.last_error


def test_get_is_not_allowed(client, enabled_integration):
    assert client.get(url(enabled_integration)).status_code == 405


# --------------------------------------------------------------------------- real payloads


@pytest.fixture
def pinpt_world(enabled_integration, workspace):
    """Records linked to the issues the captured payloads name, by their real ids."""
    robin = make_user("robin", email="robin@example.com")
    get_user_model().objects.filter(pk=robin.pk).update(first_name="Robin", last_name="Diddams")
    add_member(workspace.account, robin, role=Role.CONTRIBUTOR)
    integration = enabled_integration
    world = {
        "TES-12": make_linked_record(integration, "feature", 11917, "TES-12", name="Panic"),
        "GOLD-137": make_linked_record(integration, "feature", 20706, "GOLD-137"),
        "TES-22": make_linked_record(integration, "feature", 11927, "TES-22"),
        "TES-20": make_linked_record(integration, "feature", 11925, "TES-20", name="Typed"),
        "GOLD-208": make_linked_record(
            integration, "feature", 19518, "GOLD-208", status="in_development"
        ),
        "TES-19": make_linked_record(integration, "feature", 11924, "TES-19"),
        "TIGR-361": make_linked_record(integration, "feature", 20733, "TIGR-361"),
        "blocker": make_linked_record(integration, "feature", 20192, "GOLD-1"),
        "blocked": make_linked_record(integration, "feature", 20734, "GOLD-2"),
        "src": make_linked_record(integration, "feature", 18715, "TES-5"),
    }
    for link_type, jira_type in (
        ("blocks", "10000"),
        ("duplicates", "10002"),
        ("relates_to", "10003"),
    ):
        relationship_mapping_add(
            integration=integration,
            record_kind="feature",
            link_type=link_type,
            jira_link_type_id=jira_type,
        )
    return world


def _check_version_created(integration, world, event):
    assert event.status == InboundEvent.Status.IGNORED
    assert "belongs to project 12345" in event.last_error  # not this integration's project


def _check_comment(integration, world, event):
    assert event.status == InboundEvent.Status.IGNORED


def _check_issue_created(integration, world, event):
    # GOLD-189 is a Task under no integrated parent; Tasks are not mapped by the defaults.
    assert event.status == InboundEvent.Status.IGNORED
    assert "issue type 'Task' is not mapped" in event.last_error
    assert not ImportCandidate.objects.exists()


def _check_issue_deleted(integration, world, event):
    record = world["TIGR-361"]
    assert Record.objects.filter(pk=record.pk).exists()
    assert not JiraLink.objects.filter(record=record).exists()
    assert SyncLogEntry.objects.filter(
        level="warning",
        message=f"TIGR-361 was deleted in Jira; {record.reference} is kept here and no longer "
        "linked.",
    ).exists()


def _check_assignee(integration, world, event):
    assert Record.objects.get(pk=world["TES-12"].pk).assignee.username == "robin"


def _check_description(integration, world, event):
    description = Record.objects.get(pk=world["GOLD-137"].pk).description
    assert "developer signup enrollment for the SDK" in description


def _check_duedate(integration, world, event):
    assert str(Record.objects.get(pk=world["TES-22"].pk).due_date) == "2020-08-04"


def _check_issuetype(integration, world, event):
    # No field mapping takes the issue type: processed, nothing changed.
    assert event.status == InboundEvent.Status.PROCESSED
    assert Record.objects.get(pk=world["TES-20"].pk).name == "Typed"
    assert not SyncLogEntry.objects.filter(record=world["TES-20"], level="info").exists()


def _check_labels(integration, world, event):
    record = Record.objects.get(pk=world["TES-12"].pk)
    assert list(record.tags.values_list("name", flat=True)) == ["signal"]
    assert record.name == "Panic"  # the summary was not in the changelog


def _check_moved(integration, world, event):
    # Work Required (category new) is not in the value map: the category decides.
    assert Record.objects.get(pk=world["GOLD-208"].pk).status == "not_started"


def _check_resolution(integration, world, event):
    # Closed (category done) with resolution Won't Do: closed without doing it, not Shipped.
    assert Record.objects.get(pk=world["TES-19"].pk).status == "will_not_implement"
    applied = SyncLogEntry.objects.get(record=world["TES-19"], level="info").message
    assert "Will not implement <- Closed (Won't Do)" in applied


def _link_types():
    return sorted(
        RecordLink.objects.values_list("source__reference", "link_type", "target__reference")
    )


def _check_link_blocks(integration, world, event):
    assert _link_types() == [(world["blocker"].reference, "blocks", world["blocked"].reference)]
    assert IssueLinkMirror.objects.get(jira_link_id="22768").record_link is not None


def _check_link_cloners(integration, world, event):
    assert event.status == InboundEvent.Status.IGNORED
    assert "Cloners" in event.last_error
    assert not RecordLink.objects.exists()


def _check_link_duplicate(integration, world, event):
    assert _link_types() == [(world["src"].reference, "duplicates", world["TES-12"].reference)]


def _check_link_relates(integration, world, event):
    assert _link_types() == [(world["src"].reference, "relates_to", world["TES-12"].reference)]


def _check_link_deleted(integration, world, event):
    assert event.status == InboundEvent.Status.PROCESSED
    assert not RecordLink.objects.exists()
    assert not IssueLinkMirror.objects.exists()


def _check_project(integration, world, event):
    assert event.status == InboundEvent.Status.IGNORED
    assert "not a handled event type" in event.last_error


EXPECTED = {
    "atlassian_doc_via_miaplatform_version_created.json": ([], _check_version_created),
    "pinpt_comment_created.json": ([], _check_comment),
    "pinpt_issue_created.json": ([], _check_issue_created),
    "pinpt_issue_deleted.json": ([], _check_issue_deleted),
    "pinpt_issue_updated_assignee.json": ([], _check_assignee),
    "pinpt_issue_updated_description.json": ([], _check_description),
    "pinpt_issue_updated_duedate.json": ([], _check_duedate),
    "pinpt_issue_updated_issuetype.json": ([], _check_issuetype),
    "pinpt_issue_updated_labels.json": ([], _check_labels),
    "pinpt_issue_updated_moved_project_key.json": ([], _check_moved),
    "pinpt_issue_updated_resolution_status.json": ([], _check_resolution),
    "pinpt_issuelink_created_blocks.json": ([], _check_link_blocks),
    "pinpt_issuelink_created_cloners.json": ([], _check_link_cloners),
    "pinpt_issuelink_created_duplicate.json": ([], _check_link_duplicate),
    "pinpt_issuelink_created_relates.json": ([], _check_link_relates),
    # The deletion of the Blocks link the created_blocks payload made.
    "pinpt_issuelink_deleted_blocks.json": (
        ["pinpt_issuelink_created_blocks.json"],
        _check_link_deleted,
    ),
    "pinpt_project_created.json": ([], _check_project),
    "pinpt_project_deleted.json": ([], _check_project),
    "pinpt_project_updated.json": ([], _check_project),
}


def test_every_captured_payload_has_an_expectation():
    assert sorted(p.name for p in WEBHOOKS.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_captured_payload_through_the_endpoint(client, enabled_integration, pinpt_world, name):
    before, check = EXPECTED[name]
    for earlier in before:
        assert post_webhook(client, enabled_integration, load(earlier)).status_code == 202
        inbound_event_process(event_id=InboundEvent.objects.latest("id").id)

    response = post_webhook(client, enabled_integration, load(name))

    assert response.status_code == 202, response.content
    event = InboundEvent.objects.latest("id")
    assert event.event_type == load(name)["webhookEvent"]
    inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert event.status in (InboundEvent.Status.PROCESSED, InboundEvent.Status.IGNORED), (
        event.last_error
    )
    if event.status == InboundEvent.Status.IGNORED:
        assert event.last_error.startswith("ignored:")  # a documented reason
    check(enabled_integration, pinpt_world, event)
    # Processing the same event again (a redelivered task) changes nothing more.
    links, logs = RecordLink.objects.count(), SyncLogEntry.objects.count()
    inbound_event_process(event_id=event.id)
    assert (RecordLink.objects.count(), SyncLogEntry.objects.count()) == (links, logs)
