import pytest
from playwright.sync_api import expect

from records.models import RecordLink
from tests.factories import make_record

pytestmark = pytest.mark.browser


def test_typing_in_the_link_form_suggests_matching_records(logged_in_page, member):
    _, workspace = member
    feature = make_record(workspace, "feature", "Pay by card")
    target = make_record(workspace, "feature", "Offline maps")
    make_record(workspace, "feature", "Dark mode")
    page = logged_in_page
    page.goto(f"/records/{feature.pk}/")
    links = page.locator("#record-links")
    options = page.locator("#link-target-options option")
    expect(options).to_have_count(0)  # nothing listed up front
    links.get_by_label("Record").press_sequentially("offline", delay=30)
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", target.reference)
    links.get_by_label("Record").fill(target.reference)
    links.get_by_role("button", name="Add link").click()
    expect(links.get_by_role("listitem")).to_contain_text(f"Relates to {target.reference}")
    assert RecordLink.objects.filter(source=feature, target=target).exists()
