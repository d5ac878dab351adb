"""Check Jira now, as a person uses it: headless Chromium against the live server, the Jira
emulator over HTTP (no webhook registered: Jira's change is only found by the check) and a
real Celery worker running the pass. Screenshot: test-artifacts/screenshots/sync-check-jira.png."""

import pytest
from playwright.sync_api import expect

from jira_emulator import JiraEmulator
from records.models import Record
from tests.browser.conftest import SCREENSHOTS, log_in
from tests.sync.conftest import make_enabled_integration, make_linked_record
from tests.sync.test_reconcile import agree

pytestmark = pytest.mark.browser
WORKER_WAIT = 45_000  # ms: a worker process starting, then the pass


@pytest.fixture(scope="module")
def _emulator():
    emu = JiraEmulator(port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(_emulator):
    _emulator.reset()
    return _emulator


def test_check_jira_now_repairs_a_missed_change(page, member, emulator, celery_worker):
    workspace = member[1]
    integration = make_enabled_integration(workspace, emulator)
    issue = emulator.create_issue(project="DEMO", issuetype="Story", summary="Checkout")
    feature = make_linked_record(integration, "feature", issue["id"], issue["key"], name="Checkout")
    agree(integration, feature)
    emulator.update_issue(issue["key"], {"summary": "Checkout v2"})  # no webhook: missed

    log_in(page, "pat")
    page.goto(f"/integrations/{integration.pk}/sync-log/")
    card = page.get_by_role("region", name="Check Jira")
    expect(card.get_by_text("Not checked yet.")).to_be_visible()
    card.get_by_role("button", name="Check Jira now").click()
    expect(card.get_by_text("Check Jira started")).to_be_visible()
    # The card follows the pass (htmx polling) until its result is in.
    expect(card.get_by_text(f"1 drifted: {issue['key']} summary; applied.")).to_be_visible(
        timeout=WORKER_WAIT
    )
    expect(card.get_by_text("Drift repaired")).to_be_visible()
    assert Record.objects.get(pk=feature.pk).name == "Checkout v2"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sync-check-jira.png"), full_page=True)
