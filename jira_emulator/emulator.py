"""``JiraEmulator``: the facade tests and the CLI use.

Serves :class:`~jira_emulator.server.JiraApp` with Werkzeug's threaded server
in a background thread and wires the store's events to the webhook sender.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from . import adf
from .persist import StateFile
from .render import Renderer
from .server import Faults, JiraApp, LogEntry, _QuietHandler
from .store import Store, User
from .webhooks import WebhookDelivery, WebhookSender


class JiraEmulator:
    """A Jira Cloud emulator over real HTTP (see the package docstring)."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        seed_demo: bool = True,
        state_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.seed_demo = seed_demo
        self.state = Store()
        self.faults = Faults(self.state.search_index)
        self.app = JiraApp(self.state, self.faults)
        self.sender = WebhookSender(self.faults)
        self.state.dispatch = self.sender.enqueue
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.state.base_url = f"http://{host}:{port}"
        # With a state file, the data survives restarts: loaded now, saved after each change.
        self.state_file = StateFile(state_path) if state_path else None
        self.restored = False
        if self.state_file is not None:
            self.restored = self.state_file.load_or_seed(self.state, seed_demo)
            self.app.after_write = self.save_state
        elif seed_demo:
            self.state.seed_demo()

    def save_state(self) -> None:
        """Write the state file now (after changes made in Python rather than over HTTP)."""
        if self.state_file is not None:
            self.state_file.save(self.state)

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> JiraEmulator:
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self.state.base_url = self.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="jira-emulator-http", daemon=True
        )
        self._thread.start()
        self.sender.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sender.stop()

    def __enter__(self) -> JiraEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Back to the seeded state: data, webhooks, logs, deliveries and faults."""
        with self.state.lock:
            self.state.clear()
            if self.seed_demo:
                self.state.seed_demo()
        self.faults.clear()
        self.sender.clear()
        self.app.requests_log.clear()
        self.save_state()

    # -- observation ---------------------------------------------------------------

    @property
    def requests_log(self) -> list[LogEntry]:
        """(method, path, query dict, json body or None, status) per request received."""
        return self.app.requests_log

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return self.sender.deliveries

    @property
    def webhook_retry_delays(self) -> list[float]:
        return self.sender.retry_delays

    @webhook_retry_delays.setter
    def webhook_retry_delays(self, delays: Iterable[float]) -> None:
        self.sender.retry_delays = list(delays)

    @property
    def webhook_timeout(self) -> float:
        return self.sender.timeout

    @webhook_timeout.setter
    def webhook_timeout(self, seconds: float) -> None:
        self.sender.timeout = seconds

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Block until the outgoing queue (retries included) is drained.

        Deliveries held by ``faults.hold_webhooks`` do not count: release them first.
        """
        return self.sender.wait(timeout)

    @property
    def held_webhooks(self) -> int:
        """How many deliveries ``faults.hold_webhooks`` is holding back."""
        return self.sender.held

    def release_webhooks(self, rng: random.Random | None = None, reverse: bool = False) -> int:
        """Send the held deliveries now: as queued, reversed, or shuffled by ``rng``.

        Returns how many were released. ``faults.hold_webhooks`` stays as it is.
        """

        def order(jobs: list[Any]) -> list[Any]:
            if rng is not None:
                rng.shuffle(jobs)
            elif reverse:
                jobs.reverse()
            return jobs

        return self.sender.release(order)

    # -- setup -----------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        display_name: str,
        api_token: str | None = None,
        pat: str | None = None,
        can_browse: bool | Iterable[str] = True,
        *,
        active: bool = True,
        email_visible: bool = True,
        username: str = "",
    ) -> str:
        """Add a user (whose credentials, if given, the API accepts); returns the accountId.

        ``can_browse``: True (all projects), False (none) or the project keys
        the user may browse. Others answer 404 as Jira does. ``email_visible``
        False hides the email from answers, as Jira Cloud's profile visibility
        does; ``username`` is the Data Center ``name`` (default: the email's
        local part).
        """
        return self.state.add_user(
            email,
            display_name,
            api_token,
            pat,
            can_browse,
            active=active,
            email_visible=email_visible,
            username=username,
        )

    def set_can_browse(self, account_id: str, can_browse: bool | Iterable[str]) -> None:
        self.state.set_can_browse(account_id, can_browse)

    def add_project(
        self,
        key: str,
        name: str,
        issue_types: Iterable[str | dict[str, Any]] | None = None,
        lead: str | None = None,
    ) -> dict[str, Any]:
        """Add a project; issue types by name (Epic, Story, Task, Bug, Sub-task,
        Initiative) or ``{"name", "hierarchyLevel", "subtask"}``. Returns its v3 JSON."""
        project = self.state.add_project(key, name, issue_types, lead)
        return self._renderer().project(project)

    def add_webhook(
        self,
        url: str,
        events: Iterable[str] = ("*",),
        secret: str | None = None,
        jql: str | None = None,
        name: str | None = None,
    ) -> int:
        """Register an admin webhook (as in Jira's System > WebHooks); returns its id."""
        return self.state.add_webhook(url, events, secret, jql, name).id

    def remove_webhook(self, webhook_id: int) -> None:
        with self.state.lock:
            self.state.webhooks.pop(webhook_id, None)

    # -- "an engineer edits Jira": direct mutations that fire webhooks ------------------

    def _renderer(self, version: int = 3) -> Renderer:
        return Renderer(self.state, self.base_url, version)

    @staticmethod
    def _rich(fields: dict[str, Any]) -> dict[str, Any]:
        # Direct calls may pass a plain-text description; store it as ADF.
        if isinstance(fields.get("description"), str):
            fields = {**fields, "description": adf.text_to_adf(fields["description"])}
        return fields

    def create_issue(
        self,
        fields: dict[str, Any] | None = None,
        *,
        user: str | None = None,
        project: str | None = None,
        issuetype: str | None = None,
        summary: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Create an issue from REST v3 ``fields`` (or keyword shortcuts).

        ``create_issue(project="DEMO", issuetype="Story", summary="x")`` works too.
        Returns ``{"id", "key", "self"}`` like ``POST /issue``.
        """
        f = dict(fields or {})
        if project:
            f["project"] = {"key": project}
        if issuetype:
            f["issuetype"] = {"name": issuetype}
        if summary is not None:
            f["summary"] = summary
        f.update(extra)
        issue = self.state.create_issue(self._rich(f), user=user)
        return {
            "id": str(issue.id),
            "key": issue.key,
            "self": f"{self.base_url}/rest/api/3/issue/{issue.id}",
        }

    def update_issue(
        self,
        key: str,
        fields: dict[str, Any] | None = None,
        update: dict[str, Any] | None = None,
        user: str | None = None,
    ) -> None:
        self.state.update_issue(key, self._rich(fields or {}), update, user=user)

    def transition_issue(self, key: str, to: str, user: str | None = None) -> None:
        """``to`` is a transition id ("41") or a status name ("Done")."""
        self.state.transition_issue(key, to, user=user)

    def delete_issue(self, key: str, user: str | None = None, delete_subtasks: bool = True) -> None:
        self.state.delete_issue(key, user=user, delete_subtasks=delete_subtasks)

    def link_issues(
        self, link_type: str, inward: str, outward: str, user: str | None = None
    ) -> str:
        """Create a link; ``inward`` is REST ``inwardIssue`` (e.g. the one that *blocks*).
        Returns the link id (string, as REST shows it)."""
        return str(self.state.link_issues(link_type, inward, outward, user=user).id)

    def delete_link(self, link_id: str | int, user: str | None = None) -> None:
        self.state.delete_link(link_id, user=user)

    def create_version(self, project: str, name: str, **kwargs: Any) -> dict[str, Any]:
        """kwargs: description, released, archived, release_date, start_date."""
        return self._renderer().version(self.state.create_version(project, name, **kwargs))

    def update_version(self, version_id: str | int, **changes: Any) -> dict[str, Any]:
        """REST names: name, description, released, archived, releaseDate, startDate."""
        return self._renderer().version(self.state.update_version(version_id, changes))

    def delete_version(self, version_id: str | int, move_fix_issues_to: str | int | None = None):
        self.state.delete_version(version_id, move_fix_issues_to)

    def get_issue(self, key: str, version: int = 3) -> dict[str, Any]:
        """The issue as ``GET /rest/api/{version}/issue/{key}`` renders it."""
        with self.state.lock:
            issue = self.state.visible_issue(key, None)
            return self._renderer(version).issue(issue, ["*all"])

    def user(self, account_id: str) -> User:
        return self.state.users[account_id]
