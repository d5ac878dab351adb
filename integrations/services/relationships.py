"""Record links here <-> Jira issue links, per record type (SPEC.md "Record relationships").
Ordered pairs; in each direction the first matching pair wins (see selectors)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.exceptions import ApplicationError
from records.kinds import LinkType, kind_plural

from .. import rules
from ..models import Direction, Integration, RelationshipMapping
from ..providers.base import Capability
from ..providers.registry import provider_for
from ..selectors import effective_configuration
from .field_mappings import next_position
from .integrations import UNSET, ensure_part_owned, owned_row

Part = Integration.Part
SYNC_DIRECTIONS = (Direction.BOTH, Direction.TO_JIRA, Direction.FROM_JIRA)


def check_record_kind(record_kind: str, *, field: str = "record_kind") -> None:
    if record_kind not in rules.RELATIONSHIP_KINDS:
        raise ApplicationError(
            "Record links can be mapped for initiatives, releases, epics and features only.",
            field=field,
        )


def check_link_type(link_type: str, *, field: str = "link_type") -> None:
    if link_type not in LinkType.values:
        raise ApplicationError(
            f"'{link_type}' is not a record link type. Use one of: {', '.join(LinkType.values)}.",
            field=field,
        )


def resolve_jira_link_type(
    configuration: dict, jira_link_type_id: str, *, field: str = "jira_link_type_id"
) -> tuple[str, str]:
    link_types = (configuration or {}).get("link_types") or []
    if not link_types:
        raise ApplicationError(
            "Jira's issue link types are not loaded for this integration: click Reload "
            "configuration, then choose the link type.",
            field=field,
        )
    wanted = str(jira_link_type_id or "").strip()
    for link_type in link_types:
        if str(link_type.get("id")) == wanted:
            return wanted, str(link_type.get("name", ""))
    names = ", ".join(f"{t.get('name')} ({t.get('id')})" for t in link_types)
    raise ApplicationError(
        f"Jira has no issue link type with id '{wanted}'. Choose one of: {names}.", field=field
    )


def check_directions(jira_direction: str, sync_direction: str, *, path: str = "") -> None:
    if jira_direction not in RelationshipMapping.JiraDirection.values:
        raise ApplicationError(
            "The Jira direction is 'outward' (this record is the link's source) or 'inward'.",
            field=f"{path}jira_direction",
        )
    if sync_direction not in SYNC_DIRECTIONS:
        raise ApplicationError(
            "The sync direction is 'both', 'to_jira' or 'from_jira'.",
            field=f"{path}sync_direction",
        )


def _writable(*, integration: Integration, relationship_mapping_id) -> RelationshipMapping:
    return owned_row(
        integration=integration,
        part=Part.RELATIONSHIP_MAPPINGS,
        copies_of="relationship_mappings",
        rows=RelationshipMapping.objects.filter(integration=integration),
        row_id=relationship_mapping_id,
        missing="That record link mapping is not in this integration.",
        field="relationship_mapping",
    )


@transaction.atomic
def relationship_mapping_add(
    *,
    integration: Integration,
    record_kind: str,
    link_type: str,
    jira_link_type_id: str,
    jira_direction: str = RelationshipMapping.JiraDirection.OUTWARD,
    sync_direction: str = Direction.BOTH,
) -> RelationshipMapping:
    check_record_kind(record_kind)
    check_link_type(link_type)
    check_directions(jira_direction, sync_direction)
    provider_for(integration).require(
        Capability.ISSUE_LINKS, doing="link issues", field="jira_link_type_id"
    )
    jira_id, jira_name = resolve_jira_link_type(
        effective_configuration(integration), jira_link_type_id
    )
    ensure_part_owned(integration=integration, part=Part.RELATIONSHIP_MAPPINGS)
    same = RelationshipMapping.objects.filter(
        integration=integration,
        record_kind=record_kind,
        link_type=link_type,
        jira_link_type_id=jira_id,
        jira_direction=jira_direction,
    )
    if same.exists():
        raise ApplicationError(
            f"{kind_plural(record_kind)}: '{LinkType(link_type).label}' is already mapped to "
            f"{jira_name} ({jira_direction}).",
            field="jira_link_type_id",
        )
    return RelationshipMapping.objects.create(
        integration=integration,
        record_kind=record_kind,
        position=next_position(
            RelationshipMapping.objects.filter(integration=integration, record_kind=record_kind)
        ),
        link_type=link_type,
        jira_link_type_id=jira_id,
        jira_link_type_name=jira_name,
        jira_direction=jira_direction,
        sync_direction=sync_direction,
    )


@transaction.atomic
def relationship_mapping_update(
    *,
    integration: Integration,
    relationship_mapping_id,
    link_type: str = UNSET,
    jira_link_type_id: str = UNSET,
    jira_direction: str = UNSET,
    sync_direction: str = UNSET,
) -> RelationshipMapping:
    rel = _writable(integration=integration, relationship_mapping_id=relationship_mapping_id)
    if link_type is not UNSET:
        check_link_type(link_type)
        rel.link_type = link_type
    if jira_link_type_id is not UNSET:
        rel.jira_link_type_id, rel.jira_link_type_name = resolve_jira_link_type(
            effective_configuration(integration), jira_link_type_id
        )
    if jira_direction is not UNSET:
        rel.jira_direction = jira_direction
    if sync_direction is not UNSET:
        rel.sync_direction = sync_direction
    check_directions(rel.jira_direction, rel.sync_direction)
    rel.save()
    return rel


@transaction.atomic
def relationship_mapping_remove(*, integration: Integration, relationship_mapping_id) -> None:
    _writable(integration=integration, relationship_mapping_id=relationship_mapping_id).delete()


@transaction.atomic
def relationship_mappings_reorder(
    *, integration: Integration, record_kind: str, ordered_ids: list[Any]
) -> None:
    """New order of one record type's pairs: the first match wins in each direction."""
    check_record_kind(record_kind)
    id_map = ensure_part_owned(integration=integration, part=Part.RELATIONSHIP_MAPPINGS)
    copies = id_map.get("relationship_mappings", {})
    rows = list(
        RelationshipMapping.objects.filter(integration=integration, record_kind=record_kind)
    )
    by_id = {r.pk: r for r in rows}
    if not isinstance(ordered_ids, list | tuple):
        raise ApplicationError("Send the ids as a list, in the new order.", field="ids")
    ids = []
    for index, raw in enumerate(ordered_ids):
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            raise ApplicationError(f"'{raw}' is not an id.", field=f"ids[{index}]") from None
        ids.append(copies[pk].pk if pk in copies else pk)
    if sorted(ids) != sorted(by_id) or len(set(ids)) != len(ids):
        raise ApplicationError(
            f"Send every {kind_plural(record_kind).lower()} link mapping id exactly once, in the "
            f"new order (they are {sorted(by_id)}).",
            field="ids",
        )
    for position, pk in enumerate(ids):
        if by_id[pk].position != position:
            RelationshipMapping.objects.filter(pk=pk).update(position=position)


