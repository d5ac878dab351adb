"""Werkzeug WSGI app: routing, auth, fault injection, and the REST handlers.

Every ``/rest/api/{2,3}/...`` operation is served for both versions; v3 carries
rich text as ADF, v2 as wiki markup (see ``Renderer``). Error bodies use
Jira's ``{"errorMessages": [...], "errors": {...}}`` shape.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fnmatch
import hashlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from . import jql
from .browse import browse
from .render import Renderer, select_fields
from .search_index import SearchIndex
from .store import STATUS_BY_ID, TRANSITIONS, JiraError, Store, User

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

LogEntry = tuple[str, str, dict[str, str], Any, int]

_API_PREFIX = re.compile(r"^/rest/api/[23]")

# -- faults ----------------------------------------------------------------------


@dataclass
class Fault:
    status: int | None = None
    retry_after: float | None = None
    drop_connection: bool = False
    # Apply the request, then drop the connection: the write happened, the answer is lost.
    lose_answer: bool = False
    # Which requests the fault waits for (None: any): an HTTP method, and an fnmatch
    # pattern on the path after ``/rest/api/{2,3}`` ("/issue", "/issue/*", "/search/jql").
    method: str | None = None
    path: str | None = None
    # Called once the lost-answer write is applied, before the connection drops: a test's
    # way to kill the worker that sent it ("the worker died while Jira applied the write").
    then: Callable[[], None] | None = None

    def applies_to(self, req: Request) -> bool:
        if self.method is not None and req.method != self.method.upper():
            return False
        if self.path is None:
            return True
        path = _API_PREFIX.sub("", req.path, count=1)
        return fnmatch.fnmatchcase(path, self.path)


@dataclass
class WebhookFault:
    # Deliver the event twice, both with the same X-Atlassian-Webhook-Identifier.
    duplicate: bool = False
    # Hold the delivery back this long, so deliveries queued after it overtake it.
    delay: float = 0.0


class Faults:
    """Switches that make the next API answers slow or failing, JQL search lag
    behind writes, and webhook deliveries come twice or out of order."""

    def __init__(self, search_index: SearchIndex | None = None) -> None:
        self.latency_seconds: float = 0.0
        self._queue: deque[Fault] = deque()
        self._webhook_queue: deque[WebhookFault] = deque()
        self._lock = threading.Lock()
        self._search_index = search_index
        # While True, webhook deliveries wait until ``JiraEmulator.release_webhooks``.
        self.hold_webhooks: bool = False

    def queue(
        self,
        status: int | None = None,
        retry_after: float | None = None,
        count: int = 1,
        drop_connection: bool = False,
        *,
        lose_answer: bool = False,
        method: str | None = None,
        path: str | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Fail the next ``count`` API requests (those matching ``method``/``path``).

        ``status`` answers with that status (``retry_after`` adds ``Retry-After``);
        ``drop_connection`` closes the connection before the request is applied;
        ``lose_answer`` applies the request and then closes the connection unanswered,
        after calling ``then()`` if given.
        """
        if sum([status is not None, drop_connection, lose_answer]) != 1:
            raise ValueError("give exactly one of a status, drop_connection=True, lose_answer=True")
        if then is not None and not lose_answer:
            raise ValueError("then= is called after a lost answer's write: use lose_answer=True")
        with self._lock:
            for _ in range(count):
                self._queue.append(
                    Fault(status, retry_after, drop_connection, lose_answer, method, path, then)
                )

    def take(self, req: Request | None = None) -> Fault | None:
        """The first queued fault that applies to ``req`` (any fault without a request)."""
        with self._lock:
            for fault in self._queue:
                if req is None or fault.applies_to(req):
                    self._queue.remove(fault)
                    return fault
            return None

    def queue_webhook(self, duplicate: bool = False, delay: float = 0.0, count: int = 1) -> None:
        """Apply to the next ``count`` webhook deliveries: send each twice, or late."""
        if not duplicate and delay <= 0:
            raise ValueError("give duplicate=True or a delay in seconds")
        with self._lock:
            for _ in range(count):
                self._webhook_queue.append(WebhookFault(duplicate, delay))

    def take_webhook(self) -> WebhookFault | None:
        with self._lock:
            return self._webhook_queue.popleft() if self._webhook_queue else None

    @property
    def search_lag_seconds(self) -> float:
        """Issues created or changed this recently are missing or stale in JQL search."""
        return self._search_index.lag_seconds if self._search_index else 0.0

    @search_lag_seconds.setter
    def search_lag_seconds(self, seconds: float) -> None:
        if self._search_index is None:
            raise RuntimeError("these faults are not bound to a store's search index")
        self._search_index.lag_seconds = seconds

    def clear(self) -> None:
        with self._lock:
            self.latency_seconds = 0.0
            self._queue.clear()
            self._webhook_queue.clear()
            self.hold_webhooks = False
        if self._search_index is not None:
            self._search_index.lag_seconds = 0

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)


