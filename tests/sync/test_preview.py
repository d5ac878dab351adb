"""The dry-run preview: the delivery's own plan, computed with no write call to Jira, and
exactly what the send then does."""

from __future__ import annotations

import re

import pytest

from jira_emulator.store import STATUSES
from records.services import record_link_create
from sync.models import JiraLink, OutboxEntry, SyncLogEntry
from sync.services.bulk import bulk_send_run, bulk_send_start
from sync.services.preview import integration_send_all_preview, record_send_preview
from tests.factories import make_record

from .conftest import make_enabled_integration
from .outbound_helpers import calls, drain, issues_of_project

pytestmark = pytest.mark.django_db

WRITES = ("POST", "PUT", "DELETE")


def _writes(emulator) -> list:
    return [c for c in emulator.requests_log if c[0] in WRITES]


def _workspace_with_everything(workspace):
    releases = [make_record(workspace, "release", f"R{i}") for i in range(2)]
    epic = make_record(workspace, "epic", "E0", release=releases[0])
    features = [
        make_record(
            workspace,
            "feature",
            f"F{i}",
            release=releases[i % 2],
            epic=epic,
            status="in_development" if i == 0 else None,
            description="<p>Ships <strong>soon</strong></p>",
        )
        for i in range(3)
    ]
    requirement = make_record(workspace, "requirement", "Q0", feature=features[0])
    record_link_create(source=features[0], target=features[1], link_type="blocks")
    return releases, epic, features, requirement


def _bare(text: str) -> str:
    return re.sub(r" \([^)]*\)$", "", text)


def _plan_writes(plan) -> list[tuple]:
    """The plan's writes in a form the emulator's request log can be put in too."""
    out = []
    for item in plan.items:
        changes = {c.field: c.new for c in item.changes}
        if item.action == "create_version":
            out.append(("create_version", item.record))
        elif item.action == "create_issue":
            out.append(
                (
                    "create_issue",
                    item.record,
                    item.issue_type,
                    _bare(changes.get("fixVersions", "")),
                    _bare(changes.get("parent", "")),
                )
            )
        elif item.action == "transition":
            out.append(("transition", item.record, changes["status"]))
        elif item.action == "add_link":
            out.append(("add_link", item.record, item.other_record))
        elif item.action in ("update_issue", "update_version", "remove_link"):
            out.append((item.action, item.record, tuple(sorted(changes))))
    return sorted(out)


def _effect(emulator, integration) -> list[tuple]:
    """What Jira received, in the plan's form (ids and keys back to records)."""
    links = JiraLink.objects.filter(integration=integration).select_related("record")
    by_version = {link.jira_id: link.record for link in links if link.jira_kind == "version"}
    by_key = {link.jira_key: link.record for link in links if link.jira_key}
    types = {str(t["id"]): t["name"] for t in integration.configuration["issue_types"]}
    statuses = {str(s.id): s.name for s in STATUSES}
    by_issue = {i.key: i for i in issues_of_project(emulator)}
    out = []
    for method, path, _query, body, _status in _writes(emulator):
        if method == "POST" and path.endswith("/version"):
            version = next(r for jira_id, r in by_version.items() if r.name == body["name"])
            out.append(("create_version", version.reference))
        elif method == "POST" and (path.endswith("/issue/bulk") or path.endswith("/issue")):
            updates = body["issueUpdates"] if path.endswith("/bulk") else [body]
            for update in updates:
                fields = update["fields"]
                record = next(
                    link.record
                    for link in links
                    if link.jira_key and by_issue[link.jira_key].summary == fields["summary"]
                )
                fix = ", ".join(
                    by_version[str(v["id"])].reference for v in fields.get("fixVersions", [])
                )
                parent = by_key[fields["parent"]["key"]].reference if "parent" in fields else ""
                out.append(
                    (
                        "create_issue",
                        record.reference,
                        types[fields["issuetype"]["id"]],
                        fix,
                        parent,
                    )
                )
        elif method == "POST" and path.endswith("/transitions"):
            key = path.split("/")[-2]
            out.append(("transition", by_key[key].reference, statuses[by_issue[key].status_id]))
        elif method == "POST" and path.endswith("/issueLink"):
            inward = by_key[body["inwardIssue"]["key"]]
            outward = by_key[body["outwardIssue"]["key"]]
            out.append(("add_link", inward.reference, outward.reference))
        else:
            out.append((method, path))
    return sorted(out)


