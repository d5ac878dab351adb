"""The sync as a person uses it, in headless Chromium against the live server, the Jira
emulator over HTTP and (for sends) a real Celery worker: link a record with an existing Jira
issue, send a record, approve a held update, accept an import candidate, filter the sync log
to errors and retry one. Screenshots go to test-artifacts/screenshots/sync-*.png."""

import re

import pytest
from playwright.sync_api import expect

from jira_emulator import JiraEmulator
from sync.models import JiraLink, OutboxEntry
from tests.browser.conftest import SCREENSHOTS, log_in
from tests.factories import make_record
from tests.sync.conftest import make_enabled_integration
from tests.sync.test_views import failed_send, make_candidate

pytestmark = pytest.mark.browser
WORKER_WAIT = 45_000  # ms: a worker process starting, then sending to the emulator


@pytest.fixture(scope="module")
def _emulator():
    emu = JiraEmulator(port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(_emulator):
    _emulator.reset()
    return _emulator


@pytest.fixture
def workspace(member):
    return member[1]


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"sync-{name}.png"), full_page=True)


def jira_panel(page):
    return page.get_by_role("region", name="Jira")


def test_link_a_record_with_an_existing_issue_by_url(page, workspace, emulator):
    integration = make_enabled_integration(workspace, emulator)
    feature = make_record(workspace, "feature", "Pay by card")
    OutboxEntry.objects.all().delete()  # no worker here: only the link is under test
    created = emulator.create_issue(project="DEMO", issuetype="Story", summary="Card payments")

    log_in(page, "pat")
    page.goto(f"/records/{feature.pk}/")
    panel = jira_panel(page)
    expect(panel.get_by_text("Not in Jira")).to_be_visible()
    panel.get_by_text("Link with an existing Jira issue").click()
    panel.get_by_label("Jira issue key or URL").fill("DEMO-99999")
    panel.get_by_role("button", name="Link").click()
    expect(panel.get_by_text("Jira has no issue DEMO-99999")).to_be_visible()

    panel.get_by_label("Jira issue key or URL").fill(f"{emulator.base_url}/browse/{created['key']}")
    panel.get_by_label("Jira's values overwrite ours").check()
    panel.get_by_role("button", name="Link").click()
    key_link = panel.get_by_role("link", name=created["key"])
    expect(key_link).to_be_visible()
    expect(key_link).to_have_attribute("href", f"{emulator.base_url}/browse/{created['key']}")
    expect(page.get_by_text(f"Linked with {created['key']}")).to_be_visible()
    # Jira's values overwrote ours: the page shows the name from Jira.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Card payments")
    assert JiraLink.objects.get(record=feature, integration=integration).jira_key == created["key"]
    shot(page, "record-linked")


def test_send_a_record_to_jira_and_see_its_key(page, workspace, emulator, celery_worker):
    make_enabled_integration(workspace, emulator)
    feature = make_record(workspace, "feature", "Dark mode")
    OutboxEntry.objects.all().delete()

    log_in(page, "pat")
    page.goto(f"/records/{feature.pk}/")
    panel = jira_panel(page)
    panel.get_by_role("button", name="Send to Jira").click()
    expect(panel.get_by_text("queued to be sent to Jira")).to_be_visible()
    # The panel refreshes itself while the update is queued, until the worker has sent it.
    expect(panel.get_by_role("link", name=re.compile(r"^DEMO-\d+$"))).to_be_visible(
        timeout=WORKER_WAIT
    )
    expect(panel.get_by_text("In sync")).to_be_visible()
    link = JiraLink.objects.get(record=feature)
    assert emulator.get_issue(link.jira_key)["fields"]["summary"] == "Dark mode"
    shot(page, "record-sent")


def test_approve_a_held_update(page, workspace, emulator, celery_worker):
    integration = make_enabled_integration(workspace, emulator, require_approval=True)
    held = make_record(workspace, "feature", "Held back")
    make_record(workspace, "feature", "Also held")

    log_in(page, "pat")
    page.goto(f"/integrations/{integration.pk}/updates/")
    updates = page.get_by_role("region", name=re.compile("Integration updates"))
    expect(updates.get_by_text(held.reference)).to_be_visible()
    shot(page, "updates")
    updates.get_by_role("button", name=f"Approve update of {held.reference}").click()
    expect(updates.get_by_text("Approved: it is being sent to Jira.")).to_be_visible()
    expect(page.get_by_role("button", name=f"Approve update of {held.reference}")).to_have_count(0)

    page.goto(f"/records/{held.pk}/")
    expect(jira_panel(page).get_by_role("link", name=re.compile(r"^DEMO-\d+$"))).to_be_visible(
        timeout=WORKER_WAIT
    )
    other = OutboxEntry.objects.exclude(record=held).get()
    assert other.status == OutboxEntry.Status.AWAITING_APPROVAL


def test_accept_an_import_candidate(page, workspace, emulator):
    integration = make_enabled_integration(workspace, emulator)
    candidate = make_candidate(integration, emulator, "Made in Jira")

    log_in(page, "pat")
    page.goto(f"/integrations/{integration.pk}/updates/")
    candidates = page.get_by_role("region", name=re.compile("Import candidates"))
    expect(candidates.get_by_text("Made in Jira")).to_be_visible()
    candidates.get_by_role("button", name=f"Accept {candidate.jira_key}").click()
    imported = candidates.get_by_role("link", name=re.compile("Made in Jira"))
    expect(imported).to_be_visible()
    shot(page, "candidate-accepted")
    imported.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Made in Jira")
    expect(jira_panel(page).get_by_role("link", name=candidate.jira_key)).to_be_visible()


def test_filter_the_sync_log_to_errors_and_retry_one(page, workspace, emulator):
    integration = make_enabled_integration(workspace, emulator)
    broken, entry = failed_send(integration, workspace, emulator, name="Broken feature")
    make_record(workspace, "epic", "Fine epic")

    log_in(page, "pat")
    page.goto(f"/integrations/{integration.pk}/sync-log/")
    expect(page.get_by_role("heading", name="Sync log")).to_be_visible()
    page.get_by_label("Level").select_option("error")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"level=error"))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(broken.reference)
    shot(page, "log-errors")
    rows.first.get_by_role("button", name=re.compile("^Retry")).click()
    expect(rows.first.get_by_text("Retry requested")).to_be_visible()
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.PENDING
    shot(page, "log-retried")
