"""Reload configuration: one Jira project's issue types, fields, statuses, versions and
link types, normalized into the plain structure the integration stores.

Shape (exactly these keys; ids are strings)::

    {"project": {"id", "key", "name"},
     "issue_types": [{"id", "name", "subtask", "hierarchy_level"}],
     "fields": [{"id", "name", "custom", "schema_type", "issue_type_ids"}],
     "statuses": [{"id", "name", "category", "issue_type_ids"}],
     "versions": [{"id", "name", "released", "archived", "release_date"}],
     "link_types": [{"id", "name", "inward", "outward"}],
     "fetched_at": "<ISO 8601 UTC>"}

Fields come from createmeta per issue type (what can be set when creating), with names
from ``/field`` where Jira knows them there. Jira's answers are input: entries without an
id are skipped, missing values get defaults, nothing raises ``KeyError``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .client import JiraClient


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _level(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def fetch_project_configuration(client: JiraClient, project_key: str) -> dict[str, Any]:
    project = client.get_project(project_key)
    key = _str(project.get("key")) or project_key

    issue_types = []
    for raw in client.get_create_meta_issue_types(key):
        raw = _obj(raw)
        if not raw.get("id"):
            continue
        issue_types.append(
            {
                "id": _str(raw["id"]),
                "name": _str(raw.get("name")),
                "subtask": bool(raw.get("subtask", False)),
                "hierarchy_level": _level(
                    raw.get("hierarchyLevel", -1 if raw.get("subtask") else 0)
                ),
            }
        )

    known_fields = {
        _str(f.get("id")): f for f in client.get_fields() if isinstance(f, dict) and f.get("id")
    }
    fields: dict[str, dict[str, Any]] = {}
    for issue_type in issue_types:
        for raw in client.get_create_meta_fields(key, issue_type["id"]):
            raw = _obj(raw)
            field_id = _str(raw.get("fieldId") or raw.get("key"))
            if not field_id:
                continue
            entry = fields.get(field_id)
            if entry is None:
                known = _obj(known_fields.get(field_id))
                schema = _obj(raw.get("schema")) or _obj(known.get("schema"))
                entry = fields[field_id] = {
                    "id": field_id,
                    "name": _str(known.get("name") or raw.get("name") or field_id),
                    "custom": bool(known.get("custom", field_id.startswith("customfield_"))),
                    "schema_type": _str(schema.get("type")) or None,
                    "issue_type_ids": [],
                }
            if issue_type["id"] not in entry["issue_type_ids"]:
                entry["issue_type_ids"].append(issue_type["id"])

    statuses: dict[str, dict[str, Any]] = {}
    for raw_type in client.get_project_statuses(key):
        raw_type = _obj(raw_type)
        type_id = _str(raw_type.get("id"))
        raw_statuses = raw_type.get("statuses")
        for raw in raw_statuses if isinstance(raw_statuses, list) else []:
            raw = _obj(raw)
            if not raw.get("id"):
                continue
            entry = statuses.setdefault(
                _str(raw["id"]),
                {
                    "id": _str(raw["id"]),
                    "name": _str(raw.get("name")),
                    "category": _str(_obj(raw.get("statusCategory")).get("key")) or None,
                    "issue_type_ids": [],
                },
            )
            if type_id and type_id not in entry["issue_type_ids"]:
                entry["issue_type_ids"].append(type_id)

    versions = [
        {
            "id": _str(raw["id"]),
            "name": _str(raw.get("name")),
            "released": bool(raw.get("released", False)),
            "archived": bool(raw.get("archived", False)),
            "release_date": raw.get("releaseDate") or None,
        }
        for raw in map(_obj, client.get_project_versions(key))
        if raw.get("id")
    ]

    link_types = [
        {
            "id": _str(raw["id"]),
            "name": _str(raw.get("name")),
            "inward": _str(raw.get("inward")),
            "outward": _str(raw.get("outward")),
        }
        for raw in map(_obj, client.get_issue_link_types())
        if raw.get("id")
    ]

    return {
        "project": {
            "id": _str(project.get("id")),
            "key": key,
            "name": _str(project.get("name")),
        },
        "issue_types": issue_types,
        "fields": list(fields.values()),
        "statuses": list(statuses.values()),
        "versions": versions,
        "link_types": link_types,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
