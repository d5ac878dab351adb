"""The integration pages with Django's test client: each wizard step's GET and POST, the
htmx partials, permissions (members read, admins write, other accounts 404), CSRF, the
engine's errors next to what caused them with the input kept, and secrets never rendered."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from integrations import selectors
from integrations.models import Integration, RecordMapping, RelationshipMapping
from integrations.services.configuration import configuration_reload
from integrations.services.record_mappings import mappings_apply_defaults
from tests.factories import add_member, make_account, make_user, make_workspace

from .conftest import DEMO_TOKEN, configured_integration, connect

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin_client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def viewer_client(viewer):
    client = Client()
    client.force_login(viewer)
    return client


def url(name, integration, *args):
    return reverse(name, args=[integration.pk, *args])


# -- lists ------------------------------------------------------------------------------------


def test_account_and_workspace_lists_show_state_project_and_warnings(
    admin_client, account, workspace
):
    integration = configured_integration(workspace, name="Jira main")
    template = Integration.objects.create(
        account=account, is_template=True, name="Company template"
    )
    response = admin_client.get(reverse("integrations_account"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Jira main" in body
    assert "Company template" in body
    assert "Add integration" in body
    assert "1 of 5 steps done" in body  # created = Name step done
    response = admin_client.get(reverse("integrations_workspace", args=[workspace.pk]))
    body = response.content.decode()
    assert "Jira main" in body
    assert "Company template" not in body
    assert url("integration_connect", integration) in body  # opens at the next step
    assert template.pk


def test_the_list_shows_sync_errors_linked_records_and_last_sync(admin_client, workspace):
    from records.services import record_create
    from sync.models import InboundEvent, JiraLink, OutboxEntry, SyncLogEntry

    integration = configured_integration(workspace, name="Jira main")
    record = record_create(workspace=workspace, kind="feature", name="Linked")
    JiraLink.objects.create(
        integration=integration, record=record, jira_kind="issue", jira_id="1", jira_key="D-1"
    )
    OutboxEntry.objects.create(
        integration=integration, action="send_record", record=record, status="failed"
    )
    InboundEvent.objects.create(
        integration=integration,
        delivery_id="x",
        event_type="jira:issue_updated",
        body={},
        status="failed",
    )
    InboundEvent.objects.create(  # processed: not an error that needs anyone
        integration=integration,
        delivery_id="y",
        event_type="jira:issue_updated",
        body={},
        status="processed",
    )
    SyncLogEntry.objects.create(integration=integration, level="info", action="x", message="m")
    body = admin_client.get(reverse("integrations_workspace", args=[workspace.pk])).content.decode()
    errors_link = reverse("sync:sync_log", args=[integration.pk]) + "?level=error"
    assert f'href="{errors_link}">2<' in body
    assert "1 linked" in body
    assert "ago" in body  # last sync from the log entry


def test_opening_resumes_after_the_last_completed_step(admin_client, integration):
    integration.last_completed_step = Integration.Step.PROJECT
    integration.save()
    response = admin_client.get(url("integration_open", integration))
    assert response.status_code == 302
    assert response["Location"] == url("integration_mappings", integration)


def test_viewer_reads_but_cannot_change(viewer_client, integration):
    assert viewer_client.get(reverse("integrations_account")).status_code == 200
    page = viewer_client.get(url("integration_mappings", integration))
    assert page.status_code == 200
    assert "Only an account owner or admin can change it" in page.content.decode()
    assert (
        "Add integration" not in viewer_client.get(reverse("integrations_account")).content.decode()
    )
    for name in ("integration_name", "integration_connect", "integration_project"):
        assert viewer_client.post(url(name, integration), {"name": "x"}).status_code == 403
    assert viewer_client.post(url("mappings_defaults", integration)).status_code == 403
    assert viewer_client.get(url("integration_delete", integration)).status_code == 403
    assert viewer_client.post(url("integration_webhook_secret", integration)).status_code == 403
    new = reverse("integration_new") + f"?account={integration.account_id}"
    assert viewer_client.get(new).status_code == 403


def test_another_accounts_integration_is_404(integration):
    stranger = make_user("stranger")
    make_workspace(account=make_account(owner=stranger))
    client = Client()
    client.force_login(stranger)
    for name in ("integration_name", "integration_connect", "integration_mappings"):
        assert client.get(url(name, integration)).status_code == 404
    assert client.post(url("mappings_defaults", integration)).status_code == 404
    assert client.get(url("integration_fields", integration, "feature")).status_code == 404
    assert (
        client.get(reverse("integrations_workspace", args=[integration.workspace_id])).status_code
        == 404
    )


def test_anonymous_is_sent_to_log_in(integration):
    response = Client().get(url("integration_mappings", integration))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_posts_need_the_csrf_token(owner, integration):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(url("integration_name", integration), {"name": "New name"})
    assert response.status_code == 403
    integration.refresh_from_db()
    assert integration.name == "Jira"
    page = client.get(url("integration_name", integration)).content.decode()
    assert "csrfmiddlewaretoken" in page


# -- 1. Name ----------------------------------------------------------------------------------


def test_name_step_creates_a_workspace_integration_or_a_template(admin_client, account, workspace):
    new = reverse("integration_new") + f"?workspace={workspace.pk}"
    assert admin_client.get(new).status_code == 200
    response = admin_client.post(new, {"name": "Jira for App", "scope": str(workspace.pk)})
    integration = Integration.objects.get(name="Jira for App")
    assert response["Location"] == url("integration_connect", integration)
    assert integration.workspace == workspace
    assert not integration.is_template
    assert integration.last_completed_step == Integration.Step.NAME

    new = reverse("integration_new") + f"?account={account.pk}"
    admin_client.post(new, {"name": "Template", "scope": "account"})
    template = Integration.objects.get(name="Template")
    assert template.is_template
    assert template.workspace is None

    response = admin_client.post(
        reverse("integration_new") + f"?workspace={workspace.pk}",
        {"name": "From template", "scope": str(workspace.pk), "template": str(template.pk)},
    )
    assert Integration.objects.get(name="From template").template == template


def test_add_integration_defaults_to_the_only_workspace(admin_client, account, workspace):
    """The README's path (Settings > Integrations > Add integration) with one workspace
    makes that workspace's integration, not a template that can never be enabled."""
    page = admin_client.get(reverse("integration_new") + f"?account={account.pk}")
    body = page.content.decode()
    assert re.search(rf'value="{workspace.pk}"[^>]*checked', body)
    assert not re.search(r'value="account"[^>]*checked', body)
    assert "Jira — App" in body


