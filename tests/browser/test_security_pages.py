"""Pages outside the product's own templates pass the Content-Security-Policy too (the page
fixture fails a test on any violation): Swagger UI, served from the project's static files,
and the admin."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import make_record

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_swagger_ui_loads_from_own_static_files_for_a_signed_in_user(page, member, live_server):
    page.goto("/api/docs/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    log_in(page, member[0].username)
    page.goto("/api/docs/")
    # Generating the whole schema takes a few seconds on a busy machine.
    heading = page.get_by_role("heading", name="Roadmap ↔ Jira sync API")
    expect(heading).to_be_visible(timeout=60_000)
    expect(page.get_by_text("/api/v1/features/").first).to_be_visible()
    assert outside == []


def test_the_admin_passes_the_policy(page, member):
    user, workspace = member
    user.is_staff = user.is_superuser = True
    user.save()
    record = make_record(workspace, "feature", "Admin feature")
    log_in(page, user.username)
    page.goto(f"/admin/records/record/{record.pk}/change/")
    expect(page.get_by_role("heading", name="Change record")).to_be_visible()
    page.goto("/admin/integrations/integration/add/")
    expect(page.get_by_role("heading", name="Add integration")).to_be_visible()
