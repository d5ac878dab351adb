import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from records.models import Record, RecordLink
from tests.browser.conftest import log_in, readme_screenshot
from tests.factories import make_record

pytestmark = pytest.mark.browser


@pytest.fixture
def roadmap(member):
    _, workspace = member
    release = make_record(workspace, "release", "Spring launch", release_date="2026-04-01")
    epic = make_record(workspace, "epic", "Checkout", release=release)
    feature = make_record(workspace, "feature", "Pay by card", release=release, epic=epic)
    other = make_record(workspace, "feature", "Dark mode")
    initiative = make_record(workspace, "initiative", "Grow revenue")
    return {
        "workspace": workspace,
        "release": release,
        "epic": epic,
        "feature": feature,
        "other": other,
        "initiative": initiative,
    }


def test_log_in_lands_on_the_workspace(page, member, roadmap):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    log_in(page, "pat")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mobile App")
    releases = page.get_by_role("region", name="Releases")
    expect(releases.get_by_role("link", name=re.compile("Spring launch"))).to_be_visible()
    expect(releases.get_by_role("link", name=re.compile("Checkout"))).to_be_visible()
    expect(releases.get_by_role("link", name=re.compile("Pay by card"))).to_be_visible()
    expect(page.get_by_role("heading", name="Unscheduled")).to_be_visible()
    expect(page.get_by_role("region", name="Initiatives")).to_contain_text("Grow revenue")


def test_create_a_feature_under_a_release_with_the_keyboard_only(logged_in_page, roadmap):
    page = logged_in_page
    release = roadmap["release"]
    page.goto(f"/workspaces/{roadmap['workspace'].pk}/")
    page.get_by_role("link", name="Add feature").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New feature")).to_be_visible()
    # The "Add feature" button of a release preselects it.
    expect(page.get_by_label("Release")).to_have_value(str(release.pk))
    page.get_by_label("Name").focus()
    page.keyboard.type("Apple Pay")
    page.keyboard.press("Tab")  # -> Status
    page.keyboard.press("Tab")  # -> Description
    page.keyboard.type("Pay with the wallet.")
    page.keyboard.press("Enter")  # a new line in the textarea, not a submit
    page.keyboard.type("Second line.")
    page.get_by_label("Tags").focus()
    page.keyboard.type("payments, ios")
    page.keyboard.press("Enter")  # submits the form
    expect(page.get_by_role("heading", level=1)).to_contain_text("Apple Pay")
    expect(page.get_by_role("status")).to_contain_text("Created APP-3 Apple Pay")
    created = Record.objects.get(name="Apple Pay")
    assert created.release_id == release.pk
    assert sorted(t.name for t in created.tags.all()) == ["ios", "payments"]
    assert created.description == "<p>Pay with the wallet.<br>Second line.</p>"


def test_validation_error_keeps_the_typed_values(logged_in_page, roadmap):
    page = logged_in_page
    page.goto(f"/workspaces/{roadmap['workspace'].pk}/new/feature/")
    page.get_by_label("Name").fill("Offline mode")
    page.get_by_label("Description").fill("Work on the underground.")
    page.get_by_label("Tags").fill("platform")
    page.get_by_label("Start date").fill("2026-06-10")
    page.get_by_label("Due date").fill("2026-06-01")
    page.get_by_label("Estimate").fill("2d")
    page.get_by_role("button", name="Create feature").click()
    due = page.locator(".field", has=page.get_by_label("Due date"))
    expect(due.locator(".field-errors")).to_have_text(
        "The due date cannot be before the start date."
    )
    expect(page.get_by_label("Due date")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name")).to_have_value("Offline mode")
    expect(page.get_by_label("Description")).to_have_value("Work on the underground.")
    expect(page.get_by_label("Tags")).to_have_value("platform")
    expect(page.get_by_label("Start date")).to_have_value("2026-06-10")
    expect(page.get_by_label("Estimate")).to_have_value("2d")
    assert not Record.objects.filter(name="Offline mode").exists()


def test_add_and_remove_a_record_link_with_htmx_without_reloading(logged_in_page, roadmap):
    page = logged_in_page
    feature, other = roadmap["feature"], roadmap["other"]
    page.goto(f"/records/{feature.pk}/")
    page.evaluate("window.__sameDocument = true")
    links = page.locator("#record-links")
    links.get_by_label("Link type").select_option(label="Is blocked by")
    links.get_by_label("Record").fill(other.reference)
    links.get_by_role("button", name="Add link").click()
    expect(links.get_by_role("listitem")).to_contain_text(f"Is blocked by {other.reference}")
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, no reload
    link = RecordLink.objects.get()
    assert (link.source_id, link.target_id, link.link_type) == (other.pk, feature.pk, "blocks")

    links.get_by_label("Record").fill("APP-404")
    links.get_by_role("button", name="Add link").click()
    expect(links.locator(".field-errors")).to_contain_text("No record APP-404 in this workspace")
    expect(links.get_by_label("Record")).to_have_value("APP-404")

    links.get_by_role("button", name=re.compile("Remove link")).click()
    expect(links).to_contain_text("No links.")
    assert page.evaluate("window.__sameDocument") is True
    assert not RecordLink.objects.exists()


def test_create_and_revoke_an_api_key(logged_in_page):
    page = logged_in_page
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    page.get_by_label("Key name").fill("CI pipeline")
    page.get_by_role("button", name="Create key").click()
    raw = page.get_by_label("New API key")
    expect(raw).to_have_value(re.compile(r"^rjs_"))
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_label("New API key")).to_have_count(0)
    page.get_by_role("button", name="Revoke CI pipeline").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked “CI pipeline”")
    expect(page.get_by_role("row", name=re.compile("CI pipeline"))).to_contain_text("Revoked")


def test_viewer_sees_no_edit_buttons(page, roadmap, viewer_in_account):
    log_in(page, "vic")
    expect(page.get_by_role("link", name=re.compile("Pay by card"))).to_be_visible()
    expect(page.get_by_role("link", name="New feature")).to_have_count(0)
    page.get_by_role("link", name=re.compile("Pay by card")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pay by card")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("button", name="Add link")).to_have_count(0)


def test_phone_width_has_no_horizontal_scroll(logged_in_page, roadmap):
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/workspaces/{roadmap['workspace'].pk}/")
    expect(page.get_by_role("link", name=re.compile("Pay by card"))).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_readme_screenshot_of_the_demo_workspace(page, transactional_db):
    """The README's screenshot of the demo workspace (see readme_screenshot)."""
    call_command("seed_demo")
    log_in(page, "demo", "demo-pass-2026")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mobile App")
    target = readme_screenshot(page, "workspace")
    assert target.stat().st_size > 20_000