def test_with_two_workspaces_the_choice_is_left_to_the_user(admin_client, account, workspace):
    from tests.factories import make_workspace

    make_workspace(account=account, prefix="WEB", name="Web")
    body = admin_client.get(reverse("integration_new") + f"?account={account.pk}").content
    assert re.search(r'value="account"[^>]*checked', body.decode())


def test_a_templates_enable_step_says_what_it_is_for(admin_client, account, workspace):
    admin_client.post(
        reverse("integration_new") + f"?account={account.pk}",
        {"name": "Company Jira", "scope": "account"},
    )
    template = Integration.objects.get(name="Company Jira")
    body = admin_client.get(url("integration_enable", template)).content.decode()
    assert "A template is not enabled" in body
    create = f"{reverse('integration_new')}?workspace={workspace.pk}&amp;template={template.pk}"
    assert create in body
    assert "Create an integration for App from this template" in body
    assert 'name="send_all"' not in body
    # The link starts the workspace's integration from the template.
    start = admin_client.get(create.replace("&amp;", "&")).content.decode()
    assert f'<option value="{template.pk}" selected>' in start


def test_name_errors_are_shown_next_to_the_field_and_input_kept(admin_client, workspace):
    new = reverse("integration_new") + f"?workspace={workspace.pk}"
    response = admin_client.post(new, {"name": "x" * 201, "scope": str(workspace.pk)})
    assert response.status_code == 400
    body = response.content.decode()
    assert "field-errors" in body
    assert "x" * 201 in body
    assert not Integration.objects.exists()


def test_renaming_keeps_the_scope(admin_client, integration):
    response = admin_client.post(url("integration_name", integration), {"name": "Renamed"})
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.name == "Renamed"
    assert integration.workspace_id


# -- 2. Connect -------------------------------------------------------------------------------