@transaction.atomic
def relationship_mappings_replace(
    *, integration: Integration, record_kind: str, pairs: list[dict[str, Any]]
) -> list[RelationshipMapping]:
    """Make one record type's pairs equal ``pairs``, in that order (the first match wins):
    a pair with the ``id`` of a stored one updates it, one without is added, stored ones not
    listed are removed. All or nothing; a refusal names ``pairs[i].<field>``.

    On an integration that inherits its record link mappings, the ids sent are the
    template's: the part is taken over first and every id translated once to its copy."""
    check_record_kind(record_kind)
    copies = ensure_part_owned(integration=integration, part=Part.RELATIONSHIP_MAPPINGS).get(
        "relationship_mappings", {}
    )
    stored = {
        r.pk: r
        for r in RelationshipMapping.objects.filter(
            integration=integration, record_kind=record_kind
        )
    }

    def own_id(raw: Any) -> int | None:
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            return None
        pk = copies[pk].pk if pk in copies else pk
        return pk if pk in stored else None

    wanted = [own_id(pair.get("id")) for pair in pairs]
    for pk in set(stored) - {pk for pk in wanted if pk}:
        stored[pk].delete()
    ordered: list[RelationshipMapping] = []
    for index, (pair, pk) in enumerate(zip(pairs, wanted, strict=True)):
        values = {
            name: pair[name]
            for name in ("link_type", "jira_link_type_id", "jira_direction", "sync_direction")
            if name in pair
        }
        try:
            if pk:
                rel = relationship_mapping_update(
                    integration=integration, relationship_mapping_id=pk, **values
                )
            else:
                rel = relationship_mapping_add(
                    integration=integration, record_kind=record_kind, **values
                )
        except ApplicationError as exc:
            raise ApplicationError(
                exc.message,
                fields={f"pairs[{index}].{name}": m for name, m in exc.fields.items()}
                or {f"pairs[{index}]": exc.message},
            ) from None
        if any(rel.pk == other.pk for other in ordered):
            raise ApplicationError("This pair is listed twice.", field=f"pairs[{index}]")
        ordered.append(rel)
    for position, rel in enumerate(ordered):
        if rel.position != position:
            RelationshipMapping.objects.filter(pk=rel.pk).update(position=position)
            rel.position = position
    return ordered
