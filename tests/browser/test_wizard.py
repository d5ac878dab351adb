"""The integration wizard driven in headless Chromium against the Jira emulator over HTTP:
empty to enabled (with send all and its progress), both orders of adding release and feature
rows, the record links modal and its saved order, Reload configuration keeping mappings, a
wrong token in plain words, and resuming a half-done wizard. Each step's screenshot goes to
test-artifacts/screenshots/wizard-<step>.png; the Mappings one is the README's (see
readme_screenshot)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from integrations.models import Integration, RecordMapping, RelationshipMapping
from integrations.services.configuration import configuration_reload
from integrations.services.integrations import (
    integration_create,
    integration_set_connection,
    integration_set_project,
    integration_step_complete,
)
from integrations.services.record_mappings import mappings_apply_defaults
from jira_emulator import JiraEmulator
from tests.browser.conftest import SCREENSHOTS, readme_screenshot
from tests.factories import make_record

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def _jira():
    emu = JiraEmulator(port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def jira(_jira):
    _jira.reset()
    return _jira


def shot(page, step: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"wizard-{step}.png"), full_page=True)


def connected(workspace, jira, *, defaults=True, step=Integration.Step.PROJECT, name="Jira"):
    integration = integration_create(account=workspace.account, workspace=workspace, name=name)
    integration_set_connection(
        integration=integration,
        deployment="cloud",
        base_url=jira.base_url,
        email="demo@example.com",
        api_token="demo-token",
    )
    integration_set_project(integration=integration, project_key="DEMO")
    configuration_reload(integration=integration)
    integration.refresh_from_db()
    if defaults:
        mappings_apply_defaults(integration=integration)
    integration_step_complete(integration=integration, step=step)
    return integration


def add_row(page, kind_label: str, becomes: str) -> None:
    page.get_by_label("Record type here").select_option(label=kind_label)
    page.get_by_label("Becomes in Jira").select_option(label=becomes)
    page.get_by_role("button", name="Add row").click()
    expect(
        page.get_by_role("listitem").filter(
            has=page.locator(f"#row-{kind_label.lower()[:-1]}-name")
        )
    ).to_be_visible()


def row(page, kind: str):
    return page.locator(f"#row-{kind}")


def test_the_whole_wizard_from_empty_to_enabled(
    logged_in_page, member, jira, celery_worker, live_server, settings
):
    """Clicks only, Enable included: the webhook is registered in the sandbox from the page
    (issue 9, section 3), and Jira's deliveries are seen."""
    settings.PUBLIC_BASE_URL = live_server.url  # where the sandbox delivers the webhook
    page = logged_in_page
    _, workspace = member
    release = make_record(workspace, "release", "Spring launch")
    make_record(workspace, "feature", "Pay by card", release=release)

    page.get_by_role("link", name="Integrations", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account integrations")
    page.get_by_role("link", name="Add integration").click()

    # 1. Name: with one workspace, its integration is the default (not a template)
    expect(page.get_by_role("heading", level=1)).to_have_text("Name this integration")
    expect(page.get_by_label("The Mobile App workspace")).to_be_checked()
    page.get_by_label("Name").fill("Jira — Mobile")
    shot(page, "name")
    page.get_by_role("button", name="Save and continue").click()

    # 2. Connect: Data Center shows other fields
    expect(page.get_by_role("heading", level=1)).to_have_text("Connect to Jira")
    page.get_by_label("Jira Data Center").check()
    expect(page.get_by_label("Personal access token")).to_be_visible()
    expect(page.get_by_label("API token")).to_be_hidden()
    page.get_by_label("Jira Cloud").check()
    page.get_by_label("Site URL").fill(jira.base_url)
    page.get_by_label("Account email").fill("demo@example.com")
    page.get_by_label("API token").fill("demo-token")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connected.")
    expect(page.get_by_label("API token")).to_have_attribute(
        "placeholder", "•••• set — leave blank to keep"
    )
    assert "demo-token" not in page.content()
    shot(page, "connect")
    page.get_by_role("button", name="Save and continue").click()

    # 3. Project: search as you type
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the Jira project")
    page.get_by_label("Search the projects").fill("dem")
    expect(page.locator("#project-results")).not_to_contain_text("INIT")
    page.get_by_role("radio", name=re.compile("DEMO")).check()
    shot(page, "project")
    page.get_by_role("button", name="Save and continue").click()

    # 4. Mappings: recommended defaults, then save
    expect(page.get_by_role("heading", level=1)).to_have_text("Map records to Jira")
    expect(page.locator(".instructions")).to_contain_text("Order matters.")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Use recommended defaults").click()
    expect(page.locator(".notice-ok")).to_contain_text("Recommended defaults applied")
    expect(row(page, "feature").locator(".linked-to")).to_contain_text("Releases via Fix versions")
    expect(row(page, "feature").locator(".linked-to")).to_contain_text("Epics via Parent")
    page.set_viewport_size({"width": 1280, "height": 900})
    readme_screenshot(page, "mappings")
    shot(page, "mappings")
    page.get_by_role("button", name="Save and continue").click()

    # 5. Enable: register the webhook in the sandbox, then enable and send all records
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up the Jira webhook and enable")
    integration = Integration.objects.get(name="Jira — Mobile")
    panel = page.locator("#webhook-panel")
    expect(panel).to_contain_text("No event has arrived yet")
    # The manual steps stay, folded, as the fallback.
    panel.locator("summary", has_text="Or create it by hand in Jira").click()
    expect(page.get_by_label("Webhook URL")).to_have_value(
        re.compile(rf"/webhooks/jira/{integration.webhook_token}/$")
    )
    expect(page.locator(".howto")).to_contain_text("project = DEMO")
    expect(page.locator(".howto")).to_contain_text("Issue link:")
    page.get_by_role("button", name="Reveal the secret").click()
    expect(page.get_by_label("Webhook secret")).to_have_value(integration.get_webhook_secret())
    shot(page, "enable-manual")
    page.get_by_role("button", name="Register the webhook in Jira").click()
    expect(panel).to_contain_text("Registered in Jira")
    expect(panel).to_contain_text("project = DEMO")
    shot(page, "enable-registered")
    [hook] = jira.state.webhooks.values()
    assert hook.url == f"{live_server.url}/webhooks/jira/{integration.webhook_token}/"
    page.get_by_role("button", name="Check webhook").click()
    expect(panel).to_contain_text("the webhook is in Jira with the events")
    page.get_by_label(re.compile("Also send all existing records")).check()
    shot(page, "enable")
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(page.locator(".bulk-summary")).to_contain_text("sent", timeout=30_000)
    expect(page.locator(".bulk-summary")).to_contain_text("2 sent")
    shot(page, "enabled")
    integration.refresh_from_db()
    assert integration.state == Integration.State.ENABLED
    # Jira's deliveries (the echoes of what was sent) reach this integration: seen on Check.
    jira.wait_for_webhooks(timeout=10)
    page.get_by_role("button", name="Check webhook").click()
    expect(page.locator("#webhook-panel")).to_contain_text("Last delivery seen")
    shot(page, "enable-delivery-seen")


def test_release_row_before_feature_row_links_automatically(logged_in_page, member, jira):
    page = logged_in_page
    integration = connected(member[1], jira, defaults=False)
    page.goto(f"/integrations/{integration.pk}/mappings/")
    add_row(page, "Releases", "Jira versions (releases only)")
    add_row(page, "Features", "Story")
    linked = row(page, "feature").locator(".linked-to")
    expect(linked).to_contain_text("Releases via Fix versions")
    expect(linked.locator(".auto")).to_have_text("auto")
    expect(page.locator(".notice-ok")).to_contain_text("Linked to set")
    shot(page, "mappings-release-first")


def test_feature_row_before_release_row_is_not_linked_then_linked_by_hand(
    logged_in_page, member, jira
):
    page = logged_in_page
    integration = connected(member[1], jira, defaults=False)
    page.goto(f"/integrations/{integration.pk}/mappings/")
    add_row(page, "Features", "Story")
    add_row(page, "Releases", "Jira versions (releases only)")
    # Done in green, the cost in yellow.
    expect(page.locator(".notice-ok")).to_have_text("Releases row added.")
    expect(page.locator(".notice-warn")).to_contain_text(
        "Features above it are not linked to releases automatically"
    )
    expect(row(page, "feature")).to_contain_text(
        "features sent to Jira will not be put in their release's Fix versions"
    )
    # A release row has no Linked to, so none is shown.
    expect(row(page, "release").locator(".linked-to")).to_have_count(0)
    # Add it by hand in place, on the first row: done, with the warning about order.
    feature = row(page, "feature")
    feature.get_by_label("Parent record type for features").select_option(label="Releases")
    feature.get_by_label("Jira field that carries it").select_option(label="Fix versions")
    feature.get_by_role("button", name="Add Linked to for Features").click()
    expect(row(page, "feature").locator(".linked-to")).to_contain_text("Releases via Fix versions")
    expect(page.locator(".notice-ok")).to_contain_text("Linked to set")
    expect(page.locator(".notice-warn")).to_contain_text("whose row is below it")
    expect(row(page, "feature")).not_to_contain_text("will not be put in their release")
    shot(page, "mappings-feature-first")
    # Keyboard: move Releases up with its button, focus stays on a move button.
    page.get_by_role("button", name="Move Releases up").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#map-rows > li").first).to_have_id("row-release")
    expect(page.get_by_role("button", name="Move Releases down")).to_be_focused()
    expect(row(page, "feature")).not_to_contain_text("whose row is below it")
    mapping = RecordMapping.objects.get(integration=integration, record_kind="feature")
    assert [(lt.parent_kind, lt.automatic) for lt in mapping.linked_to.all()] == [
        ("release", False)
    ]


def test_rows_reorder_by_drag_and_drop(logged_in_page, member, jira):
    page = logged_in_page
    integration = connected(member[1], jira)
    page.goto(f"/integrations/{integration.pk}/mappings/")
    first = page.locator("#map-rows > li").first
    expect(first).to_have_id("row-release")
    row(page, "release").locator(".drag-handle").drag_to(row(page, "feature"))
    expect(page.locator(".notice-ok")).to_contain_text("New order saved.")
    kinds = list(
        RecordMapping.objects.filter(integration=integration)
        .order_by("position")
        .values_list("record_kind", flat=True)
    )
    assert kinds.index("release") > kinds.index("epic")
    # Linked to now pointing below is said next to the row, not dropped.
    expect(row(page, "epic")).to_contain_text("whose row is below it")


def test_record_links_modal_two_here_one_in_jira_order_saved(logged_in_page, member, jira):
    page = logged_in_page
    integration = connected(member[1], jira)
    # Start from no pairs (the recommended defaults may fill some in).
    RelationshipMapping.objects.filter(integration=integration, record_kind="feature").delete()
    page.goto(f"/integrations/{integration.pk}/mappings/")
    opener = row(page, "feature").get_by_role("button", name=re.compile("^Configure"))
    opener.click()
    dialog = page.get_by_role("dialog", name="Record links for features")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("The first matching pair wins")
    # Escape closes, focus goes back to the opener.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    opener.click()
    dialog = page.get_by_role("dialog", name="Record links for features")
    dialog.get_by_role("button", name="+ Add a pair").click()
    # A new pair starts sensibly: Relates to here with Relates in Jira, said as examples.
    expect(dialog.get_by_label("Pair 1: link here")).to_have_value("relates_to")
    expect(dialog.get_by_label("Pair 1: in Jira")).to_have_value("10003:outward")
    dialog.get_by_role("button", name="+ Add a pair").click()
    dialog.get_by_label("Pair 2: link here").select_option(label="APP-1 contains APP-2")
    dialog.get_by_label("Pair 2: in Jira").select_option(label="DEMO-1 relates to DEMO-2")
    dialog.get_by_role("button", name="+ Add a pair").click()
    dialog.get_by_label("Pair 3: in Jira").select_option(label="DEMO-1 is blocked by DEMO-2")
    expect(dialog).not_to_contain_text("outward")
    # No option text is cut off at a normal width.
    cut = dialog.locator("select").evaluate_all(
        """selects => selects.filter(s => {
            const ctx = document.createElement("canvas").getContext("2d");
            const style = getComputedStyle(s);
            ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
            const text = s.options[s.selectedIndex].text;
            const room = s.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight) - 16;
            return ctx.measureText(text).width > room;
        }).map(s => s.options[s.selectedIndex].text)"""
    )
    assert cut == []
    shot(page, "record-links")
    dialog.get_by_role("button", name="Remove pair 3").click()
    expect(dialog.get_by_label("Pair 3: link here")).to_have_count(0)  # re-rendered
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".notice-ok")).to_contain_text("Record links for features saved (2 pairs)")
    # Read the order back after a reload of the page.
    page.reload()
    row(page, "feature").get_by_role("button", name=re.compile("^Configure")).click()
    dialog = page.get_by_role("dialog", name="Record links for features")
    expect(dialog.get_by_label("Pair 1: link here")).to_have_value("relates_to")
    expect(dialog.get_by_label("Pair 2: link here")).to_have_value("contains")
    expect(dialog.get_by_label("Pair 2: in Jira")).to_have_value("10003:outward")
    # Put Contains first and save again.
    dialog.get_by_role("button", name="Move pair 2 up").click()
    expect(dialog.get_by_label("Pair 1: link here")).to_have_value("contains")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    pairs = RelationshipMapping.objects.filter(integration=integration, record_kind="feature")
    assert [p.link_type for p in pairs.order_by("position")] == ["contains", "relates_to"]
    assert {p.jira_link_type_name for p in pairs} == {"Relates"}


