"""Playwright fixtures: one Chromium per session, a fresh context (cookies, storage) per test.

Browsers cannot be downloaded here, so Debian's Chromium is launched. pytest-django's
``live_server`` serves the app on a real port with a transactional database.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from accounts.models import Role
from tests.factories import add_member, make_account, make_user, make_workspace

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from a
# thread with a running loop unless told this is safe (it is: the loop is Playwright's own).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "pw-Secret-123"


def readme_screenshot(page, name: str) -> Path:
    """A screenshot the README shows. Written to test-artifacts/ on every run, and over the
    committed docs/screenshots/<name>.png only with UPDATE_README_SCREENSHOTS=1, so a test
    run never leaves the work tree changed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"readme-{name}.png"
    page.screenshot(path=str(target))
    if os.environ.get("UPDATE_README_SCREENSHOTS") == "1":
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(docs / f"{name}.png"))
    return target


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Every page must pass the Content-Security-Policy: Chromium reports each refusal on the
    # console ("Refused to ... because it violates the following Content Security Policy").
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def member(transactional_db):
    user = make_user("pat", password=PASSWORD)
    account = make_account(owner=user, name="Acme")
    workspace = make_workspace(account=account, prefix="APP", name="Mobile App")
    return user, workspace


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def logged_in_page(page, member):
    log_in(page, member[0].username)
    return page


@pytest.fixture
def viewer_in_account(member):
    return add_member(member[1].account, make_user("vic", password=PASSWORD), role=Role.VIEWER)
