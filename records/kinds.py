"""The five record types, the six parent-child relationships and the record link types.

These are the product's vocabulary (SPEC.md, "Records"); every other module asks here.
"""

from __future__ import annotations

from django.db import models


class RecordKind(models.TextChoices):
    INITIATIVE = "initiative", "Initiative"
    RELEASE = "release", "Release"
    EPIC = "epic", "Epic"
    FEATURE = "feature", "Feature"
    REQUIREMENT = "requirement", "Requirement"


# (parent kind, child kind): exactly these six, and no others.
PARENT_CHILD_RELATIONSHIPS: tuple[tuple[str, str], ...] = (
    (RecordKind.INITIATIVE, RecordKind.EPIC),
    (RecordKind.INITIATIVE, RecordKind.FEATURE),
    (RecordKind.RELEASE, RecordKind.EPIC),
    (RecordKind.RELEASE, RecordKind.FEATURE),
    (RecordKind.EPIC, RecordKind.FEATURE),
    (RecordKind.FEATURE, RecordKind.REQUIREMENT),
)

# The Record model has one foreign key per parent kind, named after the kind.
PARENT_FIELDS: tuple[str, ...] = ("initiative", "release", "epic", "feature")


def parent_kinds_of(child_kind: str) -> list[str]:
    return [parent for parent, child in PARENT_CHILD_RELATIONSHIPS if child == child_kind]


def child_kinds_of(parent_kind: str) -> list[str]:
    return [child for parent, child in PARENT_CHILD_RELATIONSHIPS if parent == parent_kind]


def is_parent_child(parent_kind: str, child_kind: str) -> bool:
    return (parent_kind, child_kind) in PARENT_CHILD_RELATIONSHIPS


def kind_label(kind: str) -> str:
    return RecordKind(kind).label


def kind_plural(kind: str) -> str:
    return f"{RecordKind(kind).label}s"


class LinkType(models.TextChoices):
    """Record link types. The label is the outward name; ``LINK_INVERSE_NAMES`` the inward."""

    RELATES_TO = "relates_to", "Relates to"
    DEPENDS_ON = "depends_on", "Depends on"
    CONTAINS = "contains", "Contains"
    IMPACTS = "impacts", "Impacts"
    DUPLICATES = "duplicates", "Duplicates"
    BLOCKS = "blocks", "Blocks"


LINK_INVERSE_NAMES: dict[str, str] = {
    LinkType.RELATES_TO: "Relates to",
    LinkType.DEPENDS_ON: "Is dependent on",
    LinkType.CONTAINS: "Is contained in",
    LinkType.IMPACTS: "Is impacted by",
    LinkType.DUPLICATES: "Is duplicated by",
    LinkType.BLOCKS: "Is blocked by",
}

SYMMETRIC_LINK_TYPES = frozenset({LinkType.RELATES_TO})


def link_name(link_type: str, *, inward: bool = False) -> str:
    return LINK_INVERSE_NAMES[link_type] if inward else LinkType(link_type).label