# -- helpers -----------------------------------------------------------------------


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def error(status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None):
    return json_response({"errorMessages": messages or [], "errors": errors or {}}, status)


def _not_admin() -> Response:
    # Jira answers 403 when a user who is not a Jira administrator manages webhooks.
    return error(403, ["You do not have permission to manage webhooks: Jira administrators only."])


def _int_arg(req: Request, name: str, default: int) -> int:
    raw = req.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise JiraError(400, [f"The '{name}' parameter must be an integer: '{raw}'."]) from exc


def _body(req: Request) -> Any:
    if not req.get_data():
        return None
    try:
        return json.loads(req.get_data())
    except ValueError as exc:
        raise JiraError(400, [f"Unexpected character in request body: {exc}"]) from exc


def _list_arg(req: Request, name: str) -> list[str]:
    out: list[str] = []
    for raw in req.args.getlist(name):
        out += [p.strip() for p in raw.split(",") if p.strip()]
    return out


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class Ctx:
    req: Request
    user: User
    r: Renderer
    ver: int


Handler = Callable[..., Response]

API = "/rest/api/<any('2','3'):ver>"


def _rules() -> list[Rule]:
    spec = [
        ("GET", "/myself", "myself"),
        ("GET", "/serverInfo", "server_info"),
        ("GET", "/project", "project_list"),
        ("GET", "/project/search", "project_search"),
        ("GET", "/project/<key>", "project_get"),
        ("GET", "/project/<key>/statuses", "project_statuses"),
        ("GET", "/project/<key>/versions", "project_versions"),
        ("GET", "/project/<key>/version", "project_version_page"),
        ("GET", "/issuetype", "issuetype_all"),
        ("GET", "/issuetype/project", "issuetype_project"),
        ("GET", "/issue/createmeta/<key>/issuetypes", "createmeta_types"),
        ("GET", "/issue/createmeta/<key>/issuetypes/<type_id>", "createmeta_fields"),
        ("GET", "/field", "fields"),
        ("GET", "/issueLinkType", "link_types"),
        ("GET", "/issueLinkType/<type_id>", "link_type_get"),
        ("POST", "/version", "version_create"),
        ("GET", "/version/<vid>", "version_get"),
        ("PUT", "/version/<vid>", "version_update"),
        ("DELETE", "/version/<vid>", "version_delete"),
        ("POST", "/version/<vid>/removeAndSwap", "version_remove_and_swap"),
        ("POST", "/issue", "issue_create"),
        ("POST", "/issue/bulk", "issue_bulk"),
        ("GET", "/issue/<key>", "issue_get"),
        ("PUT", "/issue/<key>", "issue_update"),
        ("DELETE", "/issue/<key>", "issue_delete"),
        ("GET", "/issue/<key>/transitions", "transitions_get"),
        ("POST", "/issue/<key>/transitions", "transitions_post"),
        ("POST", "/issueLink", "link_create"),
        ("GET", "/issueLink/<lid>", "link_get"),
        ("DELETE", "/issueLink/<lid>", "link_delete"),
        ("GET", "/user/search", "user_search"),
        ("GET", "/search/jql", "search"),
        ("POST", "/search/jql", "search"),
        ("GET", "/webhook", "dynamic_webhook"),
        ("POST", "/webhook", "dynamic_webhook"),
        ("DELETE", "/webhook", "dynamic_webhook"),
    ]
    rules = [Rule(API + path, endpoint=ep, methods=[m]) for m, path, ep in spec]
    admin = "/rest/webhooks/1.0/webhook"
    rules += [
        Rule(admin, endpoint="admin_webhook_create", methods=["POST"]),
        Rule(admin, endpoint="admin_webhook_list", methods=["GET"]),
        Rule(admin + "/<int:wid>", endpoint="admin_webhook_get", methods=["GET"]),
        Rule(admin + "/<int:wid>", endpoint="admin_webhook_delete", methods=["DELETE"]),
    ]
    return rules


