"""axe-core in Chromium over every page a user reaches (issue 10): the board, a record (with
its Jira panel), the record forms, the integration lists, each wizard step (with the Record
links modal open and the webhook panel loaded), field and value mappings, a template's Enable
step, the sync log, updates and imports, API keys, log in and 404. Any violation fails, with
the page, the rule and the elements named."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from integrations.models import Integration
from integrations.services.integrations import integration_create
from records.services import record_update
from records.workflows import statuses_for
from sync.services.log import sync_log
from tests.browser.conftest import SCREENSHOTS, log_in
from tests.factories import make_record
from tests.sync.conftest import make_enabled_integration
from tests.sync.outbound_helpers import drain
from tests.sync.test_views import make_candidate

pytestmark = pytest.mark.browser
AXE = Axe()


@pytest.fixture(scope="module")
def _jira():
    from jira_emulator import JiraEmulator

    emu = JiraEmulator(port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def jira(_jira):
    _jira.reset()
    return _jira


def audit(page, name: str) -> list[str]:
    """axe's violations on the page as it is now, one line each."""
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"axe-{name}.png"), full_page=True)
    results = AXE.run(page)
    found = []
    for violation in results.response["violations"]:
        targets = [", ".join(node["target"]) for node in violation["nodes"]][:5]
        found.append(
            f"{name}: {violation['id']} ({violation['impact']}): {violation['help']} -> {targets}"
        )
    return found


def test_no_axe_violation_on_any_page(page, member, jira, live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    user, workspace = member
    release = make_record(workspace, "release", "Spring launch", release_date="2026-04-01")
    epic = make_record(workspace, "epic", "Checkout", release=release)
    feature = make_record(workspace, "feature", "Pay by card", release=release, epic=epic)
    make_record(workspace, "requirement", "Card form", feature=feature)
    make_record(workspace, "initiative", "Grow revenue")
    # Every status badge of every record type, on the board.
    for kind in ("release", "epic", "feature", "initiative"):
        for status in statuses_for(kind):
            make_record(workspace, kind, f"{kind} {status.key}", status=status.key)
    integration = make_enabled_integration(workspace, jira)
    drain(integration)
    feature.refresh_from_db()
    # An error, a warning and an info in the sync log, an import candidate, a held update.
    for level in ("error", "warning", "info"):
        sync_log(
            integration_id=integration.pk,
            level=level,
            action="send",
            message=f"A {level} line.",
            record_id=feature.pk,
        )
    make_candidate(integration, jira)
    Integration.objects.filter(pk=integration.pk).update(require_approval=True)
    record_update(record=feature, name="Pay by card, renamed")
    template = integration_create(account=workspace.account, name="Company Jira", is_template=True)
    status_mapping = (
        integration.record_mappings.get(record_kind="feature")
        .field_mappings.filter(local_field="status")
        .first()
    )

    violations = audit_logged_out(page)
    log_in(page, user.username)
    pages = {
        "board": f"/workspaces/{workspace.pk}/",
        "workspaces": "/workspaces/",
        "record": f"/records/{feature.pk}/",
        "record-edit": f"/records/{feature.pk}/edit/",
        "record-new": f"/workspaces/{workspace.pk}/new/feature/",
        "record-delete": f"/records/{feature.pk}/delete/",
        "integrations-account": "/settings/integrations/",
        "integrations-workspace": f"/workspaces/{workspace.pk}/integrations/",
        "new-integration": "/integrations/new/?account=" + str(workspace.account_id),
        "name": f"/integrations/{integration.pk}/name/",
        "connect": f"/integrations/{integration.pk}/connect/",
        "project": f"/integrations/{integration.pk}/project/",
        "mappings": f"/integrations/{integration.pk}/mappings/",
        "fields": f"/integrations/{integration.pk}/mappings/feature/fields/",
        "enable": f"/integrations/{integration.pk}/enable/",
        "template-enable": f"/integrations/{template.pk}/enable/",
        "sync-log": f"/integrations/{integration.pk}/sync-log/",
        "updates": f"/integrations/{integration.pk}/updates/",
        "api-keys": "/settings/api-keys/",
        "not-found": "/records/999999/",
    }
    if status_mapping is not None:
        pages["values"] = (
            f"/integrations/{integration.pk}/mappings/feature/fields/{status_mapping.pk}/values/"
        )
    for name, url in pages.items():
        page.goto(url)
        if name == "record":
            expect(page.locator("section.jira-panel")).to_be_visible()
        if name == "enable":
            expect(page.locator("#webhook-panel")).to_contain_text("Register")
        violations += audit(page, name)
        if name == "mappings":
            opener = page.locator("#row-feature").get_by_role(
                "button", name=re.compile("^Configure")
            )
            opener.click()
            expect(page.get_by_role("dialog")).to_be_visible()
            violations += audit(page, "record-links-modal")
    assert Integration.objects.filter(pk=integration.pk).exists()
    assert violations == [], "\n".join(violations)


def audit_logged_out(page) -> list[str]:
    page.goto("/accounts/login/")
    return audit(page, "login")
