"""JSON representations of store records, shaped like Jira Cloud's REST answers.

``Renderer(store, host_url, api_version)`` builds ``self`` links from the
request's host (Jira answers with its own site URL) and renders rich text as
ADF for v3 and wiki markup for v2. Shapes follow the schemas of the v3
OpenAPI spec in ``shared/jira`` (many of which forbid extra properties).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import adf
from .store import (
    EPIC_LINK,
    LINK_TYPES,
    RESOLUTION_DONE,
    STATUS_BY_ID,
    STATUS_CATEGORIES,
    STATUSES,
    STORY_POINTS,
    Issue,
    IssueType,
    Link,
    LinkType,
    Project,
    Status,
    Store,
    User,
    Version,
    format_duration,
    jira_datetime,
)

# (id, name, custom, schema, orderable, navigable, searchable, clauseNames)
FIELD_DEFS: list[tuple[str, str, bool, dict[str, Any], list[str]]] = [
    ("summary", "Summary", False, {"type": "string", "system": "summary"}, ["summary"]),
    (
        "description",
        "Description",
        False,
        {"type": "string", "system": "description"},
        ["description"],
    ),
    (
        "issuetype",
        "Issue Type",
        False,
        {"type": "issuetype", "system": "issuetype"},
        ["issuetype", "type"],
    ),
    ("parent", "Parent", False, {"type": "issuelink", "system": "parent"}, ["parent"]),
    ("project", "Project", False, {"type": "project", "system": "project"}, ["project"]),
    (
        "fixVersions",
        "Fix versions",
        False,
        {"type": "array", "items": "version", "system": "fixVersions"},
        ["fixVersion"],
    ),
    (
        "labels",
        "Labels",
        False,
        {"type": "array", "items": "string", "system": "labels"},
        ["labels"],
    ),
    ("assignee", "Assignee", False, {"type": "user", "system": "assignee"}, ["assignee"]),
    ("reporter", "Reporter", False, {"type": "user", "system": "reporter"}, ["reporter"]),
    ("duedate", "Due date", False, {"type": "date", "system": "duedate"}, ["due", "duedate"]),
    (
        "timetracking",
        "Time tracking",
        False,
        {"type": "timetracking", "system": "timetracking"},
        [],
    ),
    ("status", "Status", False, {"type": "status", "system": "status"}, ["status"]),
    (
        "resolution",
        "Resolution",
        False,
        {"type": "resolution", "system": "resolution"},
        ["resolution"],
    ),
    ("priority", "Priority", False, {"type": "priority", "system": "priority"}, ["priority"]),
    (
        "issuelinks",
        "Linked Issues",
        False,
        {"type": "array", "items": "issuelinks", "system": "issuelinks"},
        ["issueLink"],
    ),
    (
        "subtasks",
        "Sub-tasks",
        False,
        {"type": "array", "items": "issuelinks", "system": "subtasks"},
        ["subtasks"],
    ),
    (
        "created",
        "Created",
        False,
        {"type": "datetime", "system": "created"},
        ["created", "createdDate"],
    ),
    (
        "updated",
        "Updated",
        False,
        {"type": "datetime", "system": "updated"},
        ["updated", "updatedDate"],
    ),
    (
        "resolutiondate",
        "Resolved",
        False,
        {"type": "datetime", "system": "resolutiondate"},
        ["resolutiondate", "resolved"],
    ),
    (
        STORY_POINTS,
        "Story Points",
        True,
        {
            "type": "number",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
            "customId": 10016,
        },
        ["cf[10016]", "Story Points", "Story Points[Number]"],
    ),
    (
        EPIC_LINK,
        "Epic Link",
        True,
        {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-epic-link", "customId": 10014},
        ["cf[10014]", "Epic Link", "Epic Link[Epic Link Relationship]"],
    ),
]
FIELD_NAMES = {f[0]: f[1] for f in FIELD_DEFS}
FIELD_SCHEMAS = {f[0]: f[3] for f in FIELD_DEFS}
PRIORITY_MEDIUM = {"id": "3", "name": "Medium"}
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


class Renderer:
    def __init__(self, store: Store, host_url: str, api_version: int) -> None:
        self.store = store
        self.host = host_url.rstrip("/")
        self.version_number = api_version
        self.api = f"{self.host}/rest/api/{api_version}"

    # -- small pieces ---------------------------------------------------------

    def avatars(self, kind: str, avatar_id: int | str) -> dict[str, str]:
        base = f"{self.host}/secure/viewavatar?avatarType={kind}&avatarId={avatar_id}"
        return {
            "48x48": base,
            "24x24": f"{base}&size=small",
            "16x16": f"{base}&size=xsmall",
            "32x32": f"{base}&size=medium",
        }

    def user(self, u: User, with_email: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "self": f"{self.api}/user?accountId={quote(u.account_id)}",
            "accountId": u.account_id,
            "accountType": "atlassian",
            "avatarUrls": self.avatars("user", 10122),
            "displayName": u.display_name,
            "active": u.active,
            "timeZone": u.time_zone,
        }
        if with_email and u.email_visible:
            out["emailAddress"] = u.email
        return out

    def user_ref(self, account_id: str | None) -> dict[str, Any] | None:
        if account_id is None:
            return None
        u = self.store.users.get(account_id)
        if u is None:
            return {"accountId": account_id, "active": False, "displayName": "Former user"}
        return self.user(u)

    def issue_type(self, it: IssueType) -> dict[str, Any]:
        return {
            "self": f"{self.api}/issuetype/{it.id}",
            "id": it.id,
            "description": it.description,
            "iconUrl": f"{self.host}/rest/api/2/universal_avatar/view/type/issuetype/avatar/"
            f"{it.avatar_id}?size=medium",
            "name": it.name,
            "subtask": it.subtask,
            "avatarId": it.avatar_id,
            "hierarchyLevel": it.hierarchy_level,
        }

    def status(self, st: Status) -> dict[str, Any]:
        cat = STATUS_CATEGORIES[st.category]
        return {
            "self": f"{self.api}/status/{st.id}",
            "description": st.description,
            "iconUrl": f"{self.host}/",
            "name": st.name,
            "id": st.id,
            "statusCategory": {"self": f"{self.api}/statuscategory/{cat['id']}", **cat},
        }

    def priority(self) -> dict[str, Any]:
        return {
            "self": f"{self.api}/priority/{PRIORITY_MEDIUM['id']}",
            "iconUrl": f"{self.host}/images/icons/priorities/medium.svg",
            **PRIORITY_MEDIUM,
        }

    def link_type(self, lt: LinkType) -> dict[str, Any]:
        return {
            "id": lt.id,
            "name": lt.name,
            "inward": lt.inward,
            "outward": lt.outward,
            "self": f"{self.api}/issueLinkType/{lt.id}",
        }

    def project_details(self, p: Project) -> dict[str, Any]:
        return {
            "self": f"{self.api}/project/{p.id}",
            "id": str(p.id),
            "key": p.key,
            "name": p.name,
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": self.avatars("project", 10424),
        }

    def project(self, p: Project, expand: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            **self.project_details(p),
            "description": "",
            "assigneeType": "UNASSIGNED",
            "style": "classic",
            "isPrivate": False,
            "properties": {},
            "issueTypes": [self.issue_type(t) for t in self.store.project_types(p)],
            "components": [],
            "versions": [
                self.version(v) for v in self.store.versions.values() if v.project_id == p.id
            ],
            "roles": {},
        }
        if p.lead and p.lead in self.store.users:
            out["lead"] = self.user(self.store.users[p.lead], with_email=False)
        return out

    def version(self, v: Version) -> dict[str, Any]:
        out: dict[str, Any] = {"self": f"{self.api}/version/{v.id}", "id": str(v.id)}
        if v.description:
            out["description"] = v.description
        out.update({"name": v.name, "archived": v.archived, "released": v.released})
        if v.start_date:
            out["startDate"] = v.start_date
            out["userStartDate"] = _user_date(v.start_date)
        if v.release_date:
            out["releaseDate"] = v.release_date
            out["userReleaseDate"] = _user_date(v.release_date)
            from datetime import date

            out["overdue"] = not v.released and date.fromisoformat(v.release_date) < date.today()
        else:
            out["overdue"] = False
        out["projectId"] = v.project_id
        return out

    # -- issues -----------------------------------------------------------------

    def linked_issue(self, issue: Issue) -> dict[str, Any]:
        return {
            "id": str(issue.id),
            "key": issue.key,
            "self": f"{self.api}/issue/{issue.id}",
            "fields": {
                "summary": issue.summary,
                "status": self.status(STATUS_BY_ID[issue.status_id]),
                "priority": self.priority(),
                "issuetype": self.issue_type(self.store.issue_types[issue.issuetype_id]),
            },
        }

    def issue_link_for(self, issue: Issue, link: Link) -> dict[str, Any]:
        """The link as listed in ``fields.issuelinks`` of ``issue``: only the other side."""
        lt = _link_type(link.type_id)
        out: dict[str, Any] = {
            "id": str(link.id),
            "self": f"{self.api}/issueLink/{link.id}",
            "type": self.link_type(lt),
        }
        if link.source_id == issue.id:
            # Source ("A blocks B"): from A the other side is the outward issue.
            out["outwardIssue"] = self.linked_issue(self.store.issues[link.dest_id])
        else:
            out["inwardIssue"] = self.linked_issue(self.store.issues[link.source_id])
        return out

    def issue_link(self, link: Link) -> dict[str, Any]:
        return {
            "id": str(link.id),
            "self": f"{self.api}/issueLink/{link.id}",
            "type": self.link_type(_link_type(link.type_id)),
            "inwardIssue": self.linked_issue(self.store.issues[link.source_id]),
            "outwardIssue": self.linked_issue(self.store.issues[link.dest_id]),
        }

    def rich_text(self, doc: dict[str, Any] | None) -> Any:
        return doc if self.version_number == 3 else adf.adf_to_wiki(doc)

    def issue_fields(self, issue: Issue) -> dict[str, Any]:
        s = self.store
        project = s.projects[issue.project_id]
        it = s.issue_types[issue.issuetype_id]
        parent = s.issues.get(issue.parent_id) if issue.parent_id else None
        timetracking: dict[str, Any] = {}
        if issue.original_estimate is not None:
            timetracking["originalEstimate"] = format_duration(issue.original_estimate)
        if issue.remaining_estimate is not None:
            timetracking["remainingEstimate"] = format_duration(issue.remaining_estimate)
        if issue.original_estimate is not None:
            timetracking["originalEstimateSeconds"] = issue.original_estimate
        if issue.remaining_estimate is not None:
            timetracking["remainingEstimateSeconds"] = issue.remaining_estimate
        fields: dict[str, Any] = {
            "summary": issue.summary,
            "description": self.rich_text(issue.description),
            "issuetype": self.issue_type(it),
            "project": self.project_details(project),
            "status": self.status(STATUS_BY_ID[issue.status_id]),
            "statuscategorychangedate": jira_datetime(issue.updated),
            "resolution": (
                {"self": f"{self.api}/resolution/{RESOLUTION_DONE['id']}", **RESOLUTION_DONE}
                if issue.resolution
                else None
            ),
            "resolutiondate": jira_datetime(issue.resolution_date)
            if issue.resolution_date
            else None,
            "priority": self.priority(),
            "labels": list(issue.labels),
            "assignee": self.user_ref(issue.assignee),
            "reporter": self.user_ref(issue.reporter),
            "creator": self.user_ref(issue.reporter),
            "duedate": issue.duedate,
            "timetracking": timetracking,
            "timeoriginalestimate": issue.original_estimate,
            "timeestimate": issue.remaining_estimate,
            "fixVersions": [self.version(s.versions[v]) for v in issue.fix_versions],
            "versions": [],
            "components": [],
            "issuelinks": [self.issue_link_for(issue, ln) for ln in s.issue_links(issue)],
            "subtasks": [
                self.linked_issue(c)
                for c in s.children(issue)
                if s.issue_types[c.issuetype_id].subtask
            ],
            "created": jira_datetime(issue.created),
            "updated": jira_datetime(issue.updated),
            STORY_POINTS: issue.story_points,
            # Company-managed "Epic Link": the parent's key when the parent is an epic.
            EPIC_LINK: parent.key
            if parent is not None
            and s.issue_types[parent.issuetype_id].hierarchy_level == 1
            and it.hierarchy_level == 0
            else None,
        }
        if parent is not None:
            # Jira omits ``parent`` entirely when the issue has none.
            fields["parent"] = self.linked_issue(parent)
        return fields

    def issue(
        self,
        issue: Issue,
        fields: list[str] | None = None,
        expand: str = "",
        default: str = "*all",
    ) -> dict[str, Any]:
        """An IssueBean. ``fields`` follows Jira's ``fields=`` parameter semantics."""
        out: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{self.api}/issue/{issue.id}",
            "key": issue.key,
        }
        all_fields = self.issue_fields(issue)
        wanted = select_fields(all_fields, fields if fields else [default])
        if wanted is None:
            # search/jql without ``fields``: Jira returns the issue id only.
            return {"id": str(issue.id)}
        out["fields"] = {k: all_fields[k] for k in wanted}
        expands = {e.strip() for e in expand.split(",") if e.strip()}
        if "names" in expands:
            out["names"] = {k: FIELD_NAMES.get(k, k) for k in out["fields"]}
        if "schema" in expands:
            out["schema"] = {k: FIELD_SCHEMAS[k] for k in out["fields"] if k in FIELD_SCHEMAS}
        if "renderedFields" in expands:
            out["renderedFields"] = {
                "description": adf.adf_to_text(issue.description) if issue.description else None
            }
        if "transitions" in expands:
            out["transitions"] = [self.transition(tid, sid) for tid, sid in _transitions()]
        return out

    def transition(self, tid: str, status_id: str) -> dict[str, Any]:
        st = STATUS_BY_ID[status_id]
        return {
            "id": tid,
            "name": st.name,
            "to": self.status(st),
            "hasScreen": False,
            "isGlobal": True,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }

    # -- metadata -----------------------------------------------------------------

    def field(self, fid: str) -> dict[str, Any]:
        f = next(d for d in FIELD_DEFS if d[0] == fid)
        out: dict[str, Any] = {
            "id": f[0],
            "key": f[0],
            "name": f[1],
            "custom": f[2],
            "orderable": f[0] not in ("status", "created", "updated", "issuelinks", "subtasks"),
            "navigable": True,
            "searchable": True,
            "clauseNames": f[4],
            "schema": f[3],
        }
        return out

    def fields(self) -> list[dict[str, Any]]:
        return [self.field(f[0]) for f in FIELD_DEFS]

    def create_fields(self, project: Project, it: IssueType) -> list[dict[str, Any]]:
        """FieldCreateMetadata list for one issue type (createmeta)."""
        s = self.store
        levels = {t.hierarchy_level for t in s.project_types(project)}

        def meta(fid: str, required: bool = False, **extra: Any) -> dict[str, Any]:
            ops = ["set"]
            if fid in ("labels", "fixVersions"):
                ops = ["add", "set", "remove"]
            elif fid in ("summary", "description", "assignee", "duedate", "timetracking"):
                ops = ["set", "edit"] if fid == "timetracking" else ["set"]
            out = {
                "required": required,
                "schema": FIELD_SCHEMAS[fid],
                "name": FIELD_NAMES[fid],
                "key": fid,
                "fieldId": fid,
                "hasDefaultValue": False,
                "operations": ops,
            }
            out.update(extra)
            return out

        out = [
            meta("summary", True),
            meta("issuetype", True, allowedValues=[self.issue_type(it)]),
            meta("project", True, allowedValues=[self.project_details(project)]),
            meta("description"),
        ]
        if it.subtask or (it.hierarchy_level + 1) in levels:
            out.append(meta("parent", it.subtask))
        out += [
            meta(
                "fixVersions",
                allowedValues=[
                    self.version(v) for v in s.versions.values() if v.project_id == project.id
                ],
            ),
            meta("labels", autoCompleteUrl=f"{self.host}/rest/api/1.0/labels/suggest?query="),
            meta(
                "assignee",
                autoCompleteUrl=f"{self.api}/user/assignable/search?project={project.key}&query=",
            ),
            meta("reporter"),
            meta("duedate"),
            meta("timetracking"),
            meta(STORY_POINTS),
        ]
        if it.hierarchy_level == 0 and not it.subtask:
            out.append(meta(EPIC_LINK))
        return out

    def create_meta_issue_type(self, it: IssueType) -> dict[str, Any]:
        return self.issue_type(it)

    def statuses_for_project(self, project: Project) -> list[dict[str, Any]]:
        return [
            {
                "self": f"{self.api}/issuetype/{t.id}",
                "id": t.id,
                "name": t.name,
                "subtask": t.subtask,
                "statuses": [self.status(st) for st in STATUSES],
            }
            for t in self.store.project_types(project)
        ]

    def link_types(self) -> list[dict[str, Any]]:
        return [self.link_type(lt) for lt in LINK_TYPES]


def select_fields(all_fields: dict[str, Any], spec: list[str]) -> list[str] | None:
    """Apply Jira's ``fields`` semantics: ``*all``, ``*navigable``, names, ``-name``.

    Returns ``None`` when only ``id`` was asked for (search/jql's default).
    """
    names: list[str] = []
    excluded: set[str] = set()
    for raw in spec:
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            if part in ("*all", "*navigable"):
                names += list(all_fields)
            elif part.startswith("-"):
                excluded.add(part[1:])
            elif part == "id":
                continue
            elif part in all_fields:
                names.append(part)
    if not names and not excluded:
        return None
    if not names:
        names = list(all_fields)
    return [n for n in dict.fromkeys(names) if n not in excluded]


def _link_type(type_id: str) -> LinkType:
    return next(lt for lt in LINK_TYPES if lt.id == type_id)


def _transitions() -> list[tuple[str, str]]:
    from .store import TRANSITIONS

    return list(TRANSITIONS.items())


def _user_date(iso: str) -> str:
    """Jira's ``userReleaseDate``: ``30/Nov/24``."""
    from datetime import date

    return date.fromisoformat(iso).strftime("%d/%b/%y")