def _connect_data(emulator, **overrides):
    data = {
        "deployment": "cloud",
        "base_url": emulator.base_url,
        "email": "demo@example.com",
        "api_token": DEMO_TOKEN,
    }
    data.update(overrides)
    return data


def test_connect_saves_and_never_renders_the_token(admin_client, integration, emulator):
    response = admin_client.post(url("integration_connect", integration), _connect_data(emulator))
    assert response.status_code == 302
    assert response["Location"] == url("integration_project", integration)
    integration.refresh_from_db()
    assert integration.get_api_token() == DEMO_TOKEN
    page = admin_client.get(url("integration_connect", integration)).content.decode()
    assert DEMO_TOKEN not in page
    assert integration.api_token_encrypted not in page
    assert "•••• set — leave blank to keep" in page
    # Blank keeps the saved token.
    admin_client.post(
        url("integration_connect", integration), _connect_data(emulator, api_token="")
    )
    integration.refresh_from_db()
    assert integration.get_api_token() == DEMO_TOKEN


def test_test_connection_answers_in_plain_words(admin_client, integration, emulator):
    ok = admin_client.post(
        url("integration_connect_test", integration), _connect_data(emulator), **HTMX
    )
    body = ok.content.decode()
    assert ok.status_code == 200
    assert "Connected." in body
    assert 'id="connect-form"' in body
    assert "<html" not in body  # only the form part for htmx
    assert DEMO_TOKEN not in body
    bad = admin_client.post(
        url("integration_connect_test", integration),
        _connect_data(emulator, api_token="wrong-token"),
        **HTMX,
    )
    body = bad.content.decode()
    assert "Could not connect." in body
    assert "wrong-token" not in body


