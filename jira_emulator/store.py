"""In-memory Jira data model and every mutation, guarded by one lock.

All changes, whether they arrive over HTTP or from a test calling
``JiraEmulator.update_issue`` directly, go through :class:`Store`, which also
emits the matching webhook events (the same way Jira fires webhooks for
changes made in its UI or via REST).

Descriptions are stored as ADF (Jira's storage model in Cloud); the REST v2
and webhook representations convert to wiki markup.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from . import adf, jql
from .search_index import SearchIndex

# ---------------------------------------------------------------------------
# Constants mirroring a company-managed Jira Cloud software project.
# ---------------------------------------------------------------------------

STORY_POINTS = "customfield_10016"
EPIC_LINK = "customfield_10014"

STATUS_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str
    description: str = ""


STATUSES = [
    Status("10000", "To Do", "new"),
    Status("3", "In Progress", "indeterminate", "This issue is being actively worked on."),
    Status("10001", "In Review", "indeterminate"),
    Status("10002", "Done", "done"),
]
STATUS_BY_ID = {s.id: s for s in STATUSES}
# Global transitions ("any status -> X"), one per target status, as the
# default simplified workflow has.
TRANSITIONS = {"11": "10000", "21": "3", "31": "10001", "41": "10002"}
RESOLUTION_DONE = {"id": "10000", "name": "Done", "description": "Work has been completed."}


@dataclass(frozen=True)
class LinkType:
    id: str
    name: str
    inward: str
    outward: str


LINK_TYPES = [
    LinkType("10000", "Blocks", "is blocked by", "blocks"),
    LinkType("10001", "Cloners", "is cloned by", "clones"),
    LinkType("10002", "Duplicate", "is duplicated by", "duplicates"),
    LinkType("10003", "Relates", "relates to", "relates to"),
]

# name -> (id, description, subtask, hierarchyLevel, avatarId)
KNOWN_ISSUE_TYPES: dict[str, tuple[str, str, bool, int, int]] = {
    "Epic": ("10000", "A big user story that needs to be broken down.", False, 1, 10307),
    "Story": ("10001", "Functionality or a feature expressed as a user goal.", False, 0, 10315),
    "Task": ("10002", "A small, distinct piece of work.", False, 0, 10318),
    "Bug": ("10003", "A problem or error.", False, 0, 10303),
    "Sub-task": ("10004", "A small piece of work that's part of a larger task.", True, -1, 10316),
    "Initiative": ("10005", "A collection of epics with a common objective.", False, 2, 10310),
}
DEFAULT_ISSUE_TYPES = ["Epic", "Story", "Task", "Bug", "Sub-task"]


# The product's demo account's people (its seed_demo command), as Jira users of the sandbox.
DEMO_PEOPLE = [
    ("demo@demo.example.com", "Dana Demo"),
    ("maria@demo.example.com", "Maria Lopez"),
    ("sam@demo.example.com", "Sam Okafor"),
    ("priya@demo.example.com", "Priya Natarajan"),
]


class JiraError(Exception):
    """A Jira error answer: ``{"errorMessages": [...], "errors": {...}}``."""

    def __init__(
        self,
        status: int,
        messages: Iterable[str] = (),
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {list(messages)} {errors or {}}")
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass
class User:
    account_id: str
    email: str
    display_name: str
    api_token: str | None
    pat: str | None
    # True: every project; False: none; a set: only these project keys.
    can_browse: bool | set[str] = True
    time_zone: str = "UTC"
    active: bool = True
    # Jira Cloud shows a user's email only if they allow it (profile visibility).
    email_visible: bool = True
    # Data Center's username (``name``); defaults to the email's local part.
    username: str = ""
    # A Jira administrator (Cloud: site admin) may manage admin webhooks; others get 403.
    admin: bool = True

    @property
    def name(self) -> str:
        return self.username or self.email.split("@", 1)[0]

    def browses(self, project_key: str) -> bool:
        if isinstance(self.can_browse, bool):
            return self.can_browse
        return project_key.upper() in self.can_browse


@dataclass
class IssueType:
    id: str
    name: str
    description: str
    subtask: bool
    hierarchy_level: int
    avatar_id: int


@dataclass
class Project:
    id: int
    key: str
    name: str
    issue_type_ids: list[str]
    lead: str | None
    next_number: int = 1


@dataclass
class Version:
    id: int
    project_id: int
    name: str
    description: str = ""
    released: bool = False
    archived: bool = False
    release_date: str | None = None
    start_date: str | None = None


@dataclass
class Issue:
    id: int
    key: str
    project_id: int
    issuetype_id: str
    summary: str
    reporter: str | None
    created: datetime
    updated: datetime
    description: dict[str, Any] | None = None
    status_id: str = "10000"
    resolution: bool = False
    resolution_date: datetime | None = None
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    duedate: str | None = None
    fix_versions: list[int] = field(default_factory=list)
    parent_id: int | None = None
    original_estimate: int | None = None  # seconds
    remaining_estimate: int | None = None  # seconds
    story_points: float | None = None


@dataclass
class Link:
    id: int
    type_id: str
    # Jira's REST ``inwardIssue``; the webhook's ``sourceIssueId``. For
    # "Blocks" it reads "source blocks destination" (see shared README).
    source_id: int
    # Jira's REST ``outwardIssue``; the webhook's ``destinationIssueId``.
    dest_id: int


@dataclass
class Webhook:
    id: int
    name: str
    url: str
    events: list[str]
    secret: str | None = None
    jql_text: str | None = None
    jql: jql.Query | None = None
    enabled: bool = True

    def wants(self, event: str) -> bool:
        return self.enabled and ("*" in self.events or event in self.events)


# ---------------------------------------------------------------------------
# Small value helpers
# ---------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


def jira_datetime(value: datetime) -> str:
    """Jira's timestamp format: ``2024-05-01T10:00:00.000+0000``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhm])", re.IGNORECASE)
