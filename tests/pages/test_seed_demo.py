from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.test import RequestFactory

from accounts.models import Account, Workspace
from records.models import Record, RecordLink


def _snapshot():
    return {
        "accounts": Account.objects.count(),
        "workspaces": Workspace.objects.count(),
        "records": dict(
            Record.objects.values_list("kind").annotate(n=Count("id")).order_by("kind")
        ),
        "links": RecordLink.objects.count(),
        "references": sorted(Record.objects.values_list("reference", flat=True)),
    }


def test_seed_demo_creates_the_demo_and_is_idempotent(db, capsys):
    call_command("seed_demo")
    first = _snapshot()
    out = capsys.readouterr().out
    assert "Log in at http://127.0.0.1:8000/ as demo / demo-pass-2026" in out
    assert first["records"] == {
        "epic": 4,
        "feature": 10,
        "initiative": 2,
        "release": 3,
        "requirement": 8,
    }
    assert first["links"] == 6
    workspace = Workspace.objects.get()
    assert (workspace.name, workspace.prefix, workspace.account.name) == (
        "Mobile App",
        "APP",
        "Demo Co",
    )
    releases = Record.objects.filter(kind="release")
    assert all(r.release_date for r in releases)
    assert Record.objects.filter(kind="feature", assignee__isnull=False).exists()
    assert Record.objects.filter(tags__isnull=False).exists()
    # django-axes checks every sign-in against its lockouts, so it needs the request.
    sign_in = RequestFactory().post("/accounts/login/")
    assert authenticate(sign_in, username="demo", password="demo-pass-2026") is not None

    call_command("seed_demo")
    assert _snapshot() == first


def test_the_printed_login_uses_the_public_url(db, capsys, settings):
    """scripts/dev sets APP_PUBLIC_BASE_URL from WEB_PORT: the login printed follows it."""
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8123"
    call_command("seed_demo")
    assert "Log in at http://127.0.0.1:8123/ as demo / demo-pass-2026" in capsys.readouterr().out


def test_the_sandbox_knows_the_demo_people(db):
    """The sandbox Jira is seeded with the demo account's people (same emails), so their
    records' assignees are found in Jira instead of a warning per record."""
    from jira_emulator.store import Store

    call_command("seed_demo")
    store = Store()
    store.seed_demo()
    jira_emails = {u.email for u in store.users.values()}
    people = {u.email for u in get_user_model().objects.all() if Record.objects.filter(assignee=u)}
    assert people
    assert people <= jira_emails
