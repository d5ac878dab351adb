"""The preview in the browser: from the Enable step (before Enable) to the plan of Send all,
then from a record's Jira panel to the plan of its Send to Jira; nothing is written to Jira.
Screenshots: test-artifacts/screenshots/preview-*.png (and readme-preview.png)."""

import pytest
from playwright.sync_api import expect

from integrations.models import Integration
from jira_emulator import JiraEmulator
from records.services import record_link_create
from tests.browser.conftest import SCREENSHOTS, log_in, readme_screenshot
from tests.factories import make_record
from tests.sync.conftest import make_enabled_integration

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def emulator():
    emu = JiraEmulator(port=0).start()
    yield emu
    emu.stop()


def test_preview_send_all_before_enable_and_a_record_from_its_jira_panel(page, member, emulator):
    emulator.reset()
    workspace = member[1]
    release = make_record(workspace, "release", "Spring")
    epic = make_record(workspace, "epic", "Payments", release=release)
    cards = make_record(
        workspace,
        "feature",
        "Pay by card",
        release=release,
        epic=epic,
        status="in_development",
        description="<p>Visa and <strong>Mastercard</strong></p>",
    )
    wallet = make_record(workspace, "feature", "Pay by wallet", release=release, epic=epic)
    record_link_create(source=cards, target=wallet, link_type="blocks")
    integration = make_enabled_integration(workspace, emulator)
    Integration.objects.filter(pk=integration.pk).update(state=Integration.State.DRAFT)

    log_in(page, "pat")
    page.goto(f"/integrations/{integration.pk}/enable/")
    page.get_by_role("link", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: Send all")).to_be_visible()
    counts = page.get_by_role("list", name="What the send would do")
    expect(counts).to_contain_text("3 issues to create")
    expect(counts).to_contain_text("1 version to create")
    expect(counts).to_contain_text("1 link to add")
    expect(page.get_by_text("Visa and Mastercard")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "preview-send-all.png"), full_page=True)
    readme_screenshot(page, "preview")

    Integration.objects.filter(pk=integration.pk).update(state=Integration.State.ENABLED)
    page.goto(f"/records/{cards.pk}/")
    page.get_by_role("region", name="Jira").get_by_role("link", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: Send to Jira")).to_be_visible()
    # The record, its parents first (not in Jira yet), its transition and its link.
    expect(page.get_by_role("list", name="What the send would do")).to_contain_text("1 transition")
    page.screenshot(path=str(SCREENSHOTS / "preview-record.png"), full_page=True)

    writes = [c for c in emulator.requests_log if c[0] in ("POST", "PUT", "DELETE")]
    assert writes == []