def test_send_all_preview_makes_no_write_and_is_exactly_what_the_send_does(workspace, emulator):
    releases, epic, features, requirement = _workspace_with_everything(workspace)
    integration = make_enabled_integration(workspace, emulator)

    plan = integration_send_all_preview(integration=integration)

    assert _writes(emulator) == []  # reads only
    assert not JiraLink.objects.exists()
    assert not OutboxEntry.objects.exists()
    assert not SyncLogEntry.objects.exists()
    counts = plan.counts
    assert counts["create_version"] == 2
    assert counts["create_issue"] == 5  # the epic, three features, the requirement
    assert counts["add_link"] == 1
    assert counts["transition"] == 1
    assert counts["refused"] == 0
    # Reads are batched: the create screens once per issue type, no GET per issue.
    assert not [c for c in calls(emulator, "GET") if re.search(r"/issue/[A-Z]+-\d+$", c[1])]
    by_record = {i.record: i for i in plan.items if i.action == "create_issue"}
    f0 = by_record[features[0].reference]
    changes = {c.field: c for c in f0.changes}
    assert changes["description"].new == "Ships soon"  # rich text shown readably
    assert _bare(changes["fixVersions"].new) == releases[0].reference
    assert _bare(changes["parent"].new) == epic.reference
    assert _bare({c.field: c for c in by_record[requirement.reference].changes}["parent"].new) == (
        features[0].reference
    )

    job = bulk_send_start(integration=integration)
    bulk_send_run(job_id=job.id)

    planned = _plan_writes(plan)
    effect = _effect(emulator, integration)
    differences = set(planned) ^ set(effect)
    assert differences == set()
    assert len(planned) == len(effect)


def test_record_preview_shows_old_and_new_values_and_the_transition(workspace, emulator):
    integration = make_enabled_integration(workspace, emulator)
    feature = make_record(workspace, "feature", "Login", description="<p>Old text</p>")
    drain(integration)
    emulator.requests_log.clear()
    from records.services import record_update

    record_update(record=feature, name="Login v2", status="in_development")
    OutboxEntry.objects.all().delete()  # the automatic send; the preview is of Send to Jira

    plan = record_send_preview(record=feature, integration=integration)

    assert _writes(emulator) == []
    assert len(calls(emulator, "GET", "/search/jql")) == 1  # the current values, by key
    key = JiraLink.objects.get(record=feature).jira_key
    update = next(i for i in plan.items if i.action == "update_issue")
    assert update.jira == key
    summary = next(c for c in update.changes if c.field == "summary")
    assert (summary.old, summary.new) == ("Login", "Login v2")
    transition = next(i for i in plan.items if i.action == "transition")
    assert transition.changes[0].new == "In Progress"
    assert OutboxEntry.objects.count() == 0  # rolled back
    assert JiraLink.objects.get(record=feature).jira_key == key


def test_preview_shows_refusals_with_their_reasons(workspace, emulator):
    good = make_record(workspace, "feature", "Good")
    bad = make_record(workspace, "feature", "Bad", story_points=2)
    child = make_record(workspace, "requirement", "Child", feature=bad)
    integration = make_enabled_integration(workspace, emulator)
    row = integration.record_mappings.get(record_kind="feature")
    row.field_mappings.create(
        position=60, local_field="story_points", jira_field_id="customfield_10099"
    )

    plan = integration_send_all_preview(integration=integration)

    assert _writes(emulator) == []
    refused = {i.record: i.reason for i in plan.items if i.action == "refused"}
    assert "customfield_10099" in refused[bad.reference]
    assert "not on the create screen" in refused[bad.reference]
    assert bad.reference in refused[child.reference]  # its parent could not be sent
    created = [i.record for i in plan.items if i.action == "create_issue"]
    assert created == [good.reference]

    # The send refuses the same ones.
    job = bulk_send_start(integration=integration)
    bulk_send_run(job_id=job.id)
    failed = set(
        OutboxEntry.objects.filter(status="failed").values_list("record__reference", flat=True)
    )
    assert failed == set(refused)
    assert len(issues_of_project(emulator)) == 1


def test_record_preview_of_an_unmapped_kind_is_refused_with_what_to_do(workspace, emulator):
    integration = make_enabled_integration(workspace, emulator)
    feature = make_record(workspace, "feature", "F")
    integration.record_mappings.filter(record_kind="feature").delete()

    plan = record_send_preview(record=feature, integration=integration)

    assert [i.action for i in plan.items] == ["refused"]
    assert "not mapped" in plan.items[0].reason
    assert "Mappings step" in plan.items[0].reason
    assert _writes(emulator) == []


# -- the API ----------------------------------------------------------------------------------


