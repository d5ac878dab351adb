"""The fields a record has here, what kind of value each holds, and the default field
mappings per record type (name <-> summary, description, status, assignee, tags, due date,
estimate). Converters between these values and Jira's live in integrations.transform."""

from __future__ import annotations

from dataclasses import dataclass

from records.kinds import RecordKind

from .models import Direction


class ValueKind:
    STRING = "string"
    RICH_TEXT = "rich_text"
    STATUS = "status"  # workflow status key; value-mapped to Jira statuses
    USER = "user"  # matched by email, display name as fallback
    TAGS = "tags"  # value-mapped to labels (or a multi-choice field)
    DATE = "date"
    TIME_ESTIMATE = "time_estimate"  # minutes here <-> seconds / "1d 2h" in Jira
    NUMBER = "number"  # story points
    VERSION_RELEASED = "version_released"  # a release's status <-> a version's released flag


@dataclass(frozen=True)
class LocalField:
    key: str
    label: str
    value_kind: str
    kinds: frozenset[str]  # record kinds that have it
    value_mappable: bool = False  # offers "Configure" for its values


_ALL = frozenset(RecordKind.values)

LOCAL_FIELDS: dict[str, LocalField] = {
    f.key: f
    for f in (
        LocalField("name", "Name", ValueKind.STRING, _ALL),
        LocalField("description", "Description", ValueKind.RICH_TEXT, _ALL),
        LocalField("status", "Status", ValueKind.STATUS, _ALL, value_mappable=True),
        LocalField("assignee", "Assignee", ValueKind.USER, _ALL),
        LocalField("tags", "Tags", ValueKind.TAGS, _ALL, value_mappable=True),
        LocalField("start_date", "Start date", ValueKind.DATE, _ALL),
        LocalField("due_date", "Due date", ValueKind.DATE, _ALL),
        LocalField("release_date", "Release date", ValueKind.DATE, frozenset({RecordKind.RELEASE})),
        LocalField("estimate_minutes", "Estimate (time)", ValueKind.TIME_ESTIMATE, _ALL),
        LocalField("story_points", "Estimate (story points)", ValueKind.NUMBER, _ALL),
    )
}


def local_fields_for(kind: str) -> list[LocalField]:
    return [f for f in LOCAL_FIELDS.values() if kind in f.kinds]


@dataclass(frozen=True)
class DefaultFieldMapping:
    local_field: str
    jira_field_id: str
    jira_field_name: str
    direction: str = Direction.BOTH


# System fields every Jira issue type has that createmeta never lists, because they cannot be
# set on create: Jira changes ``status`` only by transitions (its values are the project's
# ``statuses`` in the configuration). Fields an issue-type row can map are the loaded
# createmeta fields plus these: see ``issue_type_fields``.
ALWAYS_AVAILABLE_ISSUE_FIELDS: tuple[dict, ...] = (
    {
        "id": "status",
        "name": "Status",
        "custom": False,
        "schema_type": "status",
        "issue_type_ids": [],  # on every issue type
    },
)


def issue_type_fields(configuration: dict | None) -> list[dict]:
    """The Jira fields a row mapped to issue types can use: the project's loaded fields
    (createmeta, per issue type) and the system fields every issue type has. Empty while no
    configuration is loaded, so callers still ask for Reload configuration."""
    loaded = list((configuration or {}).get("fields") or [])
    if not loaded:
        return []
    known = {str(f.get("id")) for f in loaded}
    return loaded + [dict(f) for f in ALWAYS_AVAILABLE_ISSUE_FIELDS if f["id"] not in known]


# Rows mapped to Jira issue types.
ISSUE_DEFAULT_FIELD_MAPPINGS: tuple[DefaultFieldMapping, ...] = (
    DefaultFieldMapping("name", "summary", "Summary"),
    DefaultFieldMapping("description", "description", "Description"),
    DefaultFieldMapping("status", "status", "Status"),
    DefaultFieldMapping("assignee", "assignee", "Assignee"),
    DefaultFieldMapping("tags", "labels", "Labels"),
    DefaultFieldMapping("due_date", "duedate", "Due date"),
    DefaultFieldMapping("estimate_minutes", "timetracking", "Time tracking"),
)

# Releases mapped to Jira versions: a version's own attributes stand in for fields.
VERSION_FIELDS: dict[str, str] = {
    "name": "Name",
    "description": "Description",
    "startDate": "Start date",
    "releaseDate": "Release date",
    "released": "Released",
}
VERSION_DEFAULT_FIELD_MAPPINGS: tuple[DefaultFieldMapping, ...] = (
    DefaultFieldMapping("name", "name", "Name"),
    DefaultFieldMapping("description", "description", "Description"),
    DefaultFieldMapping("start_date", "startDate", "Start date"),
    DefaultFieldMapping("release_date", "releaseDate", "Release date"),
    DefaultFieldMapping("status", "released", "Released"),
)
