"""The record mappings table: ordered rows, one per record type, with their Linked to entries
(SPEC.md "Record mappings and Linked to"). The rules themselves are in integrations.rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from core.exceptions import ApplicationError
from records.kinds import RecordKind, kind_plural

from .. import rules
from ..models import Integration, LinkedTo, RecordMapping
from ..providers.base import Capability
from ..providers.registry import provider_for
from ..selectors import effective_configuration, effective_connection, row_from_mapping
from .field_mappings import (
    create_default_field_mappings,
    next_position,
    writable_record_mapping,
)
from .integrations import UNSET, ensure_part_owned

logger = logging.getLogger(__name__)
Part = Integration.Part
Target = RecordMapping.Target


@dataclass
class RowChange:
    """What a write did, for the API to say: the row, Linked to set automatically, Linked to
    removed, and problems the change left (e.g. Linked to now pointing below)."""

    mapping: RecordMapping | None = None
    added_linked_to: list[str] = field(default_factory=list)
    removed_linked_to: list[str] = field(default_factory=list)
    problems: list[rules.Problem] = field(default_factory=list)


def _rows(integration: Integration) -> list[RecordMapping]:
    return list(
        RecordMapping.objects.filter(integration=integration)
        .order_by("position", "id")
        .prefetch_related("linked_to")
    )


def _deployment(integration: Integration) -> str:
    return effective_connection(integration).deployment


def _resolve_issue_types(
    *,
    record_kind: str,
    configuration: dict,
    issue_type_ids: list[Any] | None,
    default_issue_type_id: Any,
    path: str = "",
) -> tuple[list[dict], str]:
    if not issue_type_ids:
        raise ApplicationError(
            f"Choose at least one Jira issue type for {kind_plural(record_kind).lower()}.",
            field=f"{path}issue_type_ids",
        )
    known = {str(t.get("id")): t for t in configuration.get("issue_types") or []}
    if not known:
        raise ApplicationError(
            "No Jira issue types are loaded for this integration: click Reload configuration "
            "first.",
            field=f"{path}issue_type_ids",
        )
    refs: list[dict] = []
    for index, raw in enumerate(issue_type_ids):
        type_id = str(raw.get("id") if isinstance(raw, dict) else raw).strip()
        if type_id not in known:
            raise ApplicationError(
                f"Jira has no issue type with id '{type_id}' in this project. Choose one from "
                "the list, or Reload configuration if it was added recently.",
                field=f"{path}issue_type_ids[{index}]",
            )
        if any(r["id"] == type_id for r in refs):
            raise ApplicationError(
                f"Issue type '{known[type_id].get('name')}' is listed twice.",
                field=f"{path}issue_type_ids[{index}]",
            )
        refs.append(rules.issue_type_ref(known[type_id]))
    default = str(default_issue_type_id or refs[0]["id"])
    if default not in {r["id"] for r in refs}:
        raise ApplicationError(
            "The default issue type must be one of the issue types this row maps to.",
            field=f"{path}default_issue_type_id",
        )
    return refs, default


def _check_target(record_kind: str, target: str, *, path: str = "") -> None:
    if target not in Target.values:
        raise ApplicationError(
            "The target is 'issue_type' (Jira issue types) or 'version' (Jira versions).",
            field=f"{path}target",
        )
    if target == Target.VERSION and record_kind != RecordKind.RELEASE:
        raise ApplicationError(
            f"Only releases can map to Jira versions; map {kind_plural(record_kind).lower()} "
            "to an issue type.",
            field=f"{path}target",
        )


def _check_supported(integration: Integration, target: str) -> None:
    """The tool must be able to hold what the row maps to (a tool without versions cannot
    take releases as versions)."""
    if target == Target.VERSION:
        provider_for(integration).require(
            Capability.VERSIONS, doing="take releases as versions", field="target"
        )


def _link_label(mapping_kind: str, link: LinkedTo | rules.Link) -> str:
    return (
        f"{kind_plural(mapping_kind)} linked to {kind_plural(link.parent_kind).lower()} "
        f"({rules.JIRA_FIELD_LABELS.get(link.jira_field, link.jira_field)})"
    )


@transaction.atomic
def record_mapping_add(
    *,
    integration: Integration,
    record_kind: str,
    target: str | None = None,
    issue_type_ids: list[Any] | None = None,
    default_issue_type_id: str = "",
    with_default_fields: bool = True,
) -> RowChange:
    """Append a row. Linked to is set automatically for each parent type whose row is
    already above; a parent row added later does not link back (add it by hand)."""
    ensure_part_owned(integration=integration, part=Part.RECORD_MAPPINGS)
    if record_kind not in RecordKind.values:
        raise ApplicationError(
            f"'{record_kind}' is not a record type. Use one of: {', '.join(RecordKind.values)}.",
            field="record_kind",
        )
    if RecordMapping.objects.filter(integration=integration, record_kind=record_kind).exists():
        raise ApplicationError(
            f"{kind_plural(record_kind)} already have a row: a record type appears once. Edit "
            "that row to change what it maps to.",
            field="record_kind",
        )
    target = target or (Target.VERSION if record_kind == RecordKind.RELEASE else Target.ISSUE_TYPE)
    _check_target(record_kind, target)
    _check_supported(integration, target)
    configuration = effective_configuration(integration)
    refs: list[dict] = []
    default = ""
    if target == Target.ISSUE_TYPE:
        refs, default = _resolve_issue_types(
            record_kind=record_kind,
            configuration=configuration,
            issue_type_ids=issue_type_ids,
            default_issue_type_id=default_issue_type_id,
        )
    existing = _rows(integration)
    mapping = RecordMapping.objects.create(
        integration=integration,
        position=next_position(RecordMapping.objects.filter(integration=integration)),
        record_kind=record_kind,
        target=target,
        issue_types=refs,
        default_issue_type_id=default,
    )
    change = RowChange(mapping=mapping)
    above = [row_from_mapping(m) for m in existing]
    links = rules.auto_linked_to(above, row_from_mapping(mapping), _deployment(integration))
    for position, link in enumerate(links):
        LinkedTo.objects.create(
            record_mapping=mapping,
            parent_kind=link.parent_kind,
            jira_field=link.jira_field,
            position=position,
            automatic=True,
        )
        change.added_linked_to.append(_link_label(record_kind, link))
    if with_default_fields:
        create_default_field_mappings(mapping=mapping, configuration=configuration)
    logger.info("Integration %s: %s row added", integration.pk, record_kind)
    return change


@transaction.atomic
def record_mapping_update(
    *,
    integration: Integration,
    record_mapping_id,
    target: str = UNSET,
    issue_type_ids: list[Any] = UNSET,
    default_issue_type_id: str = UNSET,
) -> RowChange:
    """Change what a row maps to. Linked to entries are kept; any the change made impossible
    are reported as problems next to the row."""
    mapping = writable_record_mapping(integration=integration, record_mapping_id=record_mapping_id)
    new_target = mapping.target if target is UNSET else target
    _check_target(mapping.record_kind, new_target)
    if new_target != mapping.target:
        _check_supported(integration, new_target)
    if new_target == Target.VERSION:
        mapping.issue_types, mapping.default_issue_type_id = [], ""
    elif issue_type_ids is not UNSET or new_target != mapping.target:
        mapping.issue_types, mapping.default_issue_type_id = _resolve_issue_types(
            record_kind=mapping.record_kind,
            configuration=effective_configuration(integration),
            issue_type_ids=None if issue_type_ids is UNSET else issue_type_ids,
            default_issue_type_id="" if default_issue_type_id is UNSET else default_issue_type_id,
        )
    elif default_issue_type_id is not UNSET:
        if str(default_issue_type_id) not in {str(t.get("id")) for t in mapping.issue_types}:
            raise ApplicationError(
                "The default issue type must be one of the issue types this row maps to.",
                field="default_issue_type_id",
            )
        mapping.default_issue_type_id = str(default_issue_type_id)
    mapping.target = new_target
    mapping.save()
    return RowChange(mapping=mapping, problems=_problems_for(integration, mapping))


def _problems_for(integration: Integration, mapping: RecordMapping | None) -> list[rules.Problem]:
    rows = [row_from_mapping(m) for m in _rows(integration)]
    problems = rules.linked_to_problems(rows, _deployment(integration))
    problems = [p for p in problems if p.code != "linked_to_missing"]
    if mapping is None:
        return problems
    index = rules.row_index(rows, mapping.record_kind)
    return [p for p in problems if p.row == index]


@transaction.atomic
def record_mapping_remove(*, integration: Integration, record_mapping_id) -> RowChange:
    """Remove a row; Linked to entries of other rows that pointed at it go too, and the
    answer says which."""
    mapping = writable_record_mapping(integration=integration, record_mapping_id=record_mapping_id)
    pointing = LinkedTo.objects.filter(
        record_mapping__integration=integration, parent_kind=mapping.record_kind
    ).select_related("record_mapping")
    change = RowChange()
    for link in pointing:
        change.removed_linked_to.append(_link_label(link.record_mapping.record_kind, link))
    pointing.delete()
    mapping.delete()
    for position, row in enumerate(_rows(integration)):
        if row.position != position:
            RecordMapping.objects.filter(pk=row.pk).update(position=position)
    change.problems = _problems_for(integration, None)
    return change


@transaction.atomic
def record_mappings_reorder(*, integration: Integration, ordered_ids: list[Any]) -> RowChange:
    """Put rows in a new order. Rows and their Linked to are kept; entries now naming a row
    below are reported as problems next to their row, not dropped."""
    id_map = ensure_part_owned(integration=integration, part=Part.RECORD_MAPPINGS)
    copies = id_map.get("record_mappings", {})
    rows = _rows(integration)
    by_id = {row.pk: row for row in rows}
    if not isinstance(ordered_ids, list | tuple):
        raise ApplicationError("Send the row ids as a list, in the new order.", field="ids")
    ids: list[int] = []
    for index, raw in enumerate(ordered_ids):
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            raise ApplicationError(f"'{raw}' is not a row id.", field=f"ids[{index}]") from None
        ids.append(copies[pk].pk if pk in copies else pk)
    if sorted(ids) != sorted(by_id) or len(set(ids)) != len(ids):
        raise ApplicationError(
            f"Send every row id exactly once, in the new order (rows are {sorted(by_id)}).",
            field="ids",
        )
    for position, pk in enumerate(ids):
        if by_id[pk].position != position:
            RecordMapping.objects.filter(pk=pk).update(position=position)
    return RowChange(problems=_problems_for(integration, None))


@transaction.atomic
def record_mapping_move(
    *, integration: Integration, record_mapping_id, direction: str
) -> RowChange:
    """Move a row one place up or down."""
    if direction not in ("up", "down"):
        raise ApplicationError("Move a row 'up' or 'down'.", field="direction")
    mapping = writable_record_mapping(integration=integration, record_mapping_id=record_mapping_id)
    ids = [row.pk for row in _rows(integration)]
    index = ids.index(mapping.pk)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(ids):
        raise ApplicationError(
            f"The row is already the {'first' if direction == 'up' else 'last'}.",
            field="direction",
        )
    ids[index], ids[other] = ids[other], ids[index]
    return record_mappings_reorder(integration=integration, ordered_ids=ids)


# -- Linked to -------------------------------------------------------------------------------


@transaction.atomic
def linked_to_add(
    *, integration: Integration, record_mapping_id, parent_kind: str, jira_field: str = ""
) -> RowChange:
    """Add a Linked to entry by hand. With no Jira field, the one that fits is chosen."""
    mapping = writable_record_mapping(integration=integration, record_mapping_id=record_mapping_id)
    records = _rows(integration)
    rows = [row_from_mapping(m) for m in records]
    child_index = next(i for i, m in enumerate(records) if m.pk == mapping.pk)
    deployment = _deployment(integration)
    if not jira_field:
        parent_index = rules.row_index(rows, parent_kind)
        suggested = (
            rules.suggest_jira_field(rows[parent_index], rows[child_index], deployment)
            if parent_index is not None
            else None
        )
        if parent_index is not None and suggested is None:
            raise ApplicationError(
                f"No Jira field can carry {kind_plural(mapping.record_kind).lower()} under "
                f"{kind_plural(parent_kind).lower()} with the issue types chosen: choose the "
                "field, or change the issue types.",
                field="jira_field",
            )
        jira_field = suggested or rules.PARENT
    check = rules.check_new_linked_to(rows, child_index, rules.Link(parent_kind, jira_field))
    if not check.ok:
        raise ApplicationError(check.message, field=check.field)
    link = LinkedTo.objects.create(
        record_mapping=mapping,
        parent_kind=parent_kind,
        jira_field=jira_field,
        position=next_position(mapping.linked_to.all()),
        automatic=False,
    )
    change = RowChange(mapping=mapping, added_linked_to=[_link_label(mapping.record_kind, link)])
    change.problems = _problems_for(integration, mapping)
    return change


@transaction.atomic
def linked_to_remove(*, integration: Integration, record_mapping_id, parent_kind: str) -> RowChange:
    mapping = writable_record_mapping(integration=integration, record_mapping_id=record_mapping_id)
    link = mapping.linked_to.filter(parent_kind=parent_kind).first()
    if link is None:
        shown = (
            kind_plural(parent_kind).lower() if parent_kind in RecordKind.values else parent_kind
        )
        raise ApplicationError(
            f"The {kind_plural(mapping.record_kind)} row is not linked to {shown}.",
            field="parent_kind",
        )
    label = _link_label(mapping.record_kind, link)
    link.delete()
    return RowChange(mapping=mapping, removed_linked_to=[label])


# -- recommended defaults --------------------------------------------------------------------


@dataclass
class DefaultsResult:
    replaced_rows: int
    rows: list[RecordMapping]
    notes: list[str]


@transaction.atomic
def _relationship_defaults(
    integration: Integration, configuration: dict, rows: list[RecordMapping]
) -> list[str]:
    """Record link mappings from the project's real link types, for every kind mapped to an
    issue type (Jira links issues), when the integration has none yet: a new integration
    then syncs its record links without opening every Configure modal."""
    from integrations.models import RelationshipMapping
    from integrations.selectors import relationship_mappings_effective

    if relationship_mappings_effective(integration):
        return []
    recommended = rules.recommended_relationships(configuration.get("link_types") or [])
    names = {
        str(t.get("id")): str(t.get("name") or "") for t in configuration.get("link_types") or []
    }
    kinds = [
        row.record_kind
        for row in rows
        if row.target == RecordMapping.Target.ISSUE_TYPE
        and row.record_kind in rules.RELATIONSHIP_KINDS
    ]
    if not recommended or not kinds:
        return []
    ensure_part_owned(integration=integration, part=Part.RELATIONSHIP_MAPPINGS)
    RelationshipMapping.objects.bulk_create(
        RelationshipMapping(
            integration=integration,
            record_kind=kind,
            position=position,
            link_type=item.link_type,
            jira_link_type_id=item.jira_link_type_id,
            jira_link_type_name=names.get(item.jira_link_type_id, ""),
            jira_direction=item.jira_direction,
        )
        for kind in kinds
        for position, item in enumerate(recommended)
    )
    return [f"Record links are mapped to the project's Jira link types ({len(recommended)} types)."]


def mappings_apply_defaults(*, integration: Integration) -> DefaultsResult:
    """Recommended defaults: REPLACE the whole record mappings table (rows, Linked to, field
    and value mappings) with the one built from the project's issue types."""
    configuration = effective_configuration(integration)
    if not configuration.get("issue_types"):
        raise ApplicationError(
            "The recommended defaults are built from the project's issue types, and none are "
            "loaded: click Reload configuration first.",
            field="configuration",
        )
    ensure_part_owned(integration=integration, part=Part.RECORD_MAPPINGS)
    replaced = RecordMapping.objects.filter(integration=integration).count()
    RecordMapping.objects.filter(integration=integration).delete()
    rows = rules.recommended_rows(configuration, _deployment(integration))
    created = []
    for position, row in enumerate(rows):
        mapping = RecordMapping.objects.create(
            integration=integration,
            position=position,
            record_kind=row.kind,
            target=row.target,
            issue_types=list(row.issue_types),
            default_issue_type_id=row.default_issue_type_id,
        )
        LinkedTo.objects.bulk_create(
            LinkedTo(
                record_mapping=mapping,
                parent_kind=link.parent_kind,
                jira_field=link.jira_field,
                position=i,
                automatic=True,
            )
            for i, link in enumerate(row.linked_to)
        )
        create_default_field_mappings(mapping=mapping, configuration=configuration)
        created.append(mapping)
    notes = []
    notes += _relationship_defaults(integration, configuration, created)
    if not any(r.kind == RecordKind.INITIATIVE for r in rows):
        notes.append(
            "The project has no initiative-level issue type, so initiatives are not mapped."
        )
    logger.info("Integration %s: recommended defaults applied", integration.pk)
    return DefaultsResult(replaced_rows=replaced, rows=created, notes=notes)