def test_connect_url_error_keeps_what_was_typed_and_the_token(admin_client, integration):
    response = admin_client.post(
        url("integration_connect", integration),
        {
            "deployment": "cloud",
            "base_url": "ftp://jira",
            "email": "me@example.com",
            "api_token": "tok-123-secret",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "must start with https://" in body
    assert 'value="ftp://jira"' in body
    assert 'value="me@example.com"' in body
    assert "tok-123-secret" not in body
    integration.refresh_from_db()
    assert integration.get_api_token() == "tok-123-secret"  # kept, shown only as "set"
    assert "•••• set" in body


def test_connect_data_center_needs_a_personal_access_token(admin_client, integration):
    response = admin_client.post(
        url("integration_connect", integration),
        {"deployment": "data_center", "base_url": "https://jira.example.com/jira"},
    )
    assert response.status_code == 400
    assert "Enter a personal access token." in response.content.decode()


# -- 3. Project -------------------------------------------------------------------------------


def test_project_step_lists_searches_and_saves(admin_client, integration, emulator):
    connect(integration, emulator, project=None)
    page = admin_client.get(url("integration_project", integration)).content.decode()
    assert "DEMO" in page
    assert "INIT" in page
    found = admin_client.get(url("integration_project_search", integration), {"q": "init"}, **HTMX)
    body = found.content.decode()
    assert "INIT" in body
    assert "DEMO" not in body
    response = admin_client.post(
        url("integration_project", integration), {"project_key": "DEMO|10000|Demo"}
    )
    assert response["Location"] == url("integration_mappings", integration)
    integration.refresh_from_db()
    assert integration.project_key == "DEMO"
    assert integration.configuration.get("issue_types")  # loaded for the Mappings step
    assert integration.last_completed_step == Integration.Step.PROJECT


def test_project_without_choice_says_so(admin_client, integration, emulator):
    connect(integration, emulator, project=None)
    response = admin_client.post(url("integration_project", integration), {})
    assert response.status_code == 400
    assert "Choose the Jira project" in response.content.decode()


def test_project_list_error_is_in_words(admin_client, integration):
    page = admin_client.get(url("integration_project", integration)).content.decode()
    assert "Could not list projects." in page
    assert "Connect step" in page


# -- 4. Mappings ------------------------------------------------------------------------------


def test_mappings_page_has_instructions_rows_and_warnings(admin_client, integration):
    mappings_apply_defaults(integration=integration)
    page = admin_client.get(url("integration_mappings", integration)).content.decode()
    assert "How this works" in page
    assert "Order matters." in page
    for label in ("Releases", "Epics", "Features", "Requirements"):
        assert f">{label}</strong>" in page
    assert "Linked to" in page
    assert "Fix versions" in page
    assert "Use recommended defaults" in page
    assert "Reload configuration" in page


def test_adding_release_then_feature_links_automatically(admin_client, integration):
    admin_client.post(
        url("mapping_row_add", integration),
        {"record_kind": "release", "becomes": "version"},
        **HTMX,
    )
    response = admin_client.post(
        url("mapping_row_add", integration), {"record_kind": "feature", "becomes": "10001"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="mappings"' in body
    assert "Linked to set" in body
    feature = RecordMapping.objects.get(integration=integration, record_kind="feature")
    assert [(lt.parent_kind, lt.jira_field) for lt in feature.linked_to.all()] == [
        ("release", "fix_versions")
    ]


def test_feature_first_is_not_linked_and_the_cost_is_said(admin_client, integration):
    admin_client.post(
        url("mapping_row_add", integration), {"record_kind": "feature", "becomes": "10001"}
    )
    response = admin_client.post(
        url("mapping_row_add", integration),
        {"record_kind": "release", "becomes": "version"},
        **HTMX,
    )
    body = response.content.decode()
    # What was done in green, what it costs in yellow: not one box for both.
    assert '<div class="notice notice-ok">Releases row added.</div>' in body
    warning = body[body.index('<div class="notice notice-warn">') :]
    assert "Features above it are not linked to releases automatically" in warning
    assert "will not be put in their release" in body
    feature = RecordMapping.objects.get(integration=integration, record_kind="feature")
    assert not feature.linked_to.exists()
    # The first row offers Add link in place; the release row shows no empty "Linked to".
    assert 'id="parent-feature"' in body
    release_row = body[body.index('id="row-release"') :]
    release_row = release_row[: release_row.index("</li>")]
    assert 'class="linked-to"' not in release_row
    assert "not set" not in release_row
    # Add the link by hand without reordering: done, with the warning about order.
    response = admin_client.post(
        url("mapping_linked_to_add", integration, feature.pk),
        {"parent_kind": "release", "jira_field": "fix_versions"},
        **HTMX,
    )
    assert response.status_code == 200
    assert feature.linked_to.get().jira_field == "fix_versions"
    body = response.content.decode()
    assert '<div class="notice notice-ok">Linked to set' in body
    warning = body[body.index('<div class="notice notice-warn">') :]
    assert "whose row is below it" in warning
    rows = selectors.validate_mapping(integration)["rows"]
    assert all(p["severity"] == "warning" for r in rows for p in r["problems"])


def test_row_errors_appear_next_to_the_row(admin_client, integration):
    admin_client.post(
        url("mapping_row_add", integration), {"record_kind": "feature", "becomes": "10001"}
    )
    feature = RecordMapping.objects.get(integration=integration, record_kind="feature")
    response = admin_client.post(
        url("mapping_linked_to_add", integration, feature.pk), {"parent_kind": "release"}, **HTMX
    )
    assert response.status_code == 400
    assert "There is no Releases row to link to: add it first." in response.content.decode()
    response = admin_client.post(
        url("mapping_row_add", integration), {"record_kind": "feature", "becomes": "10001"}, **HTMX
    )
    assert "already have a row" in response.content.decode()
    response = admin_client.post(
        url("mapping_row_add", integration), {"record_kind": "epic"}, **HTMX
    )
    assert "Choose what epics become in Jira." in response.content.decode()


def test_reorder_update_remove_and_defaults(admin_client, integration):
    mappings_apply_defaults(integration=integration)
    rows = list(RecordMapping.objects.filter(integration=integration).order_by("position"))
    ids = [r.pk for r in reversed(rows)]
    response = admin_client.post(
        url("mapping_rows_reorder", integration), {"ids": ",".join(map(str, ids))}, **HTMX
    )
    assert response.status_code == 200
    assert [
        r.pk for r in RecordMapping.objects.filter(integration=integration).order_by("position")
    ] == ids
    assert "whose row is below it" in response.content.decode()  # Linked to below, in words
    feature = RecordMapping.objects.get(integration=integration, record_kind="feature")
    admin_client.post(
        url("mapping_row_update", integration, feature.pk),
        {"target": "issue_type", "default_issue_type_id": "10002", "also": ["10001"]},
        **HTMX,
    )
    feature.refresh_from_db()
    assert feature.default_issue_type_id == "10002"
    assert [t["id"] for t in feature.issue_types] == ["10002", "10001"]
    admin_client.post(url("mapping_row_remove", integration, feature.pk), **HTMX)
    assert not RecordMapping.objects.filter(pk=feature.pk).exists()
    response = admin_client.post(url("mappings_defaults", integration), **HTMX)
    assert "Recommended defaults applied" in response.content.decode()
    assert RecordMapping.objects.filter(integration=integration, record_kind="feature").exists()


def test_reload_shows_what_changed_and_keeps_mappings(admin_client, integration, emulator):
    connect(integration, emulator)
    first = admin_client.post(url("mappings_reload", integration), **HTMX)
    assert first.status_code == 200
    assert "+ Story" in first.content.decode()
    integration.refresh_from_db()
    mappings_apply_defaults(integration=integration)
    before = list(
        RecordMapping.objects.filter(integration=integration).values_list("pk", "issue_types")
    )
    emulator.create_version("DEMO", "2.0")
    body = admin_client.post(url("mappings_reload", integration), **HTMX).content.decode()
    assert "Configuration reloaded from DEMO." in body
    assert "+ 2.0" in body
    after = list(
        RecordMapping.objects.filter(integration=integration).values_list("pk", "issue_types")
    )
    assert before == after


def test_save_and_continue_validates(admin_client, integration):
    response = admin_client.post(url("mappings_save", integration), **HTMX)
    assert response.status_code == 400
    assert "There are no record mappings" in response.content.decode()
    integration.refresh_from_db()
    assert integration.last_completed_step == Integration.Step.NAME


def test_field_mapping_page_cycles_direction_and_maps_values(admin_client, integration):
    mappings_apply_defaults(integration=integration)
    page = admin_client.get(url("integration_fields", integration, "feature"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Field mapping: Features" in body
    assert "Summary" in body
    feature = RecordMapping.objects.get(integration=integration, record_kind="feature")
    name = feature.field_mappings.get(local_field="name")
    assert name.direction == "both"
    response = admin_client.post(
        url("field_mapping_direction", integration, "feature", name.pk), **HTMX
    )
    name.refresh_from_db()
    assert name.direction == "to_jira_once"
    assert 'aria-label="Name syncs to Jira once' in response.content.decode()
    response = admin_client.post(
        url("field_mapping_add", integration, "feature"),
        {"local_field": "story_points", "jira_field_id": "nope", "direction": "both"},
        **HTMX,
    )
    assert response.status_code == 400
    assert "Jira has no field &#x27;nope&#x27;" in response.content.decode()
    admin_client.post(
        url("field_mapping_add", integration, "feature"),
        {"local_field": "story_points", "jira_field_id": "customfield_10016", "direction": "both"},
    )
    assert feature.field_mappings.filter(jira_field_id="customfield_10016").exists()
    status = feature.field_mappings.get(local_field="status")
    page = admin_client.get(url("integration_values", integration, "feature", status.pk))
    assert "The first matching pair wins" in page.content.decode()
    count = status.value_mappings.count()
    admin_client.post(
        url("value_mapping_add", integration, "feature", status.pk),
        {"local_value": "in_development", "jira_value": "10001"},
    )
    assert status.value_mappings.count() == count + 1
    last = status.value_mappings.order_by("position").last()
    admin_client.post(
        url("value_mapping_move", integration, "feature", status.pk, last.pk), {"direction": "up"}
    )
    last.refresh_from_db()
    assert last.position == count - 1


def pairs_post(pairs, command="done"):
    """The modal's formset (prefix "pairs") as the browser posts it."""
    data = {
        "pairs-TOTAL_FORMS": str(len(pairs)),
        "pairs-INITIAL_FORMS": str(len(pairs)),
        "pairs-MIN_NUM_FORMS": "0",
        "pairs-MAX_NUM_FORMS": "1000",
        "command": command,
    }
    for i, (pair_id, link_type, jira_link) in enumerate(pairs):
        data[f"pairs-{i}-pair_id"] = pair_id
        data[f"pairs-{i}-link_type"] = link_type
        data[f"pairs-{i}-jira_link"] = jira_link
        data[f"pairs-{i}-sync_direction"] = "both"
    return data


def test_record_links_modal_saves_order(admin_client, integration):
    mappings_apply_defaults(integration=integration)
    modal = admin_client.get(url("record_links_modal", integration, "feature"), **HTMX)
    assert "The first matching pair wins" in modal.content.decode()
    save = url("record_links_save", integration, "feature")
    data = pairs_post([("", "relates_to", "10003:outward"), ("", "contains", "10003:outward")])
    response = admin_client.post(save, data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#mappings"
    pairs = RelationshipMapping.objects.filter(integration=integration, record_kind="feature")
    assert [p.link_type for p in pairs.order_by("position")] == ["relates_to", "contains"]
    ids = [str(p.pk) for p in pairs.order_by("position")]
    moved = admin_client.post(
        save,
        pairs_post(
            [(ids[0], "relates_to", "10003:outward"), (ids[1], "contains", "10003:outward")],
            command="up:1",
        ),
        **HTMX,
    ).content.decode()
    assert moved.index('"contains" selected') < moved.index('"relates_to" selected')
    admin_client.post(
        save,
        pairs_post(
            [(ids[1], "contains", "10003:outward"), (ids[0], "relates_to", "10003:outward")]
        ),
        **HTMX,
    )
    assert [p.link_type for p in pairs.order_by("position")] == ["contains", "relates_to"]
    bad = admin_client.post(
        save,
        pairs_post([(ids[1], "contains", "10003:outward"), (ids[0], "relates_to", "999:outward")]),
        **HTMX,
    )
    assert bad.status_code == 400
    assert "no issue link type with id &#x27;999&#x27;" in bad.content.decode()
    # A pair that does not parse is named, with what was typed kept.
    bad = admin_client.post(save, pairs_post([("", "unicorn", "10003:outward")]), **HTMX)
    assert bad.status_code == 400
    assert "Pair 1: Link here:" in bad.content.decode()


def test_record_links_modal_speaks_in_examples_and_starts_a_pair_sensibly(
    admin_client, integration
):
    """Options read as sentences with example keys, not "outward/inward"; a new pair pairs
    a link type here with the Jira type that reads like it (issue 10)."""
    modal = admin_client.get(url("record_links_modal", integration, "feature"), **HTMX)
    assert "outward" not in modal.content.decode().replace('value="', "").split(":outward")[0]
    save = url("record_links_save", integration, "feature")
    added = admin_client.post(save, pairs_post([], command="add"), **HTMX).content.decode()
    # The first link type here (Relates to) with Jira's Relates, not Blocks.
    assert '<option value="relates_to" selected>APP-1 relates to APP-2</option>' in added
    assert '<option value="10003:outward" selected>DEMO-1 relates to DEMO-2</option>' in added
    added = admin_client.post(
        save,
        pairs_post([("", "relates_to", "10003:outward"), ("", "depends_on", "10003:outward")])
        | {"command": "add"},
        **HTMX,
    ).content.decode()
    third = added[added.index('name="pairs-2-link_type"') :]
    assert '<option value="contains" selected>APP-1 contains APP-2</option>' in third
    assert "DEMO-1 is blocked by DEMO-2" in added  # Blocks read from the other end
    assert "(outward)" not in added
    assert "(inward)" not in added


def test_record_links_modal_points_to_reload_when_not_loaded(admin_client, workspace):
    integration = configured_integration(workspace, configuration={})
    body = admin_client.get(url("record_links_modal", integration, "epic"), **HTMX).content.decode()
    assert "Reload configuration" in body
    assert "not loaded" in body
    assert (
        admin_client.get(url("record_links_modal", integration, "requirement")).status_code == 404
    )


# -- 5. Enable --------------------------------------------------------------------------------


def test_enable_step_shows_webhook_and_enables(admin_client, integration, emulator, settings):
    connect(integration, emulator)
    configuration_reload(integration=integration)
    mappings_apply_defaults(integration=integration)
    page = admin_client.get(url("integration_enable", integration)).content.decode()
    # The webhook section is the sync's, rendered in the page (integrations.extensions).
    assert "Register the webhook in Jira" in page
    assert f"{settings.PUBLIC_BASE_URL}/webhooks/jira/{integration.webhook_token}/" in page
    assert "project = DEMO" in page
    assert "Issue link:" in page
    # The events to tick come from the intake's own table, all of them.
    from sync.events import HANDLED_EVENTS

    for event in HANDLED_EVENTS:
        assert event.split("_", 1)[1] in page
    assert "unreleased" in page
    assert "moved" in page
    panel = admin_client.get(reverse("sync:webhook_panel", args=[integration.pk]), **HTMX)
    panel = panel.content.decode()
    secret = integration.get_webhook_secret()
    assert secret not in page
    assert secret not in panel
    revealed = admin_client.post(url("integration_webhook_secret", integration), **HTMX)
    assert secret in revealed.content.decode()
    check = admin_client.get(reverse("sync:webhook_check", args=[integration.pk]), **HTMX)
    assert "No event has arrived yet" in check.content.decode()
    response = admin_client.post(url("integration_enable", integration), {})
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.state == Integration.State.ENABLED


def test_enable_step_shows_the_panels_apps_above_contribute(admin_client, integration, monkeypatch):
    # integrations.extensions: the sync adds sections to the Enable step without
    # integrations importing it; a panel gets its own context.
    from integrations import extensions

    monkeypatch.setattr(extensions, "_enable_panels", [])
    extensions.enable_panel_add(
        "integrations/partials/webhook_secret.html",
        lambda request, integration: {"secret": "panel-own-context", "integration": integration},
    )
    page = admin_client.get(url("integration_enable", integration)).content.decode()
    assert "panel-own-context" in page


def test_enable_step_switches_approval_and_automatic_import(
    admin_client, viewer_client, integration
):
    page = admin_client.get(url("integration_enable", integration)).content.decode()
    assert "Hold changes made here for approval" in page
    response = admin_client.post(
        url("integration_sync_options", integration), {"require_approval": "1"}
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert (integration.require_approval, integration.auto_import) == (True, False)
    admin_client.post(url("integration_sync_options", integration), {"auto_import": "1"})
    integration.refresh_from_db()
    assert (integration.require_approval, integration.auto_import) == (False, True)
    refused = viewer_client.post(
        url("integration_sync_options", integration), {"require_approval": "1"}
    )
    assert refused.status_code == 403
    integration.refresh_from_db()
    assert integration.require_approval is False


def test_enable_refused_in_words_when_incomplete(admin_client, integration):
    response = admin_client.post(url("integration_enable", integration), {})
    assert response.status_code == 400
    assert "cannot be enabled until its mapping is complete" in response.content.decode()


def test_disable_and_delete_with_consequences(admin_client, integration, emulator):
    connect(integration, emulator)
    configuration_reload(integration=integration)
    mappings_apply_defaults(integration=integration)
    admin_client.post(url("integration_enable", integration), {})
    admin_client.post(url("integration_disable", integration))
    integration.refresh_from_db()
    assert integration.state == Integration.State.DISABLED
    confirm = admin_client.get(url("integration_delete", integration)).content.decode()
    assert "Your records are kept" in confirm
    assert "No issue or version is deleted in Jira" in confirm
    assert "A webhook registered from the Enable step is deleted from Jira" in confirm
    admin_client.post(url("integration_delete", integration))
    assert not Integration.objects.filter(pk=integration.pk).exists()


def test_no_page_renders_a_secret(admin_client, integration, emulator, account):
    connect(integration, emulator)
    admin = add_member(account, make_user("adm"), role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    pages = [
        reverse("integrations_account"),
        reverse("integrations_workspace", args=[integration.workspace_id]),
        url("integration_name", integration),
        url("integration_connect", integration),
        url("integration_project", integration),
        url("integration_mappings", integration),
        url("integration_enable", integration),
    ]
    for page in pages:
        body = client.get(page).content.decode()
        assert DEMO_TOKEN not in body, page
        assert integration.api_token_encrypted not in body, page
        assert integration.get_webhook_secret() not in body, page