_UNIT_SECONDS = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}  # Jira: 5d weeks, 8h days


def parse_duration(text: Any) -> int:
    """Jira duration ("1w 2d 4h 30m", a bare number = minutes) -> seconds."""
    if isinstance(text, int | float):
        return int(text) * 60
    s = str(text).strip()
    if s.isdigit():
        return int(s) * 60
    parts = _DURATION.findall(s)
    if not parts or _DURATION.sub("", s).strip():
        raise ValueError(s)
    return int(sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts))


def format_duration(seconds: int) -> str:
    out = []
    for unit in ("w", "d", "h", "m"):
        n, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if n:
            out.append(f"{n}{unit}")
    return " ".join(out) or "0m"


EmitFn = Callable[["Webhook", dict[str, Any]], None]


class Store:
    """All emulator data. Every public method takes ``self.lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.base_url = "http://127.0.0.1"
        # Set by the emulator: hands a (webhook, payload) to the sender thread.
        self.dispatch: EmitFn | None = None
        # What JQL search sees (it can trail the issues; see search_index.py).
        self.search_index = SearchIndex(self)
        self.clear()

    # -- lifecycle ---------------------------------------------------------

    def clear(self) -> None:
        with self.lock:
            self.users: dict[str, User] = {}
            self.issue_types: dict[str, IssueType] = {}
            self.projects: dict[int, Project] = {}
            self.versions: dict[int, Version] = {}
            self.issues: dict[int, Issue] = {}
            self.links: dict[int, Link] = {}
            self.webhooks: dict[int, Webhook] = {}
            self._ids = {"project": 10000, "version": 10000, "issue": 10000, "link": 10000}
            self._ids.update({"webhook": 1, "changelog": 100000, "user": 1})
            self.search_index.forget()

    def seed_demo(self) -> None:
        with self.lock:
            self.add_user("demo@example.com", "Demo User", "demo-token", "demo-pat")
            # The people of the product's demo account (records/.../seed_demo.py), so their
            # records' assignees are found in the sandbox. They have no credentials.
            for email, name in DEMO_PEOPLE:
                self.add_user(email, name)
            self.add_project("DEMO", "Demo product")
            self.add_project(
                "INIT", "Initiatives", issue_types=["Initiative", *DEFAULT_ISSUE_TYPES]
            )

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind] - 1

    # -- users and projects -------------------------------------------------

    def add_user(
        self,
        email: str,
        display_name: str,
        api_token: str | None = None,
        pat: str | None = None,
        can_browse: bool | Iterable[str] = True,
        account_id: str | None = None,
        *,
        active: bool = True,
        email_visible: bool = True,
        username: str = "",
    ) -> str:
        with self.lock:
            n = self._next("user")
            account_id = account_id or f"5b10ac8d82e05b22cc7d{n:04d}"
            browse = can_browse if isinstance(can_browse, bool) else {k.upper() for k in can_browse}
            self.users[account_id] = User(
                account_id,
                email,
                display_name,
                api_token,
                pat,
                browse,
                active=active,
                email_visible=email_visible,
                username=username,
            )
            return account_id

    def search_users(self, query: str) -> list[User]:
        """GET /user/search: users whose display name, email (hidden or not: Jira matches on
        it but does not show it) or username starts with the query, or one of whose display
        name words does; case-insensitive. Ordered by display name."""
        q = query.strip().casefold()
        if not q:
            return []
        with self.lock:
            found = [
                u
                for u in self.users.values()
                if u.display_name.casefold().startswith(q)
                or any(w.startswith(q) for w in u.display_name.casefold().split())
                or u.email.casefold().startswith(q)
                or u.name.casefold().startswith(q)
            ]
        return sorted(found, key=lambda u: (u.display_name.casefold(), u.account_id))

    def set_can_browse(self, account_id: str, can_browse: bool | Iterable[str]) -> None:
        with self.lock:
            user = self.users[account_id]
            user.can_browse = (
                can_browse if isinstance(can_browse, bool) else {k.upper() for k in can_browse}
            )

    def authenticate_basic(self, email: str, token: str) -> User | None:
        with self.lock:
            for user in self.users.values():
                if (
                    user.email.lower() == email.lower()
                    and user.api_token
                    and user.api_token == token
                ):
                    return user
        return None

    def authenticate_bearer(self, token: str) -> User | None:
        with self.lock:
            for user in self.users.values():
                if user.pat and user.pat == token:
                    return user
        return None

    def resolve_user(self, user: str | User | None) -> User:
        """accountId, email, a User, or None (the first user: "someone in Jira")."""
        with self.lock:
            if isinstance(user, User):
                return user
            if user is None:
                if self.users:
                    return next(iter(self.users.values()))
                return User("557058:emulator", "emulator@example.com", "Jira Emulator", None, None)
            if user in self.users:
                return self.users[user]
            for u in self.users.values():
                if u.email.lower() == user.lower():
                    return u
            raise KeyError(f"unknown user {user!r}")

    def _issue_type(self, spec: str | dict[str, Any]) -> IssueType:
        if isinstance(spec, dict):
            name = spec["name"]
            known = KNOWN_ISSUE_TYPES.get(name)
            level = spec.get("hierarchyLevel", known[3] if known else 0)
            subtask = spec.get("subtask", known[2] if known else False)
        else:
            name, known = spec, KNOWN_ISSUE_TYPES.get(spec)
            level = known[3] if known else 0
            subtask = known[2] if known else False
        for it in self.issue_types.values():
            if it.name.lower() == name.lower():
                return it
        if known:
            type_id, description, avatar = known[0], known[1], known[4]
        else:
            type_id = str(10100 + len(self.issue_types))
            description, avatar = "", 10300
        it = IssueType(type_id, name, description, bool(subtask), int(level), avatar)
        self.issue_types[type_id] = it
        return it

    def add_project(
        self,
        key: str,
        name: str,
        issue_types: Iterable[str | dict[str, Any]] | None = None,
        lead: str | None = None,
    ) -> Project:
        with self.lock:
            key = key.upper()
            if self.project_by_key(key):
                raise JiraError(
                    400, errors={"projectKey": f"Project '{key}' uses this project key."}
                )
            types = [self._issue_type(t) for t in (issue_types or DEFAULT_ISSUE_TYPES)]
            if lead is None and self.users:
                lead = next(iter(self.users))
            project = Project(self._next("project"), key, name, [t.id for t in types], lead)
            self.projects[project.id] = project
            return project

    def project_by_key(self, id_or_key: str | int) -> Project | None:
        with self.lock:
            text = str(id_or_key)
            if text.isdigit():
                return self.projects.get(int(text))
            return next((p for p in self.projects.values() if p.key == text.upper()), None)

    def visible_project(self, id_or_key: str | int, user: User | None) -> Project:
        """Jira answers 404 both for a missing project and one the user can't browse."""
        project = self.project_by_key(id_or_key)
        if project is None or (user is not None and not user.browses(project.key)):
            raise JiraError(404, [f"No project could be found with key '{id_or_key}'."])
        return project

    def project_types(self, project: Project) -> list[IssueType]:
        return [self.issue_types[t] for t in project.issue_type_ids]

    # -- issues: lookup -----------------------------------------------------

    def find_issue(self, id_or_key: str | int) -> Issue | None:
        with self.lock:
            text = str(id_or_key)
            if text.isdigit():
                return self.issues.get(int(text))
            return next((i for i in self.issues.values() if i.key == text.upper()), None)

    def visible_issue(self, id_or_key: str | int, user: User | None) -> Issue:
        issue = self.find_issue(id_or_key)
        if issue is None or (
            user is not None and not user.browses(self.projects[issue.project_id].key)
        ):
            raise JiraError(404, ["Issue does not exist or you do not have permission to see it."])
        return issue

    def children(self, issue: Issue) -> list[Issue]:
        return [i for i in self.issues.values() if i.parent_id == issue.id]

    def issue_links(self, issue: Issue) -> list[Link]:
        return [ln for ln in self.links.values() if issue.id in (ln.source_id, ln.dest_id)]

    def link_type(self, spec: dict[str, Any] | str) -> LinkType | None:
        if isinstance(spec, str):
            spec = {"name": spec}
        for lt in LINK_TYPES:
            if (spec.get("id") and str(spec["id"]) == lt.id) or (
                spec.get("name") and spec["name"].lower() == lt.name.lower()
            ):
                return lt
        return None

    # -- JQL ----------------------------------------------------------------

    def jql_resolver(self, issue: Issue) -> jql.Resolver:
        def resolve(name: str) -> list[str] | datetime | None:
            project = self.projects[issue.project_id]
            if name == "project":
                return [project.key, str(project.id), project.name]
            if name in ("key", "issuekey", "id"):
                return [issue.key, str(issue.id)]
            if name == "fixversion":
                out: list[str] = []
                for vid in issue.fix_versions:
                    out += [str(vid), self.versions[vid].name]
                return out
            if name == "parent":
                parent = self.issues.get(issue.parent_id or -1)
                return [parent.key, str(parent.id)] if parent else []
            if name == "status":
                st = STATUS_BY_ID[issue.status_id]
                return [st.name, st.id]
            if name in ("issuetype", "type"):
                it = self.issue_types[issue.issuetype_id]
                return [it.name, it.id]
            if name == "labels":
                return list(issue.labels)
            if name == "assignee":
                if not issue.assignee:
                    return []
                u = self.users.get(issue.assignee)
                return [issue.assignee] + ([u.email, u.display_name] if u else [])
            if name == "updated":
                return issue.updated
            if name == "created":
                return issue.created
            return None

        return resolve

    def search(
        self, query: jql.Query, user: User | None, reconcile: Iterable[int] = ()
    ) -> list[Issue]:
        """Issues matching ``query`` as the search index has them (``reconcile``: ids read live)."""
        with self.lock:
            found = [
                i
                for i in self.search_index.issues(reconcile)
                if (user is None or user.browses(self.projects[i.project_id].key))
                and jql.matches(query, self.jql_resolver(i))
            ]
            found.sort(key=lambda i: i.id)
            for name, desc in reversed(query.order_by):
                if name in ("key", "issuekey"):
                    found.sort(
                        key=lambda i: (self.projects[i.project_id].key, int(i.key.split("-")[1])),
                        reverse=desc,
                    )
                elif name == "id":
                    found.sort(key=lambda i: i.id, reverse=desc)
                else:
                    found.sort(key=lambda i, n=name: getattr(i, n), reverse=desc)
            return found

    # -- issues: field parsing ------------------------------------------------

    def _field_value_errors(
        self,
        fields: dict[str, Any],
        project: Project,
        issuetype: IssueType,
        rich_text_is_adf: bool,
        current: Issue | None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Validate REST ``fields`` for one issue; return (normalised values, errors)."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        allowed = {
            "project",
            "issuetype",
            "summary",
            "description",
            "parent",
            "fixVersions",
            "labels",
            "assignee",
            "duedate",
            "timetracking",
            "reporter",
            STORY_POINTS,
            EPIC_LINK,
        }
        for name, value in fields.items():
            if name not in allowed:
                errors[name] = (
                    f"Field '{name}' cannot be set. "
                    "It is not on the appropriate screen, or unknown."
                )
                continue
            if name in ("project", "issuetype"):
                continue  # handled by the caller
            if name == "summary":
                if not isinstance(value, str) or not value.strip():
                    errors["summary"] = "You must specify a summary of the issue."
                elif len(value) > 255:
                    errors["summary"] = "Summary must be less than 255 characters."
                elif "\n" in value:
                    errors["summary"] = "The summary is invalid because it contains newline(s)."
                else:
                    values["summary"] = value
            elif name == "description":
                if value is None:
                    values["description"] = None
                elif rich_text_is_adf:
                    # v3 insists on ADF; a plain string is refused with this message.
                    if adf.is_adf(value):
                        values["description"] = value
                    else:
                        errors["description"] = (
                            "Operation value must be an Atlassian Document "
                            "(see the Atlassian Document Format)"
                        )
                elif isinstance(value, str):
                    values["description"] = adf.wiki_to_adf(value)
                else:
                    errors["description"] = "Operation value must be a string"
            elif name == "labels":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    errors["labels"] = "Operation value must be an array of strings"
                elif bad := [v for v in value if " " in v]:
                    errors["labels"] = f"The label '{bad[0]}' contains spaces which is invalid."
                else:
                    values["labels"] = list(dict.fromkeys(value))
            elif name == "fixVersions":
                ids: list[int] = []
                for ref in value or []:
                    ver = self._version_ref(ref, project)
                    if ver is None:
                        name_or_id = (
                            ref.get("name") or ref.get("id") if isinstance(ref, dict) else ref
                        )
                        errors["fixVersions"] = f"Version name '{name_or_id}' is not valid"
                        break
                    ids.append(ver.id)
                else:
                    values["fix_versions"] = list(dict.fromkeys(ids))
            elif name == "assignee":
                if value is None:
                    values["assignee"] = None
                    continue
                account = (
                    value.get("accountId") or value.get("id") if isinstance(value, dict) else None
                )
                if account is None and isinstance(value, dict) and value.get("name"):
                    # Data Center names users by username.
                    account = next(
                        (a for a, u in self.users.items() if u.name == value["name"]), None
                    )
                if account == "-1":  # Jira: "-1" means automatic (the project lead here)
                    account = project.lead
                if account is None or account not in self.users:
                    errors["assignee"] = (
                        "Specified user does not exist or you do not have required permissions"
                    )
                else:
                    values["assignee"] = account
            elif name == "reporter":
                account = value.get("accountId") if isinstance(value, dict) else None
                if account not in self.users:
                    errors["reporter"] = "Specified reporter does not exist."
                else:
                    values["reporter"] = account
            elif name == "duedate":
                if value is None:
                    values["duedate"] = None
                else:
                    try:
                        values["duedate"] = date.fromisoformat(str(value)).isoformat()
                    except ValueError:
                        errors["duedate"] = f"Error parsing date string: {value}"
            elif name == "timetracking":
                if not isinstance(value, dict):
                    errors["timetracking"] = "Operation value must be an object"
                    continue
                try:
                    if "originalEstimate" in value:
                        values["original_estimate"] = parse_duration(value["originalEstimate"])
                    if "remainingEstimate" in value:
                        values["remaining_estimate"] = parse_duration(value["remainingEstimate"])
                except ValueError:
                    errors["timetracking"] = (
                        "The original estimate specified is not valid."
                        if "originalEstimate" in value
                        else "The remaining estimate specified is not valid."
                    )
            elif name == STORY_POINTS:
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int | float)
                ):
                    errors[STORY_POINTS] = "Operation value must be a number"
                else:
                    values["story_points"] = None if value is None else float(value)
            elif name in ("parent", EPIC_LINK):
                if value is None or value == {}:
                    values["parent_id"] = None
                    continue
                ref = value if isinstance(value, dict) else {"key": str(value)}
                parent = self.find_issue(ref.get("id") or ref.get("key") or "")
                key = "parent" if name == "parent" else EPIC_LINK
                if parent is None:
                    errors[key] = "Could not find issue by id or key."
                    continue
                values["parent_id"] = parent.id
        # Hierarchy: a sub-task needs a parent of level 0 in the same project;
        # any other type's parent must sit exactly one level above it.
        parent_id = values.get("parent_id", current.parent_id if current else None)
        if "parent" not in errors and EPIC_LINK not in errors:
            if issuetype.subtask and parent_id is None:
                errors["parent"] = (
                    "Issue type is a sub-task but parent issue key or id not specified."
                )
            elif parent_id is not None:
                parent = self.issues[parent_id]
                ptype = self.issue_types[parent.issuetype_id]
                wanted = 0 if issuetype.subtask else issuetype.hierarchy_level + 1
                same_project_needed = issuetype.subtask
                if (
                    ptype.hierarchy_level != wanted
                    or ptype.subtask
                    or (same_project_needed and parent.project_id != project.id)
                    or (current is not None and parent.id == current.id)
                ):
                    errors["parent" if "parent" in fields else EPIC_LINK] = (
                        "Given parent work item does not belong to appropriate hierarchy."
                    )
        return values, errors

    def _version_ref(self, ref: Any, project: Project) -> Version | None:
        if isinstance(ref, dict):
            if ref.get("id") is not None:
                ver = self.versions.get(int(ref["id"])) if str(ref["id"]).isdigit() else None
                return ver if ver and ver.project_id == project.id else None
            ref = ref.get("name")
        for ver in self.versions.values():
            if ver.project_id == project.id and ver.name == ref:
                return ver
        return None

    def _project_ref(self, ref: Any) -> Project | None:
        if isinstance(ref, dict):
            ref = ref.get("id") or ref.get("key")
        return self.project_by_key(ref) if ref else None

    def _type_ref(self, ref: Any, project: Project) -> IssueType | None:
        types = self.project_types(project)
        if isinstance(ref, dict):
            if ref.get("id"):
                return next((t for t in types if t.id == str(ref["id"])), None)
            ref = ref.get("name")
        if isinstance(ref, str):
            return next((t for t in types if t.name.lower() == ref.lower()), None)
        return None

    # -- issues: mutations ------------------------------------------------------

    def create_issue(
        self,
        fields: dict[str, Any],
        user: str | User | None = None,
        rich_text_is_adf: bool = True,
        update: dict[str, Any] | None = None,
    ) -> Issue:
        """Validate and create; raises :class:`JiraError` (400) like ``POST /issue``."""
        with self.lock:
            actor = self.resolve_user(user)
            errors: dict[str, str] = {}
            project = self._project_ref(fields.get("project"))
            if project is None or (
                actor.account_id in self.users and not actor.browses(project.key)
            ):
                raise JiraError(400, errors={"project": "valid project is required"})
            issuetype = self._type_ref(fields.get("issuetype"), project)
            if issuetype is None:
                raise JiraError(400, errors={"issuetype": "valid issue type is required"})
            fields = dict(fields)
            if update:
                fields.update(self._apply_update_ops(update, None, project))
            values, errors = self._field_value_errors(
                fields, project, issuetype, rich_text_is_adf, None
            )
            if "summary" not in fields and "summary" not in errors:
                errors["summary"] = "You must specify a summary of the issue."
            if errors:
                raise JiraError(400, errors=errors)
            stamp = now()
            issue = Issue(
                id=self._next("issue"),
                key=f"{project.key}-{project.next_number}",
                project_id=project.id,
                issuetype_id=issuetype.id,
                summary=values["summary"],
                reporter=values.get(
                    "reporter", actor.account_id if actor.account_id in self.users else None
                ),
                created=stamp,
                updated=stamp,
            )
            project.next_number += 1
            for attr, value in values.items():
                if attr not in ("summary", "reporter"):
                    setattr(issue, attr, value)
            if issue.original_estimate is not None and issue.remaining_estimate is None:
                issue.remaining_estimate = issue.original_estimate
            self.issues[issue.id] = issue
            items = self._created_changelog(issue)
            self._emit_issue("jira:issue_created", "issue_created", issue, actor, items)
            return issue

    def _apply_update_ops(
        self, update: dict[str, Any], issue: Issue | None, project: Project
    ) -> dict[str, Any]:
        """Turn the ``update`` form (``{"labels": [{"add": "x"}]}``) into ``fields`` values."""
        out: dict[str, Any] = {}
        for name, ops in update.items():
            if not isinstance(ops, list):
                raise JiraError(400, errors={name: "Operation value must be a list of operations"})
            if name == "labels":
                current = list(issue.labels) if issue else []
            elif name == "fixVersions":
                current = [{"id": str(v)} for v in issue.fix_versions] if issue else []
            else:
                current = None
            for op in ops:
                if not isinstance(op, dict) or len(op) != 1:
                    raise JiraError(400, errors={name: "Each operation must be a single verb"})
                verb, arg = next(iter(op.items()))
                if verb == "set":
                    current = arg
                elif verb in ("add", "remove") and isinstance(current, list):
                    if name == "fixVersions":
                        ver = self._version_ref(arg, project)
                        entry = {"id": str(ver.id)} if ver else arg
                        current = [c for c in current if c != entry]
                        if verb == "add":
                            current.append(entry)
                    else:
                        current = [c for c in current if c != arg]
                        if verb == "add":
                            current.append(arg)
                else:
                    raise JiraError(
                        400, errors={name: f"Field '{name}' does not support operation '{verb}'"}
                    )
            out[name] = current
        return out

    def update_issue(
        self,
        id_or_key: str | int,
        fields: dict[str, Any] | None = None,
        update: dict[str, Any] | None = None,
        user: str | User | None = None,
        rich_text_is_adf: bool = True,
        visible_to: User | None = None,
    ) -> Issue:
        with self.lock:
            actor = self.resolve_user(user)
            issue = self.visible_issue(id_or_key, visible_to)
            project = self.projects[issue.project_id]
            fields = dict(fields or {})
            if update:
                overlap = set(update) & set(fields)
                if overlap:
                    name = sorted(overlap)[0]
                    raise JiraError(
                        400,
                        errors={name: "Field specified in both fields and update; use only one."},
                    )
                fields.update(self._apply_update_ops(update, issue, project))
            new_type = self.issue_types[issue.issuetype_id]
            if "issuetype" in fields:
                t = self._type_ref(fields["issuetype"], project)
                if t is None:
                    raise JiraError(400, errors={"issuetype": "valid issue type is required"})
                new_type = t
            if "project" in fields:
                moved = self._project_ref(fields["project"])
                if moved is None or moved.id != project.id:
                    raise JiraError(400, errors={"project": "Cannot move issues by editing."})
            values, errors = self._field_value_errors(
                fields, project, new_type, rich_text_is_adf, issue
            )
            if errors:
                raise JiraError(400, errors=errors)
            items = []
            if new_type.id != issue.issuetype_id:
                old = self.issue_types[issue.issuetype_id]
                items.append(_item("issuetype", old.id, old.name, new_type.id, new_type.name))
                issue.issuetype_id = new_type.id
            for attr, value in values.items():
                old_value = getattr(issue, attr)
                if old_value == value:
                    continue
                items += self._change_items(attr, old_value, value)
                setattr(issue, attr, value)
            if not items:
                return issue
            issue.updated = now()
            only_assignee = all(i["fieldId"] == "assignee" for i in items)
            kind = "issue_assigned" if only_assignee else "issue_updated"
            self._emit_issue("jira:issue_updated", kind, issue, actor, items)
            return issue

    def transition_issue(
        self,
        id_or_key: str | int,
        transition: str,
        user: str | User | None = None,
        visible_to: User | None = None,
    ) -> Issue:
        """Apply a transition id ("21") or, for direct test use, a status name ("Done")."""
        with self.lock:
            actor = self.resolve_user(user)
            issue = self.visible_issue(id_or_key, visible_to)
            target = TRANSITIONS.get(str(transition))
            if target is None:
                target = next(
                    (s.id for s in STATUSES if s.name.lower() == str(transition).lower()), None
                )
            if target is None:
                raise JiraError(
                    400,
                    [
                        f"Transition id '{transition}' is not valid for this issue.",
                    ],
                )
            if target == issue.status_id:
                return issue
            old, new = STATUS_BY_ID[issue.status_id], STATUS_BY_ID[target]
            items = []
            now_done = new.category == "done"
            if now_done != issue.resolution:
                items.append(
                    _item(
                        "resolution",
                        None if now_done else RESOLUTION_DONE["id"],
                        None if now_done else RESOLUTION_DONE["name"],
                        RESOLUTION_DONE["id"] if now_done else None,
                        RESOLUTION_DONE["name"] if now_done else None,
                    )
                )
                issue.resolution = now_done
                issue.resolution_date = now() if now_done else None
            items.append(_item("status", old.id, old.name, new.id, new.name))
            issue.status_id = target
            issue.updated = now()
            # Jira labels workflow transitions "issue_generic" (see pinpt sample).
            self._emit_issue("jira:issue_updated", "issue_generic", issue, actor, items)
            return issue

    def delete_issue(
        self,
        id_or_key: str | int,
        user: str | User | None = None,
        delete_subtasks: bool = False,
        visible_to: User | None = None,
    ) -> None:
        with self.lock:
            actor = self.resolve_user(user)
            issue = self.visible_issue(id_or_key, visible_to)
            subtasks = [c for c in self.children(issue) if self.issue_types[c.issuetype_id].subtask]
            if subtasks and not delete_subtasks:
                raise JiraError(
                    400,
                    [
                        f"The issue '{issue.key}' has subtasks.  You must specify the "
                        "'deleteSubtasks' parameter to delete this issue and all its subtasks."
                    ],
                )
            for sub in subtasks:
                self._delete_one(sub, actor)
            self._delete_one(issue, actor)

    def _delete_one(self, issue: Issue, actor: User) -> None:
        for link in self.issue_links(issue):
            self._delete_link(link, actor)
        for child in self.children(issue):
            child.parent_id = None
        # Payload first: it renders the issue as it was.
        self._emit_issue("jira:issue_deleted", None, issue, actor, None)
        del self.issues[issue.id]

    # -- links ----------------------------------------------------------------

    def link_issues(
        self,
        link_type: str | dict[str, Any],
        inward: str | int,
        outward: str | int,
        user: str | User | None = None,
        visible_to: User | None = None,
    ) -> Link:
        """``POST /issueLink``. Repeating an existing link returns it and fires nothing."""
        with self.lock:
            lt = self.link_type(link_type)
            if lt is None:
                name = (
                    link_type
                    if isinstance(link_type, str)
                    else (link_type.get("name") or link_type.get("id"))
                )
                raise JiraError(404, [f"No issue link type with name '{name}' found."])
            source = self.find_issue(inward)
            dest = self.find_issue(outward)
            for ref, issue in ((inward, source), (outward, dest)):
                if issue is None or (
                    visible_to is not None
                    and not visible_to.browses(self.projects[issue.project_id].key)
                ):
                    raise JiraError(
                        404,
                        [f"Issue Does Not Exist: {ref}"]
                        if issue is None
                        else ["You do not have the permission to see the specified issue."],
                    )
            assert source is not None
            assert dest is not None
            for link in self.links.values():
                if (link.type_id, link.source_id, link.dest_id) == (lt.id, source.id, dest.id):
                    return link
            link = Link(self._next("link"), lt.id, source.id, dest.id)
            self.links[link.id] = link
            self._emit_link("issuelink_created", link)
            return link

    def delete_link(
        self, link_id: int | str, user: str | User | None = None, visible_to: User | None = None
    ) -> None:
        with self.lock:
            link = self.visible_link(link_id, visible_to)
            self._delete_link(link, self.resolve_user(user))

    def visible_link(self, link_id: int | str, user: User | None) -> Link:
        link = self.links.get(int(link_id)) if str(link_id).isdigit() else None
        if link is None:
            raise JiraError(404, [f"No issue link with id '{link_id}' exists."])
        if user is not None:
            for iid in (link.source_id, link.dest_id):
                if not user.browses(self.projects[self.issues[iid].project_id].key):
                    raise JiraError(404, [f"No issue link with id '{link_id}' exists."])
        return link

    def _delete_link(self, link: Link, actor: User) -> None:
        self._emit_link("issuelink_deleted", link)
        del self.links[link.id]

    # -- versions ---------------------------------------------------------------

    def create_version(
        self,
        project: str | int,
        name: str,
        description: str = "",
        released: bool = False,
        archived: bool = False,
        release_date: str | None = None,
        start_date: str | None = None,
        visible_to: User | None = None,
    ) -> Version:
        with self.lock:
            proj = self.project_by_key(project)
            if proj is None or (visible_to is not None and not visible_to.browses(proj.key)):
                raise JiraError(404, [f"No project could be found with key '{project}'."])
            errors: dict[str, str] = {}
            if not name or not str(name).strip():
                errors["name"] = "You must specify a valid version name"
            elif len(name) > 255:
                errors["name"] = "The version name must not exceed 255 characters."
            elif any(v.project_id == proj.id and v.name == name for v in self.versions.values()):
                errors["name"] = "A version with this name already exists in this project."
            for key, value in (("releaseDate", release_date), ("startDate", start_date)):
                if value is not None:
                    try:
                        date.fromisoformat(value)
                    except ValueError:
                        errors[key] = "Please enter the date in the following format: d/MMM/yy"
            if errors:
                raise JiraError(400, errors=errors)
            ver = Version(
                self._next("version"),
                proj.id,
                name,
                description or "",
                bool(released),
                bool(archived),
                release_date,
                start_date,
            )
            self.versions[ver.id] = ver
            self._emit_version("jira:version_created", ver)
            return ver

    def visible_version(self, version_id: int | str, user: User | None) -> Version:
        ver = self.versions.get(int(version_id)) if str(version_id).isdigit() else None
        if ver is None or (
            user is not None and not user.browses(self.projects[ver.project_id].key)
        ):
            raise JiraError(404, [f"Could not find version for id '{version_id}'"])
        return ver

    def update_version(
        self, version_id: int | str, changes: dict[str, Any], visible_to: User | None = None
    ) -> Version:
        """``PUT /version/{id}`` with REST field names (name, released, releaseDate...)."""
        with self.lock:
            ver = self.visible_version(version_id, visible_to)
            mapping = {
                "name": "name",
                "description": "description",
                "released": "released",
                "archived": "archived",
                "releaseDate": "release_date",
                "startDate": "start_date",
            }
            new = {mapping[k]: v for k, v in changes.items() if k in mapping}
            clash = "name" in new and any(
                v.project_id == ver.project_id and v.name == new["name"] and v.id != ver.id
                for v in self.versions.values()
            )
            if "name" in new and (not new["name"] or clash):
                raise JiraError(
                    400,
                    errors={"name": "A version with this name already exists in this project."},
                )
            for attr in ("release_date", "start_date"):
                if new.get(attr) is not None:
                    try:
                        date.fromisoformat(new[attr])
                    except ValueError as exc:
                        raise JiraError(
                            400, errors={attr: "Please enter the date in the format yyyy-MM-dd"}
                        ) from exc
            release_changed = "released" in new and bool(new["released"]) != ver.released
            other_changed = any(getattr(ver, k) != v for k, v in new.items() if k != "released")
            for k, v in new.items():
                setattr(ver, k, bool(v) if k in ("released", "archived") else v)
            if other_changed:
                self._emit_version("jira:version_updated", ver)
            if release_changed:
                event = "jira:version_released" if ver.released else "jira:version_unreleased"
                self._emit_version(event, ver)
            return ver

    def delete_version(
        self,
        version_id: int | str,
        move_fix_issues_to: int | str | None = None,
        visible_to: User | None = None,
    ) -> None:
        """``POST /version/{id}/removeAndSwap``: fix versions move to the swap target."""
        with self.lock:
            ver = self.visible_version(version_id, visible_to)
            target = None
            if move_fix_issues_to is not None:
                target = self.versions.get(int(move_fix_issues_to))
                if target is None or target.project_id != ver.project_id or target.id == ver.id:
                    raise JiraError(
                        400,
                        [f"The version with id {move_fix_issues_to} does not exist."],
                    )
            for issue in self.issues.values():
                if ver.id in issue.fix_versions:
                    issue.fix_versions = [v for v in issue.fix_versions if v != ver.id]
                    if target and target.id not in issue.fix_versions:
                        issue.fix_versions.append(target.id)
            self._emit_version("jira:version_deleted", ver, merged_to=target)
            del self.versions[ver.id]

    # -- webhooks -------------------------------------------------------------

    def add_webhook(
        self,
        url: str,
        events: Iterable[str],
        secret: str | None = None,
        jql_filter: str | None = None,
        name: str | None = None,
    ) -> Webhook:
        with self.lock:
            parsed = jql.parse(jql_filter) if jql_filter else None
            wid = self._next("webhook")
            hook = Webhook(
                wid, name or f"webhook-{wid}", url, list(events), secret, jql_filter, parsed
            )
            self.webhooks[wid] = hook
            return hook

    # -- changelog and events --------------------------------------------------

    def _created_changelog(self, issue: Issue) -> list[dict[str, Any]]:
        items = []
        for attr in (
            "assignee",
            "description",
            "duedate",
            "fix_versions",
            "labels",
            "parent_id",
            "story_points",
            "original_estimate",
            "remaining_estimate",
        ):
            value = getattr(issue, attr)
            if value not in (None, [], ""):
                items += self._change_items(
                    attr, [] if attr in ("labels", "fix_versions") else None, value
                )
        st = STATUS_BY_ID[issue.status_id]
        items.append(_item("Status", None, None, st.id, st.name, field_id="status"))
        items.append(_item("summary", None, None, None, issue.summary))
        return items

    def _change_items(self, attr: str, old: Any, new: Any) -> list[dict[str, Any]]:
        """Changelog items as Jira writes them (see shared/jira/webhooks/pinpt_issue_updated_*)."""
        if attr == "summary":
            return [_item("summary", None, old, None, new)]
        if attr == "description":
            return [_item("description", None, adf.adf_to_wiki(old), None, adf.adf_to_wiki(new))]
        if attr == "labels":
            return [_item("labels", None, " ".join(old or []), None, " ".join(new or []))]
        if attr == "assignee":

            def name(acc: str | None) -> str | None:
                return self.users[acc].display_name if acc in self.users else None

            item = _item("assignee", old, name(old), new, name(new))
            item.update({"tmpFromAccountId": old, "tmpToAccountId": new})
            return [item]
        if attr == "reporter":
            return [_item("reporter", old, None, new, None)]
        if attr == "duedate":

            def fmt(d: str | None) -> str | None:
                return f"{d} 00:00:00.0" if d else None

            return [_item("duedate", old, fmt(old), new, fmt(new))]
        if attr == "fix_versions":
            # One item per version added or removed, ids in from/to.
            items = []
            for vid in old or []:
                if vid not in new:
                    items.append(
                        _item(
                            "Fix Version",
                            str(vid),
                            self._version_name(vid),
                            None,
                            None,
                            field_id="fixVersions",
                        )
                    )
            for vid in new or []:
                if vid not in (old or []):
                    items.append(
                        _item(
                            "Fix Version",
                            None,
                            None,
                            str(vid),
                            self._version_name(vid),
                            field_id="fixVersions",
                        )
                    )
            return items
        if attr == "parent_id":

            def key(iid: int | None) -> str | None:
                return self.issues[iid].key if iid in self.issues else None

            return [
                _item(
                    "IssueParentAssociation",
                    None if old is None else str(old),
                    key(old),
                    None if new is None else str(new),
                    key(new),
                    field_id="parent",
                )
            ]
        if attr == "story_points":

            def num(v: float | None) -> str | None:
                return None if v is None else (str(int(v)) if float(v).is_integer() else str(v))

            return [
                _item(
                    "Story Points",
                    None,
                    num(old),
                    None,
                    num(new),
                    field_id=STORY_POINTS,
                    fieldtype="custom",
                )
            ]
        if attr in ("original_estimate", "remaining_estimate"):
            fid = "timeoriginalestimate" if attr == "original_estimate" else "timeestimate"

            def secs(v: int | None) -> str | None:
                return None if v is None else str(v)

            return [_item(fid, secs(old), secs(old), secs(new), secs(new))]
        return [_item(attr, None, str(old), None, str(new))]

    def _version_name(self, vid: int) -> str | None:
        ver = self.versions.get(vid)
        return ver.name if ver else None

    def _emit(self, event: str, payload: dict[str, Any], issue: Issue | None = None) -> None:
        if self.dispatch is None:
            return
        for hook in list(self.webhooks.values()):
            if not hook.wants(event):
                continue
            # The webhook's JQL filter restricts issue events to matching issues.
            if issue is not None and hook.jql is not None:
                try:
                    if not jql.matches(hook.jql, self.jql_resolver(issue)):
                        continue
                except jql.JqlError:
                    continue
            self.dispatch(hook, payload)

    def _emit_issue(
        self,
        event: str,
        type_name: str | None,
        issue: Issue,
        actor: User,
        items: list[dict[str, Any]] | None,
    ) -> None:
        from .render import Renderer  # local import: render depends on store

        # Every issue change passes here; the search index hears of it too.
        self.search_index.note(issue, deleted=event == "jira:issue_deleted")
        r = Renderer(self, self.base_url, 2)
        payload: dict[str, Any] = {"timestamp": int(time.time() * 1000), "webhookEvent": event}
        if type_name:
            payload["issue_event_type_name"] = type_name
        payload["user"] = r.user(actor)
        # Webhooks render issue fields as REST v2 does (description is wiki text).
        payload["issue"] = r.issue(issue, fields=None)
        if items is not None:
            payload["changelog"] = {"id": str(self._next("changelog")), "items": items}
        self._emit(event, payload, issue)

    def _emit_link(self, event: str, link: Link) -> None:
        lt = next(t for t in LINK_TYPES if t.id == link.type_id)
        siblings = sorted(ln.id for ln in self.links.values() if ln.source_id == link.source_id)
        payload = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": event,
            # Integer ids and no issue keys, exactly like Jira's payload.
            "issueLink": {
                "id": link.id,
                "sourceIssueId": link.source_id,
                "destinationIssueId": link.dest_id,
                "issueLinkType": {
                    "id": int(lt.id),
                    "name": lt.name,
                    "outwardName": lt.outward,
                    "inwardName": lt.inward,
                    "isSubTaskLinkType": False,
                    "isSystemLinkType": False,
                },
                "systemLink": False,
                "sequence": siblings.index(link.id) if link.id in siblings else 0,
            },
        }
        self._emit(event, payload)

    def _emit_version(self, event: str, ver: Version, merged_to: Version | None = None) -> None:
        from .render import Renderer

        r = Renderer(self, self.base_url, 2)
        payload: dict[str, Any] = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": event,
            "version": r.version(ver),
        }
        if merged_to is not None:
            payload["mergedTo"] = r.version(merged_to)
        self._emit(event, payload)


def _item(
    field_name: str,
    from_: str | None,
    from_string: str | None,
    to: str | None,
    to_string: str | None,
    field_id: str | None = None,
    fieldtype: str = "jira",
) -> dict[str, Any]:
    fid = field_id or field_name
    return {
        "field": field_name,
        "fieldtype": fieldtype,
        "fieldId": fid,
        "from": from_,
        "fromString": from_string,
        "to": to,
        "toString": to_string,
    }
