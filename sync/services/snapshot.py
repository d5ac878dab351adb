"""The synced snapshot of a linked pair, and the ONE rule that decides what moves.

For every ``JiraLink`` the snapshot (``JiraLink.snapshot``) keeps, per mapped local field,
the values both sides last agreed on, normalized: ``{field: [here, jira]}``.

- ``here`` is our value in a comparable form (parents and assignee as record / user ids,
  tags as a sorted case-folded list, rich text in canonical form, dates as ISO text);
- ``jira`` is what Jira holds, projected the same way (status: Jira's status name with the
  resolution when it says "not done"; rich text: canonical form of what Jira hands back,
  plain text for a version's description).

The rule, used by the outbox, the sender and every inbound handler:

- **outbound** sends a field only when our value differs from ``here`` (or the link has no
  entry for it yet);
- **inbound** applies a field only when Jira's value differs from ``jira``; when it equals it
  the delivery is an echo (of our own send, or a repeat) and nothing is written;
- a field that differs on both sides is a **conflict**: a field mapped "From Jira" takes
  Jira's value; one mapped "Both ways" follows the integration's ``conflict_policy``; either
  way the sync log says so with both values;
- every applied change, in either direction, writes the snapshot in the same transaction.

A link made before snapshots existed has none: its first use takes the current values here
as the agreed ones (``here`` from the record, ``jira`` as Jira would hold them), so only a
Jira value that really differs from ours is applied.

The set of mirrored issue links of the pair is the ``IssueLinkMirror`` rows: a Jira link is
an echo when it is mirrored already (see handlers.links), a record link is sent when it is not.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from integrations.models import Direction, FieldMapping, Integration, RecordMapping
from integrations.transform import (
    canonical_rich_text,
    jira_status_key,
    jira_value_round_trip,
    value_map_to_jira,
)
from records.models import Record

from ..models import JiraLink

PARENT_FIELDS = ("initiative", "release", "epic", "feature")


# -- normal forms ----------------------------------------------------------------------------


def here_key(field_name: str, value: Any, *, is_version: bool = False) -> Any:
    """A value here (as ``record_update`` takes it, or as the record holds it) in the form the
    snapshot compares."""
    if value is None or value == "":
        return None
    if field_name == "description":
        return canonical_rich_text(value, is_version=is_version) or None
    if isinstance(value, Record | get_user_model()):
        return value.pk
    if field_name == "tags":
        names = [getattr(v, "name", v) for v in value]
        return sorted({str(n).strip().casefold() for n in names if str(n).strip()}) or None
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return str(Decimal(str(value)).normalize())
    if isinstance(value, str):
        return value.strip()
    return value


def record_value(record: Record, field_name: str) -> Any:
    if field_name == "tags":
        return [t.name for t in record.tags.all()]
    return getattr(record, field_name, None)


def _is_version(mapping: RecordMapping) -> bool:
    return mapping.target == RecordMapping.Target.VERSION


def _field_mapping(mapping: RecordMapping, field_name: str) -> FieldMapping | None:
    return next((fm for fm in mapping.field_mappings.all() if fm.local_field == field_name), None)


def jira_key_from_here(
    record: Record, field_name: str, mapping: RecordMapping, *, api_version: int = 3
) -> Any:
    """What Jira holds when it is in step with our value: our value taken through the same
    conversion a send makes and back (rich text loses what Jira cannot hold; several statuses
    here may share one in Jira)."""
    is_version = _is_version(mapping)
    fm = _field_mapping(mapping, field_name)
    if field_name == "status" and fm is not None:
        if is_version:
            return jira_value_round_trip(fm, record, api_version=api_version)
        mapped = value_map_to_jira(fm, record.status)
        return mapped.name.strip().casefold() if mapped and mapped.name else None
    if field_name == "description" and fm is not None:
        return (
            canonical_rich_text(
                jira_value_round_trip(fm, record, api_version=api_version), is_version=is_version
            )
            or None
        )
    return here_key(field_name, record_value(record, field_name), is_version=is_version)


def jira_key_from_jira(
    field_name: str, converted: Any, mapping: RecordMapping, jira_fields: dict
) -> Any:
    """Jira's value in snapshot form: ``converted`` is what the inbound conversion made of it
    (the value here it stands for); status is compared on Jira's own name and resolution."""
    if field_name == "status":
        if _is_version(mapping):
            released = jira_fields.get("released")
            return released if isinstance(released, bool) else None
        return jira_status_key(jira_fields.get("status"), jira_fields.get("resolution"))
    return here_key(field_name, converted, is_version=_is_version(mapping))


# -- reading and writing a link's snapshot ---------------------------------------------------


def _entry(link: JiraLink, field_name: str) -> list | None:
    value = (link.snapshot or {}).get(field_name)
    return value if isinstance(value, list) and len(value) == 2 else None


def agreed(
    link: JiraLink, record: Record, field_name: str, mapping: RecordMapping
) -> tuple[Any, Any]:
    """(here, jira) last agreed for a field; a link without one agrees on the current values
    (the first use of a link made before snapshots)."""
    entry = _entry(link, field_name)
    if entry is not None:
        return entry[0], entry[1]
    return (
        here_key(field_name, record_value(record, field_name), is_version=_is_version(mapping)),
        jira_key_from_here(record, field_name, mapping),
    )