def test_reload_configuration_shows_changes_and_keeps_mappings(logged_in_page, member, jira):
    page = logged_in_page
    integration = connected(member[1], jira)
    before = list(
        RecordMapping.objects.filter(integration=integration).values_list(
            "record_kind", "issue_types", "position"
        )
    )
    jira.create_version("DEMO", "Autumn 2.0")
    page.goto(f"/integrations/{integration.pk}/mappings/")
    page.get_by_role("button", name="Reload configuration").click()
    result = page.locator(".reload-result")
    expect(result).to_contain_text("Configuration reloaded from DEMO.")
    expect(result).to_contain_text("Your mappings are unchanged.")
    expect(result).to_contain_text("+ Autumn 2.0")
    shot(page, "reload")
    after = list(
        RecordMapping.objects.filter(integration=integration).values_list(
            "record_kind", "issue_types", "position"
        )
    )
    assert before == after
    expect(row(page, "feature").locator(".linked-to")).to_contain_text("Releases via Fix versions")


def test_wrong_token_shows_a_plain_words_error(logged_in_page, member, jira):
    page = logged_in_page
    integration = integration_create(account=member[1].account, workspace=member[1], name="Jira")
    page.goto(f"/integrations/{integration.pk}/connect/")
    page.get_by_label("Site URL").fill(jira.base_url)
    page.get_by_label("Account email").fill("demo@example.com")
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("Could not connect.")
    expect(result).to_contain_text(re.compile("token|credentials|email", re.I))
    expect(page.get_by_label("Site URL")).to_have_value(re.compile(r"^http://127\.0\.0\.1"))
    assert "not-the-token" not in page.content()
    shot(page, "connect-error")