class JiraApp:
    """The WSGI application. ``on_webhook_added`` lets the facade track hooks."""

    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.faults = faults
        self.url_map = Map(_rules(), strict_slashes=False)
        self.requests_log: list[LogEntry] = []
        self._log_lock = threading.Lock()
        # Called after every request that may have changed something (not GET / HEAD).
        self.after_write: Callable[[], None] | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse):
        req = Request(environ)
        resp = self.handle(req)
        return resp(environ, start_response)

    # -- dispatch ---------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        if not req.path.startswith("/rest/"):
            page = browse(self.store, req)
            if page is not None:
                return page
        is_api = req.path.startswith("/rest/api/")
        status = 500
        logged = False
        # Read the body first: a dropped-connection fault shuts the socket, after which the
        # body could no longer be read for the request log.
        req.get_data()
        try:
            if is_api:
                if self.faults.latency_seconds:
                    time.sleep(self.faults.latency_seconds)
                fault = self.faults.take(req)
                if fault is not None and fault.drop_connection:
                    # Logged before the drop: the client may look as soon as it sees it.
                    self._log(req, 0)
                    logged = True
                    return self._drop_connection(req)
                if fault is not None and not fault.lose_answer:
                    resp = self._fault_response(req, fault)
                    status = resp.status_code
                    return resp
            else:
                fault = None
            resp = self._dispatch(req)
            # The log keeps the status of what was applied, even when the answer is lost.
            status = resp.status_code
            if req.method not in ("GET", "HEAD") and self.after_write is not None:
                self.after_write()  # the sandbox saves its state (jira_emulator.persist)
            if fault is not None:
                self._log(req, status)
                logged = True
                if fault.then is not None:
                    fault.then()
                return self._drop_connection(req)
            return resp
        finally:
            if not logged:
                self._log(req, status)

    def _log(self, req: Request, status: int) -> None:
        if not req.path.startswith("/rest/"):
            return
        try:
            body = json.loads(req.get_data()) if req.get_data() else None
        except ValueError:
            body = req.get_data(as_text=True)
        with self._log_lock:
            self.requests_log.append((req.method, req.path, req.args.to_dict(), body, status))

    def _fault_response(self, req: Request, fault: Fault) -> Response:
        status = fault.status or 500
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after))
        if status == 429:
            reset = datetime.fromtimestamp(time.time() + (fault.retry_after or 1), UTC)
            headers["X-RateLimit-Reset"] = reset.strftime("%Y-%m-%dT%H:%MZ")
            headers["X-RateLimit-Remaining"] = "0"
            headers["RateLimit-Reason"] = "jira-burst-based"
            messages = ["Rate limit exceeded."]
        elif status == 503:
            messages = ["Service Unavailable"]
        else:
            messages = ["Internal server error"]
        return json_response({"errorMessages": messages, "errors": {}}, status, headers)

    @staticmethod
    def _drop_connection(req: Request) -> Response:
        # Close the socket without answering: the client sees the connection
        # reset / remote end closed. Werkzeug then swallows the write error for
        # the response returned here.
        sock = req.environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return Response(b"", status=500)

    def _authenticate(self, req: Request) -> User | None:
        header = req.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                email, _, token = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return self.store.authenticate_basic(email, token)
        if scheme.lower() == "bearer":
            return self.store.authenticate_bearer(value.strip())
        return None

    def _dispatch(self, req: Request) -> Response:
        adapter = self.url_map.bind_to_environ(req.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return error(404, ["null for uri: " + req.url])
        except MethodNotAllowed:
            return error(405, [f"Method {req.method} not allowed for {req.path}"])
        except HTTPException as exc:
            return error(exc.code or 400, [exc.description or "error"])
        user = self._authenticate(req)
        if user is None:
            # Jira Cloud: missing or wrong credentials on a protected resource.
            return json_response(
                {
                    "errorMessages": [
                        "You are not authenticated. Authentication required to perform "
                        "this operation."
                    ],
                    "errors": {},
                },
                401,
                {"WWW-Authenticate": 'Basic realm="protected-area"'},
            )
        ver = int(values.pop("ver", 3))
        ctx = Ctx(req, user, Renderer(self.store, req.host_url, ver), ver)
        handler: Handler = getattr(self, "ep_" + endpoint)
        try:
            with self.store.lock:
                return handler(ctx, **values)
        except JiraError as exc:
            return json_response(exc.body(), exc.status)

    # -- pagination ---------------------------------------------------------------

    def _page(self, ctx: Ctx, items: list[Any], default_max: int = 50) -> dict[str, Any]:
        start = max(_int_arg(ctx.req, "startAt", 0), 0)
        size = _int_arg(ctx.req, "maxResults", default_max)
        size = max(0, min(size, 100))
        chunk = items[start : start + size]
        is_last = start + size >= len(items)
        out: dict[str, Any] = {
            "self": ctx.req.url,
            "maxResults": size,
            "startAt": start,
            "total": len(items),
            "isLast": is_last,
            "values": chunk,
        }
        if not is_last:
            args = ctx.req.args.to_dict()
            args.update({"startAt": str(start + size), "maxResults": str(size)})
            query = "&".join(f"{k}={v}" for k, v in args.items())
            out["nextPage"] = f"{ctx.req.base_url}?{query}"
        return out

    # -- identity -----------------------------------------------------------------

    def ep_myself(self, ctx: Ctx) -> Response:
        body = ctx.r.user(ctx.user)
        body["locale"] = "en_US"
        body["expand"] = "groups,applicationRoles"
        return json_response(body)

    def ep_user_search(self, ctx: Ctx) -> Response:
        """Cloud: ``?query=`` (matched on display name and email); Data Center:
        ``?username=``, and its users carry ``name`` (the username) and ``key``. A plain
        list, paged by startAt / maxResults."""
        username = ctx.req.args.get("username")
        query = ctx.req.args.get("query") if username is None else username
        if not (query or "").strip():
            raise JiraError(
                400, ["One of 'query', 'accountId' or 'property' query parameters is required."]
            )
        start = _int_arg(ctx.req, "startAt", 0)
        size = _int_arg(ctx.req, "maxResults", 50)
        users = ctx.r.store.search_users(query)[start : start + size]
        body = []
        for u in users:
            out = ctx.r.user(u)
            if username is not None:
                out.update({"name": u.name, "key": u.name})
            body.append(out)
        return json_response(body)

    def ep_server_info(self, ctx: Ctx) -> Response:
        return json_response(
            {
                "baseUrl": ctx.r.host,
                "displayUrl": ctx.r.host,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100282,
                # RFC 3339 here (the spec types these as date-time).
                "buildDate": "2025-01-01T00:00:00.000+00:00",
                "serverTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "scmInfo": "jira-emulator",
                "serverTitle": "Jira (emulator)",
            }
        )

    # -- projects -----------------------------------------------------------------

    def _visible_projects(self, ctx: Ctx) -> list[Any]:
        return [p for p in self.store.projects.values() if ctx.user.browses(p.key)]

    def ep_project_list(self, ctx: Ctx) -> Response:
        return json_response([ctx.r.project(p) for p in self._visible_projects(ctx)])

    def ep_project_search(self, ctx: Ctx) -> Response:
        projects = self._visible_projects(ctx)
        keys = {k.upper() for k in _list_arg(ctx.req, "keys")}
        ids = set(_list_arg(ctx.req, "id"))
        query = (ctx.req.args.get("query") or "").lower()
        if keys:
            projects = [p for p in projects if p.key in keys]
        if ids:
            projects = [p for p in projects if str(p.id) in ids]
        if query:
            projects = [p for p in projects if query in p.key.lower() or query in p.name.lower()]
        projects.sort(key=lambda p: p.key)
        return json_response(self._page(ctx, [ctx.r.project(p) for p in projects]))

    def ep_project_get(self, ctx: Ctx, key: str) -> Response:
        return json_response(ctx.r.project(self.store.visible_project(key, ctx.user)))

    def ep_project_statuses(self, ctx: Ctx, key: str) -> Response:
        project = self.store.visible_project(key, ctx.user)
        return json_response(ctx.r.statuses_for_project(project))

    def _project_versions(self, ctx: Ctx, key: str) -> list[Any]:
        project = self.store.visible_project(key, ctx.user)
        return [v for v in self.store.versions.values() if v.project_id == project.id]

    def ep_project_versions(self, ctx: Ctx, key: str) -> Response:
        return json_response([ctx.r.version(v) for v in self._project_versions(ctx, key)])

    def ep_project_version_page(self, ctx: Ctx, key: str) -> Response:
        versions = self._project_versions(ctx, key)
        statuses = set(_list_arg(ctx.req, "status"))
        if statuses:
            versions = [
                v
                for v in versions
                if ("released" in statuses and v.released and not v.archived)
                or ("unreleased" in statuses and not v.released and not v.archived)
                or ("archived" in statuses and v.archived)
            ]
        query = (ctx.req.args.get("query") or "").lower()
        if query:
            versions = [v for v in versions if query in v.name.lower()]
        order = ctx.req.args.get("orderBy", "")
        field = order.lstrip("+-")
        if field in ("name", "releaseDate", "startDate", "sequence"):
            attr = {"name": "name", "releaseDate": "release_date", "startDate": "start_date"}
            versions.sort(
                key=lambda v: (getattr(v, attr[field]) or "") if field in attr else v.id,
                reverse=order.startswith("-"),
            )
        return json_response(self._page(ctx, [ctx.r.version(v) for v in versions]))

    # -- issue types, fields, link types ----------------------------------------------

    def ep_issuetype_all(self, ctx: Ctx) -> Response:
        seen: dict[str, Any] = {}
        for p in self._visible_projects(ctx):
            for t in self.store.project_types(p):
                seen.setdefault(t.id, ctx.r.issue_type(t))
        return json_response(list(seen.values()))

    def ep_issuetype_project(self, ctx: Ctx) -> Response:
        pid = ctx.req.args.get("projectId")
        if not pid:
            return error(400, ["The projectId parameter is required."])
        project = self.store.project_by_key(pid) if pid.isdigit() else None
        if project is None or not ctx.user.browses(project.key):
            return error(404, [f"No project could be found with id '{pid}'."])
        types = self.store.project_types(project)
        level = ctx.req.args.get("level")
        if level is not None and level.lstrip("-").isdigit():
            types = [t for t in types if t.hierarchy_level == int(level)]
        return json_response([ctx.r.issue_type(t) for t in types])

    def _createmeta_page(self, ctx: Ctx, items: list[Any], key: str) -> dict[str, Any]:
        start = max(_int_arg(ctx.req, "startAt", 0), 0)
        size = max(0, min(_int_arg(ctx.req, "maxResults", 50), 200))
        return {
            "maxResults": size,
            "startAt": start,
            "total": len(items),
            key: items[start : start + size],
        }

    def ep_createmeta_types(self, ctx: Ctx, key: str) -> Response:
        project = self.store.visible_project(key, ctx.user)
        types = [ctx.r.issue_type(t) for t in self.store.project_types(project)]
        return json_response(self._createmeta_page(ctx, types, "issueTypes"))

    def ep_createmeta_fields(self, ctx: Ctx, key: str, type_id: str) -> Response:
        project = self.store.visible_project(key, ctx.user)
        it = next((t for t in self.store.project_types(project) if t.id == type_id), None)
        if it is None:
            return error(400, [f"The issue type with id '{type_id}' does not exist."])
        fields = ctx.r.create_fields(project, it)
        return json_response(self._createmeta_page(ctx, fields, "fields"))

    def ep_fields(self, ctx: Ctx) -> Response:
        return json_response(ctx.r.fields())

    def ep_link_types(self, ctx: Ctx) -> Response:
        return json_response({"issueLinkTypes": ctx.r.link_types()})

    def ep_link_type_get(self, ctx: Ctx, type_id: str) -> Response:
        lt = self.store.link_type({"id": type_id})
        if lt is None:
            return error(404, [f"No issue link type with id '{type_id}' found."])
        return json_response(ctx.r.link_type(lt))

    # -- versions ---------------------------------------------------------------------

    def ep_version_create(self, ctx: Ctx) -> Response:
        body = _body(ctx.req) or {}
        project = body.get("projectId") or body.get("project")
        if project is None:
            return error(400, errors={"project": "Project must be specified."})
        ver = self.store.create_version(
            project,
            body.get("name", ""),
            description=body.get("description") or "",
            released=bool(body.get("released", False)),
            archived=bool(body.get("archived", False)),
            release_date=body.get("releaseDate"),
            start_date=body.get("startDate"),
            visible_to=ctx.user,
        )
        return json_response(ctx.r.version(ver), 201)

    def ep_version_get(self, ctx: Ctx, vid: str) -> Response:
        return json_response(ctx.r.version(self.store.visible_version(vid, ctx.user)))

    def ep_version_update(self, ctx: Ctx, vid: str) -> Response:
        body = _body(ctx.req) or {}
        ver = self.store.update_version(vid, body, visible_to=ctx.user)
        return json_response(ctx.r.version(ver))

    def ep_version_delete(self, ctx: Ctx, vid: str) -> Response:
        # Deprecated in Jira in favour of removeAndSwap; kept for old clients.
        self.store.delete_version(
            vid, ctx.req.args.get("moveFixIssuesTo") or None, visible_to=ctx.user
        )
        return Response(status=204)

    def ep_version_remove_and_swap(self, ctx: Ctx, vid: str) -> Response:
        body = _body(ctx.req) or {}
        self.store.delete_version(vid, body.get("moveFixIssuesTo"), visible_to=ctx.user)
        return Response(status=204)

    # -- issues -----------------------------------------------------------------------

    def _create(self, ctx: Ctx, body: Any) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("fields", {}), dict):
            raise JiraError(400, ["Request body must be a JSON object with 'fields'."])
        return self.store.create_issue(
            body.get("fields") or {},
            user=ctx.user,
            rich_text_is_adf=ctx.ver == 3,
            update=body.get("update") or None,
        )

    def _created(self, ctx: Ctx, issue: Any) -> dict[str, str]:
        return {"id": str(issue.id), "key": issue.key, "self": f"{ctx.r.api}/issue/{issue.id}"}

    def ep_issue_create(self, ctx: Ctx) -> Response:
        issue = self._create(ctx, _body(ctx.req))
        return json_response(self._created(ctx, issue), 201)

    def ep_issue_bulk(self, ctx: Ctx) -> Response:
        body = _body(ctx.req) or {}
        updates = body.get("issueUpdates")
        if not isinstance(updates, list):
            return error(400, ["issueUpdates must be a list."])
        if len(updates) > 50:
            # Jira: "POST /rest/api/3/issue/bulk takes up to 50 issues".
            return error(400, [f"Bulk create is limited to 50 issues; {len(updates)} given."])
        issues, errors = [], []
        for number, item in enumerate(updates):
            try:
                issues.append(self._created(ctx, self._create(ctx, item)))
            except JiraError as exc:
                errors.append(
                    {
                        "status": exc.status,
                        "elementErrors": exc.body(),
                        "failedElementNumber": number,
                    }
                )
        # Partial success answers 201 with both lists; Jira answers 400 when
        # nothing at all could be created.
        status = 201 if issues or not updates else 400
        return json_response({"issues": issues, "errors": errors}, status)

    def ep_issue_get(self, ctx: Ctx, key: str) -> Response:
        issue = self.store.visible_issue(key, ctx.user)
        fields = _list_arg(ctx.req, "fields") or ["*all"]
        return json_response(
            ctx.r.issue(issue, fields, ctx.req.args.get("expand", ""), default="*all")
        )

    def ep_issue_update(self, ctx: Ctx, key: str) -> Response:
        # ``notifyUsers`` and the screen-override flags are accepted and ignored.
        body = _body(ctx.req)
        if not isinstance(body, dict):
            return error(400, ["Request body must be a JSON object."])
        issue = self.store.update_issue(
            key,
            fields=body.get("fields") or {},
            update=body.get("update") or None,
            user=ctx.user,
            rich_text_is_adf=ctx.ver == 3,
            visible_to=ctx.user,
        )
        if ctx.req.args.get("returnIssue") == "true":
            return json_response(ctx.r.issue(issue, ["*all"], ctx.req.args.get("expand", "")))
        return Response(status=204)

    def ep_issue_delete(self, ctx: Ctx, key: str) -> Response:
        self.store.delete_issue(
            key,
            user=ctx.user,
            delete_subtasks=ctx.req.args.get("deleteSubtasks") == "true",
            visible_to=ctx.user,
        )
        return Response(status=204)

    def ep_transitions_get(self, ctx: Ctx, key: str) -> Response:
        issue = self.store.visible_issue(key, ctx.user)
        wanted = ctx.req.args.get("transitionId")
        transitions = [
            ctx.r.transition(tid, sid)
            for tid, sid in TRANSITIONS.items()
            if (wanted is None or wanted == tid) and STATUS_BY_ID[sid].id != issue.status_id
        ]
        return json_response({"expand": "transitions", "transitions": transitions})

    def ep_transitions_post(self, ctx: Ctx, key: str) -> Response:
        body = _body(ctx.req) or {}
        transition = (body.get("transition") or {}).get("id")
        if not transition:
            return error(400, ["Missing 'transition' identifier"])
        self.store.visible_issue(key, ctx.user)
        if body.get("fields") or body.get("update"):
            self.store.update_issue(
                key,
                fields=body.get("fields"),
                update=body.get("update"),
                user=ctx.user,
                rich_text_is_adf=ctx.ver == 3,
                visible_to=ctx.user,
            )
        self.store.transition_issue(key, str(transition), user=ctx.user, visible_to=ctx.user)
        return Response(status=204)

    # -- links ------------------------------------------------------------------------

    def ep_link_create(self, ctx: Ctx) -> Response:
        body = _body(ctx.req) or {}
        errors = {
            name: f"'{name}' is required."
            for name in ("type", "inwardIssue", "outwardIssue")
            if not isinstance(body.get(name), dict)
        }
        if errors:
            return error(400, errors=errors)

        def ref(d: dict[str, Any]) -> str:
            return str(d.get("key") or d.get("id") or "")

        self.store.link_issues(
            body["type"],
            ref(body["inwardIssue"]),
            ref(body["outwardIssue"]),
            user=ctx.user,
            visible_to=ctx.user,
        )
        # Jira answers 201 with an EMPTY body: no link id (read it back from
        # the issue's fields.issuelinks). Repeats also answer 201.
        return Response(b"", status=201)

    def ep_link_get(self, ctx: Ctx, lid: str) -> Response:
        return json_response(ctx.r.issue_link(self.store.visible_link(lid, ctx.user)))

    def ep_link_delete(self, ctx: Ctx, lid: str) -> Response:
        self.store.delete_link(lid, user=ctx.user, visible_to=ctx.user)
        return Response(status=204)

    # -- search -----------------------------------------------------------------------

    def ep_search(self, ctx: Ctx) -> Response:
        if ctx.req.method == "POST":
            body = _body(ctx.req) or {}
            text = body.get("jql")
            token = body.get("nextPageToken")
            max_results = body.get("maxResults", 50)
            fields = body.get("fields") or []
            expand = body.get("expand") or ""
            # Read-after-write for up to 50 issue ids the caller already knows.
            reconcile = body.get("reconcileIssues") or []
            if not isinstance(reconcile, list) or len(reconcile) > 50:
                return error(400, ["reconcileIssues must be a list of at most 50 issue ids."])
            try:
                reconcile = [int(i) for i in reconcile]
            except (TypeError, ValueError):
                return error(400, ["reconcileIssues must be a list of at most 50 issue ids."])
        else:
            reconcile = []
            text = ctx.req.args.get("jql")
            token = ctx.req.args.get("nextPageToken")
            max_results = _int_arg(ctx.req, "maxResults", 50)
            fields = _list_arg(ctx.req, "fields")
            expand = ctx.req.args.get("expand", "")
        try:
            query = jql.parse(text)
        except jql.JqlError as exc:
            return error(400, [str(exc)])
        digest = hashlib.sha1((text or "").encode(), usedforsecurity=False).hexdigest()[:10]
        offset = 0
        if token:
            try:
                raw_offset, _, raw_digest = base64.urlsafe_b64decode(token).decode().partition(":")
                offset = int(raw_offset)
            except (ValueError, binascii.Error):
                return error(400, ["The provided next page token is invalid or expired."])
            if raw_digest != digest:
                return error(400, ["The provided next page token is invalid or expired."])
        id_only = select_fields({"summary": 1}, fields or ["id"]) is None
        # Jira caps pages at 5000 ids, or fewer when fields are requested.
        cap = 5000 if id_only else 100
        size = max(1, min(int(max_results or 50), cap))
        try:
            found = self.store.search(query, ctx.user, reconcile)
        except jql.JqlError as exc:
            return error(400, [str(exc)])
        page = found[offset : offset + size]
        out: dict[str, Any] = {
            "issues": [ctx.r.issue(i, fields, expand, default="id") for i in page]
        }
        if offset + size < len(found):
            out["nextPageToken"] = base64.urlsafe_b64encode(
                f"{offset + size}:{digest}".encode()
            ).decode()
            out["isLast"] = False
        else:
            out["isLast"] = True
        return json_response(out)

    # -- webhooks ---------------------------------------------------------------------

    def ep_dynamic_webhook(self, ctx: Ctx) -> Response:
        # Jira only lets Connect and OAuth 2.0 apps use /rest/api/3/webhook;
        # a user with basic auth / PAT gets 403. Admin webhooks are registered
        # with /rest/webhooks/1.0/webhook (or JiraEmulator.add_webhook).
        return error(403, ["Only Connect and OAuth 2.0 apps can use this operation."])

    def _admin_webhook_json(self, ctx: Ctx, hook: Any) -> dict[str, Any]:
        return {
            "name": hook.name,
            "url": hook.url,
            "events": hook.events,
            "filters": {"issue-related-events-section": hook.jql_text or ""},
            "excludeBody": False,
            "enabled": hook.enabled,
            "self": f"{ctx.req.host_url.rstrip('/')}/rest/webhooks/1.0/webhook/{hook.id}",
            "lastUpdatedUser": ctx.user.account_id,
            "lastUpdatedDisplayName": ctx.user.display_name,
        }

    def ep_admin_webhook_create(self, ctx: Ctx) -> Response:
        if not ctx.user.admin:
            return _not_admin()
        body = _body(ctx.req) or {}
        if not body.get("url") or not body.get("events"):
            return error(400, errors={"url": "url and events are required"})
        jql_text = (body.get("filters") or {}).get("issue-related-events-section") or None
        try:
            hook = self.store.add_webhook(
                body["url"], body["events"], body.get("secret"), jql_text, body.get("name")
            )
        except jql.JqlError as exc:
            return error(400, errors={"filters": str(exc)})
        return json_response(self._admin_webhook_json(ctx, hook), 201)

    def ep_admin_webhook_list(self, ctx: Ctx) -> Response:
        if not ctx.user.admin:
            return _not_admin()
        return json_response(
            [self._admin_webhook_json(ctx, h) for h in self.store.webhooks.values()]
        )

    def ep_admin_webhook_get(self, ctx: Ctx, wid: int) -> Response:
        if not ctx.user.admin:
            return _not_admin()
        hook = self.store.webhooks.get(wid)
        if hook is None:
            return error(404, [f"Webhook {wid} not found."])
        return json_response(self._admin_webhook_json(ctx, hook))

    def ep_admin_webhook_delete(self, ctx: Ctx, wid: int) -> Response:
        if not ctx.user.admin:
            return _not_admin()
        if self.store.webhooks.pop(wid, None) is None:
            return error(404, [f"Webhook {wid} not found."])
        return Response(status=204)
