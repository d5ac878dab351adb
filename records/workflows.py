"""Default workflow per record type: the statuses a record moves through, in order.

Statuses are stored by key; integrations map them to Jira statuses by key.
"""

from __future__ import annotations

from dataclasses import dataclass

from .kinds import RecordKind


@dataclass(frozen=True)
class Status:
    key: str
    label: str
    category: str  # "todo", "in_progress" or "done", like Jira's status categories


_PLANNING = [
    Status("not_started", "Not started", "todo"),
    Status("under_consideration", "Under consideration", "todo"),
    Status("ready_to_develop", "Ready to develop", "todo"),
    Status("in_development", "In development", "in_progress"),
    Status("in_review", "In review", "in_progress"),
    Status("ready_to_ship", "Ready to ship", "in_progress"),
    Status("shipped", "Shipped", "done"),
    Status("will_not_implement", "Will not implement", "done"),
]

WORKFLOWS: dict[str, list[Status]] = {
    RecordKind.INITIATIVE: [
        Status("not_started", "Not started", "todo"),
        Status("on_track", "On track", "in_progress"),
        Status("at_risk", "At risk", "in_progress"),
        Status("off_track", "Off track", "in_progress"),
        Status("completed", "Completed", "done"),
        Status("cancelled", "Cancelled", "done"),
    ],
    RecordKind.RELEASE: [
        Status("planned", "Planned", "todo"),
        Status("in_progress", "In progress", "in_progress"),
        Status("released", "Released", "done"),
        Status("cancelled", "Cancelled", "done"),
    ],
    RecordKind.EPIC: _PLANNING,
    RecordKind.FEATURE: _PLANNING,
    RecordKind.REQUIREMENT: [
        Status("not_started", "Not started", "todo"),
        Status("in_progress", "In progress", "in_progress"),
        Status("done", "Done", "done"),
        Status("will_not_implement", "Will not implement", "done"),
    ],
}


def statuses_for(kind: str) -> list[Status]:
    return WORKFLOWS[kind]


def default_status(kind: str) -> str:
    return WORKFLOWS[kind][0].key


def status_label(kind: str, key: str) -> str:
    for status in WORKFLOWS[kind]:
        if status.key == key:
            return status.label
    return key


def is_valid_status(kind: str, key: str) -> bool:
    return any(status.key == key for status in WORKFLOWS[kind])