def test_a_half_done_wizard_resumes_at_the_next_step(logged_in_page, member, jira):
    page = logged_in_page
    connected(member[1], jira, defaults=False, name="Half done")
    page.goto(f"/workspaces/{member[1].pk}/integrations/")
    table_row = page.get_by_role("row", name=re.compile("Half done"))
    expect(table_row).to_contain_text("3 of 5 steps done · next: Mappings")
    shot(page, "list")
    table_row.get_by_role("link", name="Half done", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Map records to Jira")
    stepper = page.get_by_role("navigation", name="Setup steps")
    expect(stepper.get_by_role("link", name=re.compile("Project.*done"))).to_be_visible()
    expect(stepper.locator("[aria-current=step]")).to_contain_text("Mappings")
    # An earlier step can be revisited and keeps its values.
    stepper.get_by_role("link", name=re.compile("Connect")).click()
    expect(page.get_by_label("Account email")).to_have_value("demo@example.com")


def test_phone_width_is_readable(logged_in_page, member, jira):
    page = logged_in_page
    integration = connected(member[1], jira)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/integrations/{integration.pk}/mappings/")
    expect(row(page, "feature")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways ({width}px)"
    shot(page, "mappings-phone")


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_an_htmx_400_renders_inline_where_the_action_was(
    logged_in_page, member, jira, settings, debug
):
    """A refused htmx action shows its message next to the form, in the styled page, in
    production and in DEBUG alike (it used to replace the whole page with a bare fragment
    in DEBUG, and show nothing in production)."""
    settings.DEBUG = debug
    page = logged_in_page
    integration = connected(member[1], jira, defaults=False)
    page.goto(f"/integrations/{integration.pk}/mappings/")
    page.get_by_label("Record type here").select_option(label="Features")
    page.get_by_role("button", name="Add row").click()  # "Becomes in Jira" left empty: 400
    expect(page.locator(".add-row .problem-error")).to_contain_text(
        "Choose what features become in Jira."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Map records to Jira")
    expect(page.locator(".stepper")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
    shot(page, f"htmx-400-inline-{'debug' if debug else 'production'}")


def test_other_htmx_failures_are_said_next_to_the_control(logged_in_page, member, jira):
    """A 404 (the integration was deleted meanwhile) is not swapped in: a message appears
    after the form that was used, and the page stays."""
    page = logged_in_page
    integration = connected(member[1], jira)
    page.goto(f"/integrations/{integration.pk}/mappings/")
    Integration.objects.filter(pk=integration.pk).delete()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Remove the Requirements row").click()
    expect(page.locator(".htmx-error")).to_contain_text("This is no longer there")
    expect(page.get_by_role("heading", level=1)).to_have_text("Map records to Jira")
