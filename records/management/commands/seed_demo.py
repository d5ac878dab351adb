"""A demo workspace to click through: ``python manage.py seed_demo``.

Idempotent: every object is looked up by name (or reference pair) before it is created, so
re-running leaves exactly one copy. Everything is written through the services.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Account, Role, Workspace
from accounts.services import account_create, membership_set, user_create, workspace_create
from records.kinds import LinkType, RecordKind
from records.models import Record, RecordLink
from records.services import record_create, record_link_create

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - a published demo login, not a secret
ACCOUNT_NAME = "Demo Co"
WORKSPACE_NAME = "Mobile App"
WORKSPACE_PREFIX = "APP"

TEAM = [
    # username, first name, last name, role
    ("maria", "Maria", "Lopez", Role.ADMIN),
    ("sam", "Sam", "Okafor", Role.CONTRIBUTOR),
    ("priya", "Priya", "Natarajan", Role.CONTRIBUTOR),
]

RELEASES = [
    ("2.4 Onboarding refresh", "released", datetime.date(2026, 3, 12)),
    ("2.5 Offline mode", "in_progress", datetime.date(2026, 5, 7)),
    ("3.0 Teams", "planned", datetime.date(2026, 7, 30)),
]
INITIATIVES = [
    ("Grow weekly active users", "on_track", ["growth"]),
    ("Reliability first", "at_risk", ["platform"]),
]
EPICS = [
    # name, status, release, initiative, tags
    ("Guided first run", "shipped", "2.4 Onboarding refresh", "Grow weekly active users", []),
    ("Offline sync engine", "in_development", "2.5 Offline mode", "Reliability first", []),
    ("Shared workspaces", "ready_to_develop", "3.0 Teams", "Grow weekly active users", []),
    ("Crash-free sessions", "under_consideration", None, "Reliability first", ["platform"]),
]
FEATURES = [
    # name, status, release, epic, initiative, assignee, tags, estimate (minutes)
    (
        "Welcome carousel",
        "shipped",
        "2.4 Onboarding refresh",
        "Guided first run",
        None,
        "maria",
        ["ux"],
        16 * 60,
    ),
    (
        "Sign in with Apple",
        "shipped",
        "2.4 Onboarding refresh",
        None,
        "Grow weekly active users",
        "sam",
        ["auth"],
        24 * 60,
    ),
    (
        "Interactive checklist",
        "shipped",
        "2.4 Onboarding refresh",
        "Guided first run",
        None,
        "priya",
        ["ux"],
        12 * 60,
    ),
    (
        "Local change queue",
        "in_development",
        "2.5 Offline mode",
        "Offline sync engine",
        None,
        "sam",
        ["platform"],
        40 * 60,
    ),
    (
        "Conflict resolution dialog",
        "in_review",
        "2.5 Offline mode",
        "Offline sync engine",
        None,
        "priya",
        ["ux"],
        20 * 60,
    ),
    ("Offline banner", "ready_to_ship", "2.5 Offline mode", None, None, "maria", ["ux"], 4 * 60),
    (
        "Invite teammates",
        "ready_to_develop",
        "3.0 Teams",
        "Shared workspaces",
        "Grow weekly active users",
        "maria",
        ["growth"],
        24 * 60,
    ),
    (
        "Roles and permissions",
        "not_started",
        "3.0 Teams",
        "Shared workspaces",
        None,
        "sam",
        ["auth"],
        32 * 60,
    ),
    (
        "Crash reporter upgrade",
        "under_consideration",
        None,
        "Crash-free sessions",
        "Reliability first",
        "priya",
        ["platform"],
        8 * 60,
    ),
    ("Dark mode", "not_started", None, None, None, None, ["ux"], 16 * 60),
]
REQUIREMENTS = [
    # feature, name, status
    ("Local change queue", "Persist queued edits across app restarts", "done"),
    ("Local change queue", "Retry with backoff when the network returns", "in_progress"),
    ("Local change queue", "Show the number of pending changes", "not_started"),
    ("Conflict resolution dialog", "Side-by-side comparison of both versions", "in_progress"),
    ("Conflict resolution dialog", "Keep mine / keep theirs actions", "not_started"),
    ("Invite teammates", "Invite by email with an expiring link", "not_started"),
    ("Invite teammates", "Resend and revoke pending invitations", "not_started"),
    ("Sign in with Apple", "Hide-my-email relay addresses are accepted", "done"),
]
LINKS = [
    # source, link type, target (by name)
    ("Local change queue", LinkType.BLOCKS, "Conflict resolution dialog"),
    ("Offline banner", LinkType.DEPENDS_ON, "Local change queue"),
    ("Roles and permissions", LinkType.BLOCKS, "Invite teammates"),
    ("Crash reporter upgrade", LinkType.RELATES_TO, "Offline sync engine"),
    ("Interactive checklist", LinkType.DUPLICATES, "Welcome carousel"),
    ("Shared workspaces", LinkType.IMPACTS, "Roles and permissions"),
]

DESCRIPTION = (
    "<p>{name} is part of the <strong>{workspace}</strong> roadmap.</p>"
    "<ul><li>Agreed with design and engineering</li><li>Tracked in Jira once the "
    "integration is enabled</li></ul>"
)


class Command(BaseCommand):
    help = "Create (or complete) the demo account, workspace and records. Safe to re-run."

    def handle(self, *args, **options):
        with transaction.atomic():
            demo = self._user(DEMO_USERNAME, "Dana", "Demo")
            account = self._account(demo)
            people = {DEMO_USERNAME: demo}
            for username, first, last, role in TEAM:
                people[username] = self._user(username, first, last)
                membership_set(account=account, user=people[username], role=role)
            workspace = self._workspace(account)
            created = self._records(workspace, demo, people)
            links = self._links(workspace, demo)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {created} record(s) and {links} link(s) created "
                f"({Record.objects.filter(workspace=workspace).count()} records in "
                f"{workspace.name})."
            )
        )
        # APP_PUBLIC_BASE_URL: scripts/dev sets it from WEB_PORT.
        self.stdout.write(
            f"Log in at {settings.PUBLIC_BASE_URL}/ as {DEMO_USERNAME} / {DEMO_PASSWORD}"
        )

    def _user(self, username: str, first: str, last: str):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                email=f"{username}@demo.example.com",
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
            )
        elif username == DEMO_USERNAME and not user.check_password(DEMO_PASSWORD):
            # The printed login must work, even if somebody changed it.
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _account(self, demo) -> Account:
        account = Account.objects.filter(name=ACCOUNT_NAME, memberships__user=demo).first()
        if account is None:
            account = account_create(name=ACCOUNT_NAME, owner=demo)
        return account

    def _workspace(self, account: Account) -> Workspace:
        workspace = Workspace.objects.filter(account=account, prefix=WORKSPACE_PREFIX).first()
        if workspace is None:
            workspace = workspace_create(
                account=account,
                name=WORKSPACE_NAME,
                prefix=WORKSPACE_PREFIX,
                description="The iOS and Android app.",
            )
        return workspace

    def _records(self, workspace: Workspace, demo, people) -> int:
        existing = {(r.kind, r.name): r for r in Record.objects.filter(workspace=workspace)}
        created = 0

        def ensure(kind: str, name: str, **fields) -> Record:
            nonlocal created
            key = (kind, name)
            if key not in existing:
                existing[key] = record_create(
                    workspace=workspace,
                    kind=kind,
                    name=name,
                    created_by=demo,
                    description=DESCRIPTION.format(name=name, workspace=workspace.name),
                    **fields,
                )
                created += 1
            return existing[key]

        def get(kind: str, name: str | None) -> Record | None:
            return existing[(kind, name)] if name else None

        for name, status, release_date in RELEASES:
            ensure(RecordKind.RELEASE, name, status=status, release_date=release_date)
        for name, status, tags in INITIATIVES:
            ensure(RecordKind.INITIATIVE, name, status=status, tags=tags, assignee=demo)
        for name, status, release, initiative, tags in EPICS:
            ensure(
                RecordKind.EPIC,
                name,
                status=status,
                tags=tags,
                release=get(RecordKind.RELEASE, release),
                initiative=get(RecordKind.INITIATIVE, initiative),
            )
        for name, status, release, epic, initiative, assignee, tags, estimate in FEATURES:
            ensure(
                RecordKind.FEATURE,
                name,
                status=status,
                tags=tags,
                estimate_minutes=estimate,
                assignee=people.get(assignee) if assignee else None,
                release=get(RecordKind.RELEASE, release),
                epic=get(RecordKind.EPIC, epic),
                initiative=get(RecordKind.INITIATIVE, initiative),
            )
        for feature, name, status in REQUIREMENTS:
            ensure(
                RecordKind.REQUIREMENT,
                name,
                status=status,
                feature=get(RecordKind.FEATURE, feature),
            )
        return created

    def _links(self, workspace: Workspace, demo) -> int:
        by_name = {r.name: r for r in Record.objects.filter(workspace=workspace)}
        created = 0
        for source_name, link_type, target_name in LINKS:
            source, target = by_name[source_name], by_name[target_name]
            if RecordLink.objects.filter(
                source=source, target=target, link_type=link_type
            ).exists():
                continue
            record_link_create(source=source, target=target, link_type=link_type, created_by=demo)
            created += 1
        return created
