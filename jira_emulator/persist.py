"""The sandbox's state on disk, so it survives a restart of ``scripts/dev`` as the product's
database under ``var/`` does (``python -m jira_emulator --state var/jira-sandbox.json``).

The whole store is written as JSON after every change made over HTTP (atomically: a
temporary file renamed over the old one), and read back at start. Deleting the file gives a
freshly seeded sandbox (``scripts/dev --reset`` does it together with the product's data).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from . import jql
from .store import Issue, IssueType, Link, Project, Store, User, Version, Webhook

FORMAT = 1
_DATETIME_FIELDS = {"created", "updated", "resolution_date"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set):
        return sorted(value)
    return value


def _row(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name not in skip
    }


def snapshot(store: Store) -> dict[str, Any]:
    with store.lock:
        return {
            "format": FORMAT,
            "ids": dict(store._ids),
            "users": [_row(u) for u in store.users.values()],
            "issue_types": [_row(t) for t in store.issue_types.values()],
            "projects": [_row(p) for p in store.projects.values()],
            "versions": [_row(v) for v in store.versions.values()],
            "issues": [_row(i) for i in store.issues.values()],
            "links": [_row(link) for link in store.links.values()],
            "webhooks": [_row(h, skip=("jql",)) for h in store.webhooks.values()],
        }


def _user(row: dict[str, Any]) -> User:
    if isinstance(row.get("can_browse"), list):
        row["can_browse"] = set(row["can_browse"])
    return User(**row)


def _issue(row: dict[str, Any]) -> Issue:
    for name in _DATETIME_FIELDS:
        if row.get(name):
            row[name] = datetime.fromisoformat(row[name])
    return Issue(**row)


def restore(store: Store, data: dict[str, Any]) -> None:
    if data.get("format") != FORMAT:
        raise ValueError(f"Unknown sandbox state format {data.get('format')!r}")
    with store.lock:
        store.clear()
        store._ids.update(data["ids"])
        store.users = {u["account_id"]: _user(u) for u in data["users"]}
        store.issue_types = {t["id"]: IssueType(**t) for t in data["issue_types"]}
        store.projects = {p["id"]: Project(**p) for p in data["projects"]}
        store.versions = {v["id"]: Version(**v) for v in data["versions"]}
        store.issues = {i["id"]: _issue(i) for i in data["issues"]}
        store.links = {link["id"]: Link(**link) for link in data["links"]}
        store.webhooks = {}
        for row in data["webhooks"]:
            parsed = jql.parse(row["jql_text"]) if row.get("jql_text") else None
            store.webhooks[row["id"]] = Webhook(**row, jql=parsed)


class StateFile:
    """Load at start (seeding when there is no file yet) and save after each change."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # One save at a time, each taking its snapshot inside: a slower, older snapshot can
        # never replace a newer one.
        self._lock = threading.Lock()

    def load_or_seed(self, store: Store, seed: bool) -> bool:
        """True when a saved state was loaded."""
        if self.path.exists():
            restore(store, json.loads(self.path.read_text(encoding="utf-8")))
            return True
        with store.lock:
            store.clear()
            if seed:
                store.seed_demo()
        self.save(store)
        return False

    def save(self, store: Store) -> None:
        with self._lock:
            self._write(json.dumps(snapshot(store), separators=(",", ":")))

    def _write(self, data: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".jira-sandbox-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