def test_the_preview_api_pages_the_plan_with_counts_on_top(owner, contributor, workspace, emulator):
    from tests.api.conftest import bearer_client
    from tests.factories import make_account, make_user

    for i in range(55):
        make_record(workspace, "feature", f"F{i}")
    integration = make_enabled_integration(workspace, emulator)
    api = bearer_client(owner)
    url = f"/api/v1/integrations/{integration.pk}/preview/"

    first = api.get(url)
    assert first.status_code == 200
    body = first.json()
    assert body["counts"]["create_issue"] == 55
    assert (body["count"], body["page"], body["pages"], len(body["results"])) == (55, 1, 2, 50)
    item = body["results"][0]
    assert item["action"] == "create_issue"
    assert item["issue_type"] == "Story"
    assert {c["field"] for c in item["changes"]} >= {"summary"}
    second = api.get(url, {"page": 2}).json()
    assert len(second["results"]) == 5
    wrong = api.get(url, {"page": "x"})
    assert wrong.status_code == 400
    assert "from 1 to 2" in wrong.json()["error"]["fields"]["page"][0]
    assert bearer_client(contributor).get(url).status_code == 403  # like Send all
    # A member of another account only: not found (a key without any account is a 401).
    outsider = make_user()
    make_account(owner=outsider)
    assert bearer_client(outsider).get(url).status_code == 404
    assert _writes(emulator) == []

    from records.models import Record

    record = Record.objects.get(workspace=workspace, name="F0")
    response = bearer_client(contributor).get(f"/api/v1/records/{record.pk}/preview/")
    assert response.status_code == 200
    assert response.json()["counts"]["create_issue"] == 1
    assert _writes(emulator) == []


def test_the_schema_documents_the_preview(owner, account):  # a key needs an account
    from tests.api.conftest import bearer_client

    paths = bearer_client(owner).get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in ("/api/v1/integrations/{id}/preview/", "/api/v1/records/{id}/preview/"):
        assert "get" in paths[path]
        assert "200" in paths[path]["get"]["responses"]


# -- the pages ----------------------------------------------------------------------------------


def test_the_preview_pages_before_enable_and_from_the_jira_panel(
    client, owner, viewer, workspace, emulator
):
    from django.urls import reverse

    from integrations.models import Integration

    feature = make_record(workspace, "feature", "Checkout", description="<p>Pay <em>fast</em></p>")
    integration = make_enabled_integration(workspace, emulator)
    Integration.objects.filter(pk=integration.pk).update(state=Integration.State.DRAFT)
    client.force_login(owner)

    enable = client.get(reverse("integration_enable", args=[integration.pk])).content.decode()
    url = reverse("sync:integration_preview", args=[integration.pk])
    assert url in enable  # linked before Enable
    page = client.get(url).content.decode()
    assert "1</strong> issue to create" in page
    assert "Checkout" in page
    assert "Pay fast" in page  # rich text in words
    assert "page must be" in client.get(url, {"page": "9"}).content.decode()
    assert _writes(emulator) == []

    Integration.objects.filter(pk=integration.pk).update(state=Integration.State.ENABLED)
    panel = client.get(reverse("sync:record_jira_panel", args=[feature.pk])).content.decode()
    record_url = reverse("sync:record_preview", args=[feature.pk, integration.pk])
    assert record_url in panel
    record_page = client.get(record_url).content.decode()
    assert "Create issue" in record_page
    assert "Checkout" in record_page
    assert _writes(emulator) == []

    client.force_login(viewer)
    assert client.get(url).status_code == 403
    assert client.get(record_url).status_code == 403


def test_record_preview_shows_a_link_removal_waiting_to_go(workspace, emulator):
    from records.services import record_link_delete
    from sync.models import IssueLinkMirror

    integration = make_enabled_integration(workspace, emulator, require_approval=True)
    a = make_record(workspace, "feature", "A")
    b = make_record(workspace, "feature", "B")
    link = record_link_create(source=a, target=b, link_type="blocks")
    OutboxEntry.objects.update(status="pending")
    drain(integration)
    assert IssueLinkMirror.objects.count() == 1
    record_link_delete(link=link)
    waiting = OutboxEntry.objects.get(action="delete_link")
    assert waiting.status == "awaiting_approval"
    emulator.requests_log.clear()

    plan = record_send_preview(record=a, integration=integration)

    removal = next(i for i in plan.items if i.action == "remove_link")
    assert removal.record == a.reference
    assert "blocks" in removal.title.lower()
    assert b.reference in removal.title
    assert _writes(emulator) == []
    waiting.refresh_from_db()
    assert waiting.status == "awaiting_approval"  # a preview approves nothing


def test_record_preview_names_fix_versions_apart_from_issues_with_the_same_id(workspace, emulator):
    from records.services import record_update

    integration = make_enabled_integration(workspace, emulator)
    spring = make_record(workspace, "release", "Spring")
    feature = make_record(workspace, "feature", "Cards", release=spring)
    drain(integration)
    ids = set(JiraLink.objects.values_list("jira_id", flat=True))
    assert len(ids) == 1  # the emulator numbers issues and versions apart: both are 10000
    summer = make_record(workspace, "release", "Summer")
    record_update(record=feature, release=summer)
    OutboxEntry.objects.all().delete()
    emulator.requests_log.clear()

    plan = record_send_preview(record=feature, integration=integration)

    assert [i.record for i in plan.items if i.action == "create_version"] == [summer.reference]
    update = next(i for i in plan.items if i.action == "update_issue")
    fix = next(c for c in update.changes if c.field == "fixVersions")
    assert fix.old.startswith(spring.reference)
    assert fix.new == f"{summer.reference} (new)"
    assert _writes(emulator) == []
