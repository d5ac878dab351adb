"""Minimal HTML pages of the sandbox, so the links the product shows (``/browse/KEY``, a
project's versions) open something readable instead of a 404. Read-only and without
authentication: the sandbox is a local demo, and browsers do not send the API's credentials.
"""

from __future__ import annotations

from html import escape

from werkzeug.wrappers import Request, Response

from . import adf
from .store import LINK_TYPES, STATUS_BY_ID, Issue, Store

STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:48rem;color:#172b4d}"
    "a{color:#0747a6}h1{font-size:1.4rem}dt{font-weight:600;margin-top:.5rem}"
    "dd{margin:0}.key{color:#42526e}.note{color:#42526e;font-size:.85rem}"
    "table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left}"
)


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f" · Jira sandbox</title><style>{STYLE}</style></head><body>{body}"
        "<p class='note'>Jira sandbox (the bundled emulator): a minimal page for the product's "
        "links.</p></body></html>"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def _issue_link(store: Store, issue_id: int | None) -> str:
    issue = store.issues.get(issue_id) if issue_id is not None else None
    if issue is None:
        return ""
    return f"<a href='/browse/{escape(issue.key)}'>{escape(issue.key)}</a> {escape(issue.summary)}"


def _issue_page(store: Store, issue: Issue) -> Response:
    project = store.projects.get(issue.project_id)
    issue_type = store.issue_types.get(issue.issuetype_id)
    status = STATUS_BY_ID.get(issue.status_id)
    assignee = store.users.get(issue.assignee or "")
    versions = [store.versions[v].name for v in issue.fix_versions if v in store.versions]
    rows = [
        ("Type", escape(issue_type.name if issue_type else issue.issuetype_id)),
        ("Status", escape(status.name if status else issue.status_id)),
        ("Assignee", escape(assignee.display_name) if assignee else "Unassigned"),
        ("Fix versions", escape(", ".join(versions)) or "None"),
        ("Labels", escape(", ".join(issue.labels)) or "None"),
        ("Due date", escape(issue.duedate or "None")),
    ]
    if issue.parent_id is not None:
        rows.append(("Parent", _issue_link(store, issue.parent_id)))
    children = [i for i in store.issues.values() if i.parent_id == issue.id]
    if children:
        rows.append(("Children", "<br>".join(_issue_link(store, c.id) for c in children)))
    link_types = {t.id: t for t in LINK_TYPES}
    links = []
    for link in store.links.values():
        kind = link_types.get(link.type_id)
        if kind is None:
            continue
        if link.source_id == issue.id:
            links.append(f"{escape(kind.outward)} {_issue_link(store, link.dest_id)}")
        elif link.dest_id == issue.id:
            links.append(f"{escape(kind.inward)} {_issue_link(store, link.source_id)}")
    if links:
        rows.append(("Issue links", "<br>".join(links)))
    description = adf.adf_to_text(issue.description) if issue.description else ""
    details = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    project_link = (
        f"<a href='/browse/{escape(project.key)}'>{escape(project.name)}</a> / " if project else ""
    )
    body = (
        f"<p>{project_link}<span class='key'>{escape(issue.key)}</span></p>"
        f"<h1>{escape(issue.summary)}</h1><dl>{details}</dl>"
        f"<h2>Description</h2><p>{escape(description) or 'None'}</p>"
    )
    return _page(f"{issue.key} {issue.summary}", body)


def _project_page(store: Store, project) -> Response:
    issues = sorted(
        (i for i in store.issues.values() if i.project_id == project.id), key=lambda i: i.id
    )
    versions = [v for v in store.versions.values() if v.project_id == project.id]
    rows = "".join(
        f"<tr><td><a href='/browse/{escape(i.key)}'>{escape(i.key)}</a></td>"
        f"<td>{escape(i.summary)}</td>"
        f"<td>{escape(STATUS_BY_ID[i.status_id].name if i.status_id in STATUS_BY_ID else '')}"
        "</td></tr>"
        for i in issues
    )
    version_items = "".join(
        f"<li id='version-{v.id}'>{escape(v.name)}{' (released)' if v.released else ''}</li>"
        for v in versions
    )
    body = (
        f"<h1>{escape(project.name)} <span class='key'>({escape(project.key)})</span></h1>"
        f"<h2>Issues</h2>"
        + (f"<table><tbody>{rows}</tbody></table>" if rows else "<p>No issues yet.</p>")
        + "<h2>Versions</h2>"
        + (f"<ul>{version_items}</ul>" if version_items else "<p>No versions yet.</p>")
    )
    return _page(project.name, body)


def browse(store: Store, req: Request) -> Response | None:
    """``/browse/KEY`` (an issue, or a project's issues and versions) and
    ``/projects/KEY/versions/ID``; None for any other path."""
    parts = [p for p in req.path.split("/") if p]
    if req.method != "GET" or len(parts) < 2:
        return None
    with store.lock:
        if parts[0] == "browse" and len(parts) == 2:
            key = parts[1].upper()
            issue = store.find_issue(key) if "-" in key else None
            if issue is not None:
                return _issue_page(store, issue)
            project = store.project_by_key(key) if "-" not in key else None
            if project is not None:
                return _project_page(store, project)
            return _page("Not found", f"<h1>No issue or project {escape(key)}</h1>", 404)
        if parts[0] == "projects" and len(parts) in (2, 4):
            project = store.project_by_key(parts[1].upper())
            if project is not None:
                return _project_page(store, project)
            return _page("Not found", f"<h1>No project {escape(parts[1])}</h1>", 404)
    return None