def snapshot_store(link: JiraLink, values: dict[str, tuple[Any, Any]]) -> None:
    """Merge ``{field: (here, jira)}`` into the link's snapshot. Callers hold a transaction
    that also holds the change the values describe."""
    if not values:
        return
    fresh = JiraLink.objects.select_for_update().filter(pk=link.pk).first()
    if fresh is None:
        return
    snapshot = dict(fresh.snapshot or {})
    snapshot.update({name: [here, jira] for name, (here, jira) in values.items()})
    JiraLink.objects.filter(pk=link.pk).update(snapshot=snapshot)
    link.snapshot = snapshot


def snapshot_of_record(
    record: Record, mapping: RecordMapping, fields: Iterable[str], *, api_version: int = 3
) -> dict[str, tuple[Any, Any]]:
    """After our values were sent: both sides now hold them."""
    return {
        name: (
            here_key(name, record_value(record, name), is_version=_is_version(mapping)),
            jira_key_from_here(record, name, mapping, api_version=api_version),
        )
        for name in fields
    }


def mapped_fields(mapping: RecordMapping, *, sending: bool) -> set[str]:
    """Local fields the snapshot keeps for a row: mapped fields that travel in the direction
    asked, and the parents of Linked to."""
    names = {
        fm.local_field
        for fm in mapping.field_mappings.all()
        if (fm.sends_to_jira if sending else fm.receives_from_jira)
    }
    return names | {entry.parent_kind for entry in mapping.linked_to.all()}


# -- the rule ------------------------------------------------------------------------------


def changed_here(
    link: JiraLink | None,
    record: Record,
    mapping: RecordMapping,
    fields: Iterable[str],
    *,
    from_jira: bool = False,
) -> list[str]:
    """Outbound: the fields (of ``fields``) whose value here differs from the snapshot. A
    record not linked yet has no snapshot: everything is new. A field without an entry
    counts as changed, unless the change was Jira's own (``from_jira``: Jira's values just
    taken here, by link existing or an import), which both sides then hold."""
    fields = list(fields)
    if link is None:
        return fields
    is_version = _is_version(mapping)
    changed = []
    for name in fields:
        entry = _entry(link, name)
        if entry is None and from_jira:
            continue
        # No entry yet (a link made before snapshots): the change is all we know; send it.
        if (
            entry is None
            or here_key(name, record_value(record, name), is_version=is_version) != entry[0]
        ):
            changed.append(name)
    return changed


def held_by_jira(link: JiraLink, record: Record, mapping: RecordMapping, name: str) -> bool:
    """Outbound: Jira already holds what we would send (several values here share one in
    Jira: In development and In review are both In Progress), so no call is needed."""
    entry = _entry(link, name)
    return entry is not None and jira_key_from_here(record, name, mapping) == entry[1]


@dataclass
class Conflict:
    field: str
    here: Any
    jira: Any
    winner: str  # "jira" or "here"


@dataclass
class Decision:
    """Inbound: what to write here, the conflicts, and the snapshot to store with it."""

    apply: dict[str, Any] = field(default_factory=dict)
    echoes: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    snapshot: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    resend: list[str] = field(default_factory=list)


def _direction(mapping: RecordMapping, name: str) -> str:
    fm = _field_mapping(mapping, name)
    return fm.direction if fm is not None else Direction.BOTH


def decide_inbound(
    *,
    integration: Integration,
    link: JiraLink,
    record: Record,
    mapping: RecordMapping,
    proposed: dict[str, Any],
    jira_fields: dict,
    named: set[str] | None = None,
    display: Any = None,
) -> Decision:
    """Inbound: of the values Jira's delivery stands for (``proposed``, field -> value here),
    apply those whose Jira value differs from the snapshot; the others are echoes.

    ``named``: the fields the delivery's changelog names (None: no changelog). A field with
    no snapshot entry yet (a link made before snapshots) is taken from Jira only when the
    changelog names it; otherwise nothing says which side is newer, and it is left alone."""
    decision = Decision()
    is_version = _is_version(mapping)
    for name, value in proposed.items():
        if named is not None and name not in named and _entry(link, name) is None:
            continue
        jira = jira_key_from_jira(name, value, mapping, jira_fields)
        here_agreed, jira_agreed = agreed(link, record, name, mapping)
        if jira == jira_agreed:
            decision.echoes.append(name)
            if _entry(link, name) is None:  # first use of a link made before snapshots
                decision.snapshot[name] = (here_agreed, jira_agreed)
            continue
        ours = here_key(name, record_value(record, name), is_version=is_version)
        new_here = here_key(name, value, is_version=is_version)
        if ours != here_agreed and ours != new_here and _entry(link, name) is not None:
            policy = getattr(integration, "conflict_policy", "jira")
            direction = _direction(mapping, name)
            winner = "jira" if direction == Direction.FROM_JIRA or policy == "jira" else "here"
            decision.conflicts.append(
                Conflict(
                    name,
                    display(record, name) if display else ours,
                    value,
                    winner,
                )
            )
            if winner == "here":
                # Jira's value is now known; ours still differs from what was agreed, so the
                # outbound side sends it (here_agreed stays).
                decision.snapshot[name] = (here_agreed, jira)
                decision.resend.append(name)
                continue
        decision.apply[name] = value
        decision.snapshot[name] = (new_here, jira)
    return decision
